"""Training exports loaded as a trainer loads them (`datasets.load_dataset`), with counts
checked against the database, and a settled mutant's correction equal to its unmutated
reference from the error on.

The project: engine mutants with known errors, imported as a model's output with their
unmutated reference; SymPy checks them (and proposes corrections); one annotator judges
each (labels as the mutant's truth); two annotators disagree on one incorrect mutant,
which a reviewer settles and corrects by accepting SymPy's proposal."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from app.math.mutants import mutants
from app.math.sandbox import Sandbox
from app.models import Derivation, Role, Step, User
from app.repositories import checks as checks_repo
from app.services import adjudication, annotating, checking, corrections, training
from app.services.importing import import_file
from tests.factories import assign, make_user

PROJECT = "training"


@pytest.fixture
def project(db):
    items = [m for m in mutants(40, seed=5) if m.kind in ("incorrect", "skipped", "none")][:12]
    lines = [{"problem_id": f"p{n}", "prompt": f"Given {m.premises[0]}, then obtain {m.goal}", "model": "engine-x",
              "derivation": " and ".join(m.steps), "reference": " and ".join(m.reference)}
             for n, m in enumerate(items)]
    import_file(db, project_name=PROJECT, filename="mutants.jsonl",
                data="".join(json.dumps(line) + "\n" for line in lines).encode())
    ds = db.scalars(select(Derivation).order_by(Derivation.id)).all()
    sandbox = Sandbox(1)
    try:
        for checked in checking.check_items(sandbox, checks_repo.to_check(db, derivation_ids=[d.id for d in ds])):
            checks_repo.save(db, checked.derivation_id, checked.rows, checked.parse, checked.proposals)
    finally:
        sandbox.close()
    ann, bob = make_user(db, username="ann"), make_user(db, username="bob")
    rita = make_user(db, username="rita", role=Role.reviewer)
    settled = None
    for d, m in zip(ds, items):
        steps = db.scalars(select(Step).where(Step.derivation_id == d.id).order_by(Step.index)).all()
        judges = [ann]
        if m.kind == "incorrect" and settled is None:
            settled, judges = (d, m), [ann, bob]
        for user in judges:
            assign(db, user, d)
            for index, labels in m.labels.items():
                for label in labels:
                    if user is ann:  # bob misses the error: a disagreement to settle
                        annotating.set_step_label(db, derivation_id=d.id, step_id=steps[index - 1].id,
                                                  label=label, on=True, user=user)
            annotating.submit(db, derivation_id=d.id, user=user, goal_reached=m.goal_reached, comment="")
    d, m = settled
    last = db.scalars(select(Step).where(Step.derivation_id == d.id).order_by(Step.index.desc())).first()
    adjudication.set_final_label(db, derivation_id=d.id, step_id=last.id, label="incorrect", on=True, reviewer=rita)
    adjudication.settle(db, derivation_id=d.id, reviewer=rita, goal_reached=False, comment="")
    corrections.set_correction(db, derivation_id=d.id, step_id=last.id, latex="", accept_proposal=True, reviewer=rita)
    db.flush()
    return {"items": items, "derivations": ds, "settled": settled,
            "project_id": db.scalar(text("SELECT id FROM projects WHERE name = :n"), {"n": PROJECT})}


def _load(kind: str, fmt: str, path, monkeypatch, tmp_path):
    from datasets import load_dataset

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    return load_dataset("json" if fmt == "jsonl" else "parquet", data_files=str(path), split="train",
                        cache_dir=str(tmp_path / "hf-cache"))


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_each_training_export_loads_with_datasets_and_counts_match_the_database(db, project, fmt, monkeypatch, tmp_path):
    pid = project["project_id"]
    judged = db.scalar(text("SELECT count(DISTINCT derivation_id) FROM annotations WHERE status = 'submitted'"))
    incorrect_labels = db.scalar(text(
        "SELECT count(*) FROM step_labels sl JOIN annotations a ON a.id = sl.annotation_id "
        "JOIN users u ON u.id = a.annotator_id WHERE sl.label = 'incorrect' AND u.username = 'ann'"))
    loaded = {}
    for kind in training.KINDS:
        built = training.build(db, project_id=pid, kind=kind)
        path = tmp_path / f"{kind}.{fmt}"
        path.write_bytes(built.parquet() if fmt == "parquet" else b"".join(built.jsonl()))
        loaded[kind] = _load(kind, fmt, path, monkeypatch, tmp_path)
        assert len(loaded[kind]) == len(built.records)
        assert f"- records: {len(built.records):,}" in built.card
    rewards = loaded["step-rewards"]
    assert len(rewards) == judged  # every derivation judged: all agreed, one settled
    assert sum(r.count(-1) for r in rewards["ratings"]) == incorrect_labels
    assert [len(s) for s in rewards["steps"]] == [len(r) for r in rewards["ratings"]]
    assert all(first == (r.index(-1) if -1 in r else -1) for first, r in zip(rewards["first_error"], rewards["ratings"]))
    pairs = loaded["preference-pairs"]
    wrong = sum(1 for r in rewards["ratings"] if -1 in r)
    assert pairs["level"].count("derivation") == wrong  # each has a reference to prefer
    assert pairs["level"].count("step") == 1  # one settled correction
    assert len(loaded["corrections"]) == 1


def test_the_corrections_export_of_a_settled_mutant_is_its_reference_from_the_error_on(db, project):
    d, m = project["settled"]
    [record] = training.build(db, project_id=project["project_id"], kind="corrections").records
    k = record["error_step"]
    assert record["derivation_id"] == d.id and k == len(m.steps)
    assert record["steps_to_error"] == m.steps[:k] and record["error_labels"] == ["incorrect"]
    assert record["correction_from"] == "SymPy's proposal, accepted"
    assert record["continuation"] == m.reference[k - 1:]  # the unmutated reference from the error on


def test_filters_mapping_and_bad_requests(db, project):
    pid = project["project_id"]
    settled_only = training.build(db, project_id=pid, kind="step-rewards", final_only=True).records
    assert [r["judged_by"] for r in settled_only] == ["final"]
    assert training.build(db, project_id=pid, kind="step-rewards", model="nobody").records == []
    strict = training.build(db, project_id=pid, kind="step-rewards", ratings=training.parse_ratings("skipped=-1"))
    lenient = training.build(db, project_id=pid, kind="step-rewards")
    assert sum(r["ratings"].count(-1) for r in strict.records) > sum(r["ratings"].count(-1) for r in lenient.records)
    assert "skipped -1" in strict.card
    from app.errors import InvalidInput
    with pytest.raises(InvalidInput, match="write label=-1"):
        training.parse_ratings("skipped=2")
    with pytest.raises(InvalidInput, match="use one of step-rewards"):
        training.build(db, project_id=pid, kind="rewards")


def test_the_training_exports_over_http(client, db, project):
    from tests.helpers import login

    pid = project["project_id"]
    token = login(client, "rita")
    page = client.get(f"/projects/{pid}").text
    assert 'id="training-export"' in page and f'href="/projects/{pid}/training/README.md"' in page
    jsonl = client.get(f"/projects/{pid}/training/step-rewards.jsonl")
    assert jsonl.status_code == 200 and jsonl.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(rows) == int(jsonl.headers["x-records"]) == len(training.build(db, project_id=pid, kind="step-rewards").records)
    assert "attachment" in jsonl.headers["content-disposition"]
    parquet = client.get(f"/projects/{pid}/training/corrections.parquet?final_only=true")
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1" and parquet.headers["x-records"] == "1"
    card = client.get(f"/projects/{pid}/training/README.md?kind=preference-pairs")
    assert card.status_code == 200 and card.text.startswith("---\nconfigs:\n- config_name: preference-pairs")
    assert f"# {PROJECT}: training data" in card.text and "## preference-pairs" in card.text
    assert "Krippendorff" in card.text and "load_dataset" in card.text
    bad = client.get(f"/projects/{pid}/training/rewards.csv")
    assert bad.status_code == 422 and "step-rewards" in bad.text
    client.post("/logout", data={"csrf_token": token})
    login(client, "ann")
    assert client.get(f"/projects/{pid}/training/step-rewards.jsonl").status_code == 403


def test_the_training_exports_through_the_api(client, db, project):
    from app.services import tokens

    rita = db.scalar(select(User).where(User.username == "rita"))
    _, secret = tokens.create(db, user=rita, name="trainer")
    db.flush()
    pid = project["project_id"]
    auth = {"Authorization": f"Bearer {secret}"}
    rows = client.get(f"/api/v1/projects/{pid}/training/preference-pairs.jsonl", headers=auth)
    assert rows.status_code == 200
    expected = training.build(db, project_id=pid, kind="preference-pairs").records
    assert [json.loads(line) for line in rows.text.splitlines()] == expected
    assert client.get(f"/api/v1/projects/{pid}/training/preference-pairs.jsonl").status_code == 401


def _folder(db, pid, fmt, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    built = [training.build(db, project_id=pid, kind=kind) for kind in training.KINDS]
    folder = tmp_path / f"export-{fmt}"
    training.write_folder(built, PROJECT, folder, fmt)
    return built, folder


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_folder_export_loads_by_name_with_datasets_pyarrow_and_polars(db, project, fmt, tmp_path, monkeypatch):
    from datasets import load_dataset
    import polars as pl
    import pyarrow.parquet as pq

    built, folder = _folder(db, project["project_id"], fmt, tmp_path, monkeypatch)
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n") and card.count("# training: training data") == 1
    default = load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "hf"))  # no name: the first kind
    assert len(default) == len(built[0].records)
    for export_ in built:
        ds = load_dataset(str(folder), export_.kind, split="train", cache_dir=str(tmp_path / "hf"))
        assert len(ds) == len(export_.records)
        assert list(ds.features) == [name for name, _ in training.FIELDS[export_.kind]]
        frame = (pl.read_parquet if fmt == "parquet" else pl.read_ndjson)(folder / f"{export_.kind}.{fmt}")
        assert frame.height == len(export_.records)
        if fmt == "parquet":
            assert pq.read_table(folder / f"{export_.kind}.{fmt}").schema.equals(training._schema(export_.kind))
    features = {}
    for kind in ("step-rewards", "preference-pairs"):  # the same types whichever file they come from
        features[kind] = load_dataset(str(folder), kind, split="train", cache_dir=str(tmp_path / "hf")).features
    assert str(features["step-rewards"]["ratings"]).count("int64") == 1
    assert "string" in str(features["preference-pairs"]["prefix"])  # not List(null) when every prefix is []


def test_an_empty_kind_is_not_written_and_the_card_says_why(db, project, tmp_path, monkeypatch):
    from datasets import load_dataset

    built, folder = _folder(db, project["project_id"], "jsonl", tmp_path, monkeypatch)
    empty = training.build(db, project_id=project["project_id"], kind="corrections", model="nobody")
    training.write_folder([*built[:-1], empty], PROJECT, folder, "jsonl")
    assert not (folder / "corrections.jsonl").exists()
    card = (folder / "README.md").read_text()
    assert "config_name: corrections" not in card
    assert f"- records: 0 — {training.WHY_EMPTY['corrections']}" in card
    assert len(load_dataset(str(folder), "step-rewards", split="train", cache_dir=str(tmp_path / "hf"))) > 0


def _tiny_causal_lm(folder, texts: list[str]) -> str:
    """A one-layer GPT-2 and a word-level tokenizer built from the texts (nothing downloaded)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=1024, n_embd=16, n_layer=1, n_head=2))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def test_dpo_trains_a_step_on_the_preference_pairs_as_exported(db, project, tmp_path, monkeypatch):
    """TRL's DPOTrainer reads the preference-pairs file straight from the folder export."""
    pytest.importorskip("trl")
    from datasets import load_dataset
    from trl import DPOConfig, DPOTrainer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, folder = _folder(db, project["project_id"], "jsonl", tmp_path, monkeypatch)
    pairs = load_dataset(str(folder), "preference-pairs", split="train", cache_dir=str(tmp_path / "hf"))
    assert len(pairs) > 0
    model = _tiny_causal_lm(tmp_path / "tiny-lm", [r[k] for r in pairs for k in ("prompt", "chosen", "rejected")])
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=1, per_device_train_batch_size=2, report_to=[],
                     use_cpu=True, save_strategy="no", max_length=512)
    from transformers import AutoTokenizer

    trainer = DPOTrainer(model=model, args=args, train_dataset=pairs, processing_class=AutoTokenizer.from_pretrained(model))
    result = trainer.train()
    assert result.global_step == 1 and result.training_loss > 0


def test_the_stepwise_export_is_trls_stepwise_supervision_shape(db, project):
    rows = training.build(db, project_id=project["project_id"], kind="stepwise").records
    assert rows
    for r in rows:
        assert isinstance(r["prompt"], str) and len(r["completions"]) == len(r["labels"]) > 0
        assert all(isinstance(v, bool) for v in r["labels"]) and all(r["labels"][:-1])  # stops at the first error
