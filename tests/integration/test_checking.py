"""`derivlab check` and `derivlab problems generate` against their own database,
and the suggestions on the annotate page."""

from sqlalchemy import create_engine, text

from tests.helpers import PAPER_FILES

GOOD_AND_BAD = (
    '{"problem_id": "p1", "prompt": "Given f{(x)} = x^{2}, then obtain \\\\frac{d}{d x} f{(x)} = 2 x", "model": "m", '
    '"derivation": "f{(x)} = x^{2} and \\\\frac{d}{d x} f{(x)} = 3 x"}\n'
    '{"problem_id": "p2", "prompt": "Given g{(t)} = \\\\sin{(t)}, then obtain \\\\frac{d}{d t} g{(t)} = \\\\cos{(t)}", '
    '"model": "m", "derivation": "g{(t)} = \\\\sin{(t)} and \\\\frac{d}{d t} g{(t)} = \\\\frac{d}{d t} \\\\sin{(t)} '
    'and \\\\frac{d}{d t} g{(t)} = \\\\cos{(t)} and \\\\frac{d}{d t} g{(t)} = \\\\cos{(t)}"}\n'
)


def query(url, sql):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    engine.dispose()
    return rows


def test_check_stores_suggestions_and_a_rerun_replaces_them(run, fresh_database_url, tmp_path):
    data = tmp_path / "two.jsonl"
    data.write_text(GOOD_AND_BAD)
    assert run("import", str(data), "--project", "p").exit_code == 0
    result = run("check", "--project", "p")
    assert result.exit_code == 0 and "checked 2 derivations" in result.output and "0 out of time" in result.output
    yes = query(fresh_database_url, "SELECT s.latex, a.label FROM auto_checks a JOIN steps s ON "
                                    "s.derivation_id = a.derivation_id AND s.index = a.step_index "
                                    "WHERE a.verdict = 'yes' ORDER BY s.latex")
    assert ("\\frac{d}{d x} f{(x)} = 3 x", "incorrect") in yes
    assert ("\\frac{d}{d t} g{(t)} = \\cos{(t)}", "redundant") in yes  # the fourth step repeats the third
    assert ("\\frac{d}{d t} g{(t)} = \\frac{d}{d t} \\sin{(t)}", "incorrect") not in yes
    goals = query(fresh_database_url, "SELECT verdict FROM auto_checks WHERE label = 'goal_reached' ORDER BY derivation_id")
    assert [g[0] for g in goals] == ["no", "yes"]
    parsed = query(fresh_database_url, "SELECT count(*) FROM steps WHERE parse_status = 'parsed' AND canonical IS NOT NULL")
    assert parsed[0][0] == 6
    out = tmp_path / "steps.csv"
    run("export", "--project", "p", "--level", "step", "-o", str(out))
    import csv
    rows = list(csv.DictReader(out.open()))
    wrong = next(r for r in rows if r["latex"] == "\\frac{d}{d x} f{(x)} = 3 x")
    assert (wrong["sympy_incorrect"], wrong["sympy_redundant"]) == ("yes", "no")
    before = query(fresh_database_url, "SELECT count(*) FROM auto_checks")[0][0]
    run("check", "--project", "p")
    assert query(fresh_database_url, "SELECT count(*) FROM auto_checks")[0][0] == before


def test_check_needs_a_known_project_or_mutants(run):
    assert run("check").exit_code == 1
    missing = run("check", "--project", "nope")
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_generate_problems_reproducibly(run, fresh_database_url):
    result = run("problems", "generate", "--project", "fresh", "--count", "5", "--seed", "9")
    assert result.exit_code == 0 and "25 new problems" in result.output, result.output
    first = query(fresh_database_url, "SELECT key, perturbation, reference FROM problems ORDER BY key, perturbation")
    again = run("problems", "generate", "--project", "fresh", "--count", "5", "--seed", "9")
    assert "0 new problems" in again.output
    assert query(fresh_database_url, "SELECT key, perturbation, reference FROM problems ORDER BY key, perturbation") == first
    parents = query(fresh_database_url, "SELECT count(*) FROM problems WHERE perturbation != 'static' AND parent_id IS NULL")
    assert parents[0][0] == 0
    bad = run("problems", "generate", "--project", "fresh", "--perturb", "XX")
    assert bad.exit_code == 1 and "XX" in bad.output


def test_math_stats_prints_percentages(run):
    result = run("math", "stats", str(PAPER_FILES["gpt-4"]))
    assert result.exit_code == 0
    assert "gpt-4" in result.output and "parsed   100.00%" in result.output and "faithful 100.00%" in result.output


def test_check_stores_the_symbolic_metric_and_the_csv_exports_it(run, fresh_database_url, tmp_path):
    import csv

    import json

    # the references: the first derivation misses its reference's second step, the second reaches it
    records = [json.loads(line) for line in GOOD_AND_BAD.splitlines()]
    records[0]["reference"] = r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 2 x"
    records[1]["reference"] = r"g{(t)} = \sin{(t)} and \frac{d}{d t} g{(t)} = \cos{(t)}"
    with_refs = [json.dumps(r) for r in records]
    data = tmp_path / "refs.jsonl"
    data.write_text("\n".join(with_refs) + "\n")
    assert run("import", str(data), "--project", "p").exit_code == 0, with_refs
    assert run("check", "--project", "p").exit_code == 0
    rows = query(fresh_database_url, "SELECT metrics->>'sym_recall', metrics->>'sym_precision', metrics->>'sym_goal' "
                                     "FROM derivations ORDER BY id")
    assert [tuple(float(v) for v in r) for r in rows] == [(0.5, 0.5, 0.0), (1.0, 0.75, 1.0)]
    out = tmp_path / "d.csv"
    assert run("export", "--project", "p", "--level", "derivation", "-o", str(out)).exit_code == 0
    exported = list(csv.DictReader(out.open()))
    assert [(r["sym_recall"], r["sym_goal"]) for r in exported] == [("0.5", "0.0"), ("1.0", "1.0")]
