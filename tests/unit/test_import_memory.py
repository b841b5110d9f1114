"""Issue 24, item 10: an upload of many small JSON objects in a field nobody reads took the web
process from 351 to 1,657 MB. Reading is now bounded: a record past 100,000 objects and arrays
is refused by name, and the rest is read one record at a time. Peaks are measured with
tracemalloc (Python's allocations: what the parsed objects cost), against the file's size."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from app.errors import InvalidInput
from app.services import json_records
from app.services.file_formats import read_records
from tests.helpers import PAPER_FILES

RECORD = {"problem_id": "p", "prompt": "Given a = b, then obtain b = a", "model": "m", "derivation": "b = a"}


def _junk(n: int) -> str:
    return '"junk": [' + ",".join(["{}"] * n) + "]"


def _peak(filename: str, data: bytes):
    tracemalloc.start()
    try:
        return read_records(filename, data), tracemalloc.get_traced_memory()[1]
    except InvalidInput as exc:
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_record_of_too_many_objects_is_refused_by_its_line_in_bounded_memory():
    line = json.dumps(RECORD)[:-1] + ", " + _junk(json_records.MAX_CONTAINERS * 3) + "}"
    data = (json.dumps(RECORD) + "\n" + line + "\n").encode()
    refused, peak = _peak("junk.jsonl", data)
    assert isinstance(refused, InvalidInput)
    assert any("line 2: holds more than 100,000 JSON objects and arrays" in d for d in refused.details)
    assert peak <= 3 * len(data), peak / len(data)  # before: ~26x (300,000 dicts built)


def test_paper_records_are_read_one_at_a_time():
    """The paper's format is one JSON list: it was built whole (junk of every record at once)."""
    doc = json.loads(PAPER_FILES["gpt-4"].read_bytes())
    copies = [{k: (v + f" ({n})" if k.endswith("prompt") else v) for k, v in r.items()} | {"junk": []}
              for n in range(10) for r in doc]  # 100 problems: each copy's prompts its own
    data = json.dumps(copies).replace('"junk": []', _junk(10_000)).encode()
    (fmt, records), peak = _peak("junk.json", data)
    assert fmt == "paper-json" and len(records) == 5 * len(copies)  # the junk is ignored, as any unknown field
    assert peak <= 3 * len(data), peak / len(data)  # before: ~24x (every record's junk at once)
    too_rich = json.dumps([dict(r, junk=[]) for r in doc]).replace('"junk": []', _junk(150_000), 1).encode()
    refused, peak = _peak("junk.json", too_rich)
    assert "record 1: holds more than 100,000 JSON objects and arrays" in refused.message
    assert peak <= 3 * len(too_rich)


@pytest.mark.parametrize("text", ['[{"prompt": "a", "prompt": "b"}]', '[{"x": NaN}]'])
def test_the_streaming_reader_keeps_the_old_rules(text):
    """A key twice is refused as before; NaN (Python's json writes it, ijson does not read it)
    falls back to the whole-document reader."""
    with pytest.raises(InvalidInput) as caught:
        read_records("f.json", text.encode())
    message = caught.value.message + " ".join(caught.value.details)
    assert ("key 'prompt' appears twice" in message) if "prompt" in text else ("field 'prompt'" in message
                                                                              or "no records" in message
                                                                              or "record 1" in message)
