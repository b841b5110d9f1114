"""Readers for the import formats. Each turns bytes into DerivationIn records or
raises InvalidInput naming every bad line/record and field; none touches the database."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import ijson
from pydantic import ValidationError

from app.errors import InvalidInput
from app.math.paper import OUTPUT_KEY
from app.math.prompt import target_prompt
from app.schemas.importing import DerivationIn
from app.services import json_records, step_split

MAX_ERRORS = 20
REQUIRED_COLUMNS = ("problem_id", "prompt", "model", "derivation")


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append(message)
        elif len(self.items) == MAX_ERRORS:
            self.items.append("... more errors not shown")

    def raise_if_any(self, filename: str) -> None:
        if self.items:
            raise InvalidInput(
                f"{filename}: {len(self.items)} problem(s) found; nothing was imported.",
                details=self.items,
            )


def detect_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith(".jsonl") or name.endswith(".ndjson"):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".json"):
        return "paper-json"
    head = data.lstrip()[:1]
    if head == b"[":
        return "paper-json"
    if head == b"{":
        return "jsonl"
    raise InvalidInput(
        f"{filename}: cannot tell the format; name the file .json (the paper's results), .jsonl or .csv."
    )


def _decode(filename: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{filename}: line {line}: the file is not UTF-8 text (byte {exc.start}); save it as UTF-8 and try again."
        ) from None


def _validation_messages(where: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        if not field:  # the record as a whole (e.g. neither derivation nor steps)
            out.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        elif err["type"] == "missing":
            out.append(f"{where}: field '{field}' is missing")
        else:
            out.append(f"{where}: field '{field}': {err['msg']}")
    return out


def _check(where: str, raw: dict[str, Any], errors: _Errors) -> DerivationIn | None:
    try:
        return DerivationIn.model_validate(raw)
    except ValidationError as exc:
        for message in _validation_messages(where, exc):
            errors.add(message)
        return None


def _consistent(records: list[tuple[str, DerivationIn]], errors: _Errors) -> None:
    """One problem id and perturbation must mean one prompt throughout the file."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for where, rec in records:
        key = (rec.problem_id, rec.perturbation.value)
        first = seen.setdefault(key, (where, rec.prompt))
        if first[1] != rec.prompt:
            errors.add(
                f"{where}: field 'prompt' differs from {first[0]} for problem '{rec.problem_id}' ({rec.perturbation.value})"
            )


def _loads(text: str) -> Any:
    """json.loads that refuses duplicate keys and a record of too many objects and arrays;
    raises ValueError with a message (a JSONDecodeError keeps its position) or RecursionError
    for hostile nesting."""
    return json_records.loads(text)


def _decode_line(filename: str, data: bytes, line: bytes, number: int) -> str:
    try:
        return line.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        _decode(filename, data)  # raises, naming the line and the byte in the file
        raise


def read_json_lines(filename: str, data: bytes, convert: Callable[[str, dict], dict] | None = None,
                    expected: str = f"a JSON object with fields {', '.join(REQUIRED_COLUMNS)}") -> list[DerivationIn]:
    """One JSON object per line, each turned into a record (`convert` maps another source's
    fields to ours, raising ValueError with a message naming the field). All or nothing."""
    errors = _Errors()
    records: list[tuple[str, DerivationIn]] = []
    # line by line from the bytes (no decoded copy of the whole file), each record counted
    # before it is built (app.services.json_records): memory stays near the file's size
    for number, raw_line in enumerate(json_records.lines(data), start=1):
        where = f"line {number}"
        try:
            json_records.check_record(raw_line)  # before the line is decoded or built
        except ValueError as exc:
            errors.add(f"{where}: {exc}")
            continue
        line = _decode_line(filename, data, raw_line, number)
        if not line.strip():
            continue
        try:
            raw = json_records.loads(line, counted=True)
        except json.JSONDecodeError as exc:
            errors.add(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError as exc:
            errors.add(f"{where}: {exc}")
            continue
        except RecursionError:
            errors.add(f"{where}: JSON nested too deeply")
            continue
        if not isinstance(raw, dict):
            errors.add(f"{where}: expected {expected}")
            continue
        if convert is not None:
            try:
                raw = convert(where, raw)
            except ValueError as exc:
                errors.add(f"{where}: {exc}")
                continue
        rec = _check(where, raw, errors)
        if rec:
            records.append((where, rec))
    if not records and not errors.items:
        errors.add("the file holds no records")
    _consistent(records, errors)
    errors.raise_if_any(filename)
    return [rec for _, rec in records]


def read_jsonl(filename: str, data: bytes) -> list[DerivationIn]:
    return read_json_lines(filename, data)


def read_csv(filename: str, data: bytes) -> list[DerivationIn]:
    text = _decode(filename, data)
    errors = _Errors()
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InvalidInput(f"{filename}: line 1: not valid CSV ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header and not (c == "derivation" and "steps" in header)]
    if missing:
        raise InvalidInput(
            f"{filename}: line 1: missing column(s) {', '.join(missing)}; "
            f"expected {', '.join(REQUIRED_COLUMNS)} (or steps, a JSON list, for derivation) "
            "(+ optional reference, perturbation)"
        )
    records: list[tuple[str, DerivationIn]] = []
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if None in row:
                errors.add(f"{where}: more cells than columns")
                continue
            raw = {k: v for k, v in row.items() if k in DerivationIn.model_fields and v not in (None, "")}
            rec = _check(where, raw, errors)
            if rec:
                records.append((where, rec))
    except csv.Error as exc:
        errors.add(f"line {reader.line_num}: not valid CSV ({exc})")
    if not records and not errors.items:
        errors.add("the file holds no rows")
    _consistent(records, errors)
    errors.raise_if_any(filename)
    return [rec for _, rec in records]


def paper_problem_key(static_prompt: str) -> str:
    """The paper's files carry no ids; a problem is known by its target prompt,
    which is the same in every model's file (5-shot or bare)."""
    return "p-" + hashlib.sha256(target_prompt(static_prompt).encode()).hexdigest()[:12]


def _metrics(record: dict[str, Any], variant: str) -> dict[str, float]:
    # Keys kept as the authors named them (static_rouge, VR_rouge, ratio_VR_bleu, ...).
    marks = (f"{variant}_", f"ratio_{variant}_", f"norm_{variant}_")
    return {
        k: float(v)
        for k, v in record.items()
        if k.startswith(marks) and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _paper_records(index: int, record: Any, errors: _Errors) -> Iterator[tuple[str, DerivationIn]]:
    where = f"record {index}"
    if not isinstance(record, dict):
        errors.add(f"{where}: expected an object with 'prompt', 'derivation' and model outputs")
        return
    outputs = [
        (m.group(1), m.group(2), key)
        for key in record
        if (m := OUTPUT_KEY.match(key)) and isinstance(record[key], str)
    ]
    if not any(variant == "static" for variant, _, _ in outputs):
        errors.add(f"{where}: no model output found (expected a text field like 'static_gpt-4')")
        return
    static_prompt = record.get("prompt")
    if not isinstance(static_prompt, str) or not static_prompt.strip():
        errors.add(f"{where}: field 'prompt' is missing or not text")
        return
    key = paper_problem_key(static_prompt)
    for variant, model, output_key in outputs:
        prefix = "" if variant == "static" else f"{variant} "
        prompt, reference = record.get(f"{prefix}prompt"), record.get(f"{prefix}derivation")
        if not isinstance(prompt, str):
            errors.add(f"{where}: field '{prefix}prompt' is missing or not text (needed by '{output_key}')")
            continue
        if reference is not None and not isinstance(reference, str):
            errors.add(f"{where}: field '{prefix}derivation' must be text")
            continue
        raw = {
            "problem_id": key,
            "prompt": prompt,
            "model": model,
            "derivation": record[output_key],
            "reference": reference,
            "perturbation": variant,
            "reference_srepr": record.get(f"{prefix}srepr_derivation"),
            "metrics": _metrics(record, variant),
        }
        rec = _check(f"{where} ('{output_key}')", raw, errors)
        if rec:
            yield f"{where} ('{output_key}')", rec


def _whole_paper_document(filename: str, data: bytes) -> Any:
    """The document read whole by json.loads: what the streaming parser refused is either
    invalid (this says where) or uses NaN/Infinity, which Python's json writes and ijson
    does not read (then the records come from here, objects counted as they are built)."""
    text = _decode(filename, data)
    try:
        return json_records.loads_counted(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{filename}: line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"{filename}: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{filename}: JSON nested too deeply") from None


def read_paper_json(filename: str, data: bytes) -> list[DerivationIn]:
    errors = _Errors()
    records: list[tuple[str, DerivationIn]] = []
    try:  # item by item: one record's objects at a time (app.services.json_records)
        for i, record in enumerate(json_records.list_items(data), start=1):
            records.extend(_paper_records(i, record, errors))
        document: Any = []
    except json_records.NotAList:
        document = None
    except ijson.JSONError:
        errors, records = _Errors(), []
        document = _whole_paper_document(filename, data)
    except ValueError as exc:
        raise InvalidInput(f"{filename}: {exc}") from None
    if not isinstance(document, list):
        raise InvalidInput(
            f"{filename}: expected a JSON list of records (the paper's *_results.json); "
            "for one derivation per line use .jsonl"
        )
    records += [rec for i, record in enumerate(document, start=1) for rec in _paper_records(i, record, errors)]
    if not records and not errors.items:
        errors.add("the file holds no records")
    _consistent(records, errors)
    errors.raise_if_any(filename)
    return [rec for _, rec in records]


READERS = {"paper-json": read_paper_json, "jsonl": read_jsonl, "csv": read_csv}


def with_steps(records: list[DerivationIn], rule: str) -> list[DerivationIn]:
    """Each record's steps: as given (a `steps` list), else its text cut by the split rule."""
    for rec in records:
        if rec.steps is None:
            rec.steps = step_split.split(rec.derivation, rule)
    return records
