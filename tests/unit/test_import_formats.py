"""Readers turn files into records or name every bad line and field; no database here."""

import json

import pytest

from app.errors import InvalidInput
from app.services.file_formats import read_records
from app.services.import_formats import paper_problem_key
from tests.helpers import PAPER_FILES


def test_paper_file_gives_five_variants_per_record():
    fmt, records = read_records("gpt-4_results.json", PAPER_FILES["gpt-4"].read_bytes())
    assert fmt == "paper-json" and len(records) == 50
    assert {r.model for r in records} == {"gpt-4"}
    assert {r.perturbation.value for r in records} == {"static", "VR", "EE", "AG", "SR"}
    first = json.loads(PAPER_FILES["gpt-4"].read_text())[0]
    static = next(r for r in records if r.perturbation.value == "static")
    assert static.derivation == first["static_gpt-4"]  # raw, leading space included
    assert static.reference == first["derivation"]
    assert static.metrics["static_rouge"] == first["static_rouge"]


def test_same_problem_has_same_key_in_every_models_file():
    keys = []
    for path in PAPER_FILES.values():
        _, records = read_records(path.name, path.read_bytes())
        keys.append({r.problem_id for r in records})
    assert keys[0] == keys[1] == keys[2] and len(keys[0]) == 10


def test_key_ignores_few_shot_examples():
    assert paper_problem_key("Given a = b, then obtain c = d") == paper_problem_key(
        "examples\nPrompt: Given a = b, then obtain c = d"
    )


def test_jsonl_and_csv_read_the_same_records():
    jsonl = b'{"problem_id": 7, "prompt": "Given a = b, then obtain c = d", "model": "m", "derivation": "a = b and c = d", "perturbation": "VR"}\n'
    csv_data = b'problem_id,prompt,model,derivation,perturbation\n7,"Given a = b, then obtain c = d",m,a = b and c = d,VR\n'
    _, from_jsonl = read_records("x.jsonl", jsonl)
    _, from_csv = read_records("x.csv", csv_data)
    assert from_jsonl == from_csv
    assert from_csv[0].problem_id == "7" and from_csv[0].perturbation.value == "VR"


GOOD = '{"problem_id": "p1", "prompt": "Given a = b, then obtain c = d", "model": "m", "derivation": "a = b"}'

MALFORMED = [
    ("latin1.csv", "problem_id,prompt,model,derivation\np1,Given caf\xe9,m,a = b\n".encode("latin-1"),
     ["line 2", "not UTF-8"]),
    ("truncated.json", PAPER_FILES["gpt-4"].read_bytes()[:5000], ["not valid JSON", "line"]),
    ("object.json", b'{"prompt": "x"}', ["expected a JSON list"]),
    ("no_prompt.json", json.dumps([{"derivation": "a = b", "static_m": "a = b"}]).encode(),
     ["record 1", "'prompt'"]),
    ("no_output.json", json.dumps([{"prompt": "Given a = b, then obtain c", "derivation": "a = b"}]).encode(),
     ["record 1", "no model output"]),
    ("variant_without_prompt.json",
     json.dumps([{"prompt": "Given a = b, then obtain c", "derivation": "a", "static_m": "a", "VR_m": "b"}]).encode(),
     ["record 1", "'VR prompt'"]),
    ("bad_line.jsonl", (GOOD + "\n{not json}\n").encode(), ["line 2", "not valid JSON"]),
    ("missing_model.jsonl", (GOOD + "\n" + GOOD + "\n" + GOOD.replace('"model": "m", ', "") + "\n").encode(),
     ["line 3", "field 'model' is missing"]),
    ("wrong_type.jsonl", GOOD.replace('"derivation": "a = b"', '"derivation": 42').encode(),
     ["line 1", "field 'derivation'"]),
    ("bad_perturbation.jsonl", GOOD.replace('"model"', '"perturbation": "XX", "model"').encode(),
     ["line 1", "field 'perturbation'"]),
    ("not_object.jsonl", b"[1, 2]\n", ["line 1", "expected a JSON object"]),
    ("no_column.csv", b"problem_id,prompt,model\np1,x,m\n", ["line 1", "missing column(s) derivation"]),
    ("extra_cells.csv", b"problem_id,prompt,model,derivation\np1,Given a,m,a = b,oops\n", ["line 2", "more cells"]),
    ("empty_cell.csv", b"problem_id,prompt,model,derivation\np1,Given a,m,\n", ["line 2", "field 'derivation' is missing"]),
    ("conflict.jsonl", (GOOD + "\n" + GOOD.replace("then obtain c = d", "then obtain e = f") + "\n").encode(),
     ["line 2", "differs from line 1"]),
    ("empty.jsonl", b"", ["no records"]),
    ("mystery.bin", b"\x00\x01garbage", ["cannot tell the format"]),
    ("long_model.jsonl", GOOD.replace('"model": "m"', '"model": "' + "m" * 300 + '"').encode(),
     ["line 1", "field 'model'"]),
    ("utf16.jsonl", GOOD.encode("utf-16"), ["line 1", "not UTF-8"]),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
    ("deep.jsonl", GOOD.encode() + b"\n" + b'{"a":' * 50_000 + b"1" + b"}" * 50_000, ["line 2", "nested too deeply"]),
    ("nul.jsonl", GOOD.replace("a = b", "a \\u0000 b").encode(), ["line 1", "field 'derivation'", "NUL"]),
    ("huge_line.jsonl", GOOD.replace('"a = b"', json.dumps("x = y and " * 500_000)).encode(),
     ["line 1", "field 'derivation'", "at most 100000 characters"]),
    ("duplicate_key.jsonl", GOOD.replace('"model": "m"', '"model": "m", "model": "n"').encode(),
     ["line 1", "key 'model' appears twice"]),
    ("duplicate_key.json", json.dumps([{"prompt": "Given a", "derivation": "a"}]).replace(
        '"prompt"', '"prompt": "x", "prompt"').encode(), ["key 'prompt' appears twice"]),
    ("unclosed_quote.csv", b'problem_id,prompt,model,derivation\np1,"Given a,m,a = b\n', ["line 2"]),
    ("number_prompt.jsonl", GOOD.replace('"Given a = b, then obtain c = d"', "12").encode(),
     ["line 1", "field 'prompt'"]),
]


@pytest.mark.parametrize("filename,data,expected", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_named_by_line_and_field(filename, data, expected):
    with pytest.raises(InvalidInput) as caught:
        read_records(filename, data)
    text = caught.value.message + " " + " ".join(caught.value.details)
    for fragment in expected:
        assert fragment in text, text
    assert "nothing was imported" in text or filename in text


def test_errors_are_capped_but_counted():
    data = "\n".join("{bad" for _ in range(100)).encode()
    with pytest.raises(InvalidInput) as caught:
        read_records("many.jsonl", data)
    assert len(caught.value.details) == 21 and caught.value.details[-1].startswith("...")


def test_a_utf8_bom_and_crlf_lines_are_read_as_excel_writes_them():
    data = "\ufeffproblem_id,prompt,model,derivation\r\np1,Given a,m,a = b\r\n".encode()
    _, records = read_records("excel.csv", data)
    assert records[0].problem_id == "p1" and records[0].derivation == "a = b"


def test_formula_like_cells_are_data_on_import():
    """A CSV cell like =SUM(A1) is text to store (LaTeX may start with - or +); the CSV
    exports neutralise such cells (tested with the exports)."""
    data = b'problem_id,prompt,model,derivation\np1,Given a,=HYPERLINK("x"),-a = +b\n'
    _, records = read_records("formula.csv", data)
    assert records[0].model == '=HYPERLINK("x")' and records[0].derivation == "-a = +b"


# --- steps: a list given as is, or the text cut by the import's split rule ----------------

COT = (  # GSM8K/MATH-style chain of thought: prose with inline LaTeX, one step per line
    "We have $f(x) = x^2$.\n"
    "Differentiating, $f'(x) = 2x$.\n"
    "\n"
    "So at $x = 3$ the slope is $6$.\n"
)


@pytest.mark.parametrize("rule,text,expected", [
    ("and", r"a = b and b = c", ["a = b", "b = c"]),
    ("newline", COT, ["We have $f(x) = x^2$.", "Differentiating, $f'(x) = 2x$.", "So at $x = 3$ the slope is $6$."]),
    ("blank-line", "First we expand.\n$a = b$\n\n  Then we add.\n", ["First we expand.\n$a = b$", "  Then we add."]),
    ("backslash", r"a = b \\ b = c \\", ["a = b ", " b = c "]),
    ("numbered", "Step 1: $a = b$\nStep 2. so $b = c$\nstep 3) done", ["$a = b$", "so $b = c$", "done"]),
])
def test_each_split_rule_keeps_each_step_as_written(rule, text, expected):
    line = json.dumps({"problem_id": 1, "prompt": "Find the slope.", "model": "m", "derivation": text})
    _, [record] = read_records("cot.jsonl", (line + "\n").encode(), split=rule)
    assert record.steps == expected and record.derivation == text  # the raw text is kept whole


def test_a_steps_list_is_kept_as_given_in_jsonl_and_csv():
    """JSONL: `steps` is a JSON list; CSV: the `steps` cell holds one (no `derivation` column needed)."""
    line = json.dumps({"problem_id": "q1", "prompt": "Solve.", "model": "m", "steps": ["$x = 1$", "so $y = 2$"]})
    _, [rec] = read_records("a.jsonl", (line + "\n").encode(), split="newline")
    assert rec.steps == ["$x = 1$", "so $y = 2$"] and rec.derivation == "$x = 1$\nso $y = 2$"
    table = 'problem_id,prompt,model,steps\nq1,Solve.,m,"[""x = 1"", ""y = 2""]"\n'
    _, [row] = read_records("a.csv", table.encode())
    assert row.steps == ["x = 1", "y = 2"]


@pytest.mark.parametrize("record,message", [
    ({"problem_id": 1, "prompt": "p", "model": "m"}, "line 1: field 'derivation' is missing (or give 'steps'"),
    ({"problem_id": 1, "prompt": "p", "model": "m", "steps": "x = 1"}, "line 1: field 'steps': Value error, must be a JSON list"),
    ({"problem_id": 1, "prompt": "p", "model": "m", "steps": ["x = 1", 3]}, "line 1: field 'steps.1'"),
    ({"problem_id": 1, "prompt": "p", "model": "m", "steps": [" ", "  "]}, "line 1: field 'steps': Value error, holds no step"),
])
def test_bad_steps_are_refused_with_line_and_field(record, message):
    good = json.dumps({"problem_id": 2, "prompt": "p", "model": "m", "derivation": "a = b"})
    with pytest.raises(InvalidInput) as caught:
        read_records("bad.jsonl", (json.dumps(record) + "\n" + good + "\n").encode())
    assert any(d.startswith(message) for d in caught.value.details), caught.value.details


def test_an_unknown_split_rule_is_refused():
    with pytest.raises(InvalidInput, match="step split 'commas': use one of and, newline"):
        read_records("a.jsonl", b'{"problem_id": 1, "prompt": "p", "model": "m", "derivation": "a"}\n', split="commas")
