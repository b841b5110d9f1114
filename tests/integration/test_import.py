"""Importing into PostgreSQL: the sample files, re-imports, and all-or-nothing on bad input."""

import json

import pytest
from sqlalchemy import func, select, text

from app.errors import InvalidInput
from app.models import Derivation, LLMModel, Problem, Step
from app.services.importing import import_file
from tests.helpers import PAPER_FILES

TABLES = ["projects", "llm_models", "imports", "problems", "derivations", "steps"]


def table_counts(db) -> dict[str, int]:
    return {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def import_samples(db, project="paper"):
    return [
        import_file(db, project_name=project, filename=path.name, data=path.read_bytes())
        for path in PAPER_FILES.values()
    ]


def test_three_sample_files_make_150_derivations_50_per_model(db):
    results = import_samples(db)
    assert [r.added for r in results] == [50, 50, 50]
    per_model = dict(
        db.execute(select(LLMModel.name, func.count()).join(Derivation).group_by(LLMModel.name)).all()
    )
    assert per_model == {"gpt-4": 50, "gpt-3.5-turbo": 50, "flan-t5-large": 50}
    # the same 10 problems x 5 variants, shared by the three models
    assert db.scalar(select(func.count()).select_from(Problem)) == 50
    perturbed = db.scalars(select(Problem).where(Problem.perturbation != "static")).all()
    assert all(p.parent_id is not None for p in perturbed)


def test_steps_keep_the_exact_latex(db):
    import_samples(db)
    records = {m: json.loads(p.read_text()) for m, p in PAPER_FILES.items()}
    expected = {
        (model, value)
        for model, recs in records.items() for r in recs for k, value in r.items()
        if k.endswith("_" + model) and isinstance(value, str)
    }
    stored = db.execute(select(LLMModel.name, Derivation.raw_text, Derivation.id).join(LLMModel)).all()
    assert {(m, raw) for m, raw, _ in stored} == expected
    for _, raw, derivation_id in stored:
        steps = db.scalars(select(Step.latex).where(Step.derivation_id == derivation_id).order_by(Step.index)).all()
        pieces = [piece for piece in raw.split(" and ") if piece.strip()]
        assert steps == pieces  # byte for byte, spacing and missing backslashes included
    t5_first = db.scalar(
        select(Step.latex).join(Derivation).join(LLMModel).where(LLMModel.name == "flan-t5-large", Step.index == 1)
        .order_by(Derivation.id).limit(1)
    )
    assert t5_first == "eta { (a) } = e ^ { a }"


def test_second_import_adds_nothing(db):
    import_samples(db)
    before = table_counts(db)
    again = import_samples(db)
    assert [r.added for r in again] == [0, 0, 0] and all(r.already_imported for r in again)
    assert table_counts(db) == before


def test_same_derivations_in_another_file_are_not_duplicated(db):
    line = '{"problem_id": "p1", "prompt": "Given a = b, then obtain c = d", "model": "m", "derivation": "a = b and c = d"}\n'
    first = import_file(db, project_name="x", filename="a.jsonl", data=line.encode())
    second = import_file(db, project_name="x", filename="b.jsonl", data=(line + line.replace("p1", "p2")).encode())
    assert (first.added, second.added) == (1, 1)


def test_generic_csv_import(db):
    data = (
        "problem_id,prompt,model,derivation,reference,perturbation\n"
        'q1,"Given a = b, then derive b = c, then obtain a = c",llama,a = b and b = c and a = c,a = b and a = c,static\n'
        'q1,"Given b = a, then derive c = b, then obtain c = a",llama,b = a and c = a,,EE\n'
    ).encode()
    result = import_file(db, project_name="csv", filename="runs.csv", data=data)
    assert (result.format, result.added, result.problems_added) == ("csv", 2, 2)
    ee = db.scalar(select(Problem).where(Problem.perturbation == "EE"))
    static = db.scalar(select(Problem).where(Problem.perturbation == "static", Problem.key == "q1"))
    assert ee.parent_id == static.id and ee.reference is None
    assert static.premises == ["a = b"] and static.intermediates == ["b = c"] and static.goal == "a = c"


BAD_AFTER_GOOD = [
    ("tail.jsonl", b'{"problem_id": 1, "prompt": "Given a, then obtain b", "model": "m", "derivation": "a"}\n{"problem_id": 2}\n'),
    ("tail.csv", b"problem_id,prompt,model,derivation\n1,Given a,m,a = b\n2,Given b,m,\n"),
    ("tail.json", json.dumps(json.loads(PAPER_FILES["gpt-4"].read_text())[:3] + [{"prompt": 5}]).encode()),
    ("latin1.jsonl", '{"problem_id": 1, "prompt": "Given caf\xe9", "model": "m", "derivation": "a"}\n'.encode("latin-1")),
    ("truncated.json", PAPER_FILES["flan-t5-large"].read_bytes()[:-200]),
    ("nul.jsonl", b'{"problem_id": 1, "prompt": "Given a, then obtain b", "model": "m", "derivation": "a"}\n'
                  b'{"problem_id": 2, "prompt": "Given a\\u0000, then obtain b", "model": "m", "derivation": "a"}\n'),
    ("deep.jsonl", b'{"problem_id": 1, "prompt": "Given a, then obtain b", "model": "m", "derivation": "a"}\n'
                   + b"[" * 100_000 + b"]" * 100_000 + b"\n"),
]


@pytest.mark.parametrize("filename,data", BAD_AFTER_GOOD, ids=[b[0] for b in BAD_AFTER_GOOD])
def test_malformed_file_leaves_the_database_unchanged(db, filename, data):
    import_file(db, project_name="kept", filename="seed.jsonl",
                data=b'{"problem_id": "s", "prompt": "Given x, then obtain y", "model": "m0", "derivation": "x = y"}\n')
    before = table_counts(db)
    with pytest.raises(InvalidInput):
        import_file(db, project_name="new project", filename=filename, data=data)
    assert table_counts(db) == before


@pytest.fixture(scope="module")
def engine_lines():
    from app.math.corpus import import_file_lines

    return import_file_lines(100, seed=5, copies=30)  # 15,000 derivations, each its own problem/perturbation


def test_a_file_of_15000_engine_derivations_imports_whole(db, engine_lines):
    # 15,000 problems × 9 columns in one multi-row INSERT passed the driver's 65,535 parameters
    data = "\n".join(json.dumps(line) for line in engine_lines).encode()
    result = import_file(db, project_name="big", filename="engine.jsonl", data=data)
    assert (result.added, result.problems_added) == (15000, 15000)
    steps = sum(len(line["derivation"].split(" and ")) for line in engine_lines)
    assert db.scalar(select(func.count()).select_from(Step)) == steps
    # kept in the file's order, each with its exact text and its problem
    first, last = engine_lines[0], engine_lines[-1]
    rows = db.execute(select(Derivation.raw_text, Problem.key, Problem.perturbation).join(Problem)
                      .order_by(Derivation.id)).all()
    assert (rows[0].raw_text, rows[0].key) == (first["derivation"], first["problem_id"])
    assert (rows[-1].raw_text, rows[-1].key, rows[-1].perturbation.value) == (
        last["derivation"], last["problem_id"], last["perturbation"])
    again = import_file(db, project_name="big", filename="again.jsonl", data=data + b"\n")
    assert again.added == 0 and again.problems_added == 0


def test_a_bad_last_line_of_15000_writes_nothing(db, engine_lines):
    lines = [json.dumps(line) for line in engine_lines]
    lines[-1] = json.dumps({**engine_lines[-1], "perturbation": "XX"})
    before = table_counts(db)
    with pytest.raises(InvalidInput) as caught:
        import_file(db, project_name="big", filename="engine.jsonl", data="\n".join(lines).encode())
    assert "line 15000" in caught.value.message + " ".join(caught.value.details)
    assert table_counts(db) == before


def test_a_perturbed_problem_finds_its_static_parent_in_any_file_order(db):
    """The parent is the static problem with the same key: in the same file (the ids drawn
    before writing), in an earlier file (stored), or in a later one (linked then). The outcome
    is what is checked; that the first two need no UPDATE is measured, not tested."""
    head = "problem_id,prompt,model,derivation,perturbation\n"
    static = lambda key: f'{key},"Given a = b, then obtain b = a",m,b = a,static\n'  # noqa: E731
    vr = lambda key: f'{key},"Given x = y, then obtain y = x",m,y = x,VR\n'  # noqa: E731
    import_file(db, project_name="order", filename="1.csv", data=(head + vr("later") + static("same") + vr("same")
                                                                   + static("earlier")).encode())
    import_file(db, project_name="order", filename="2.csv", data=(head + vr("earlier") + static("later")).encode())

    def parent_of(key: str) -> str | None:
        child = db.scalar(select(Problem).where(Problem.key == key, Problem.perturbation == "VR"))
        parent = db.get(Problem, child.parent_id) if child.parent_id else None
        return parent and (parent.key, parent.perturbation.value)

    assert parent_of("same") == ("same", "static")
    assert parent_of("earlier") == ("earlier", "static")
    assert parent_of("later") == ("later", "static")
