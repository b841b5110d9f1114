"""JSON read one record at a time, in bounded memory.

An upload is untrusted: a 49 MB file of `{}` objects in a field nobody reads took the web
process from 351 to 1,657 MB (each `{}`, 3 bytes of file, is a 64-byte dict). So each record
(a JSON-lines line, an item of the paper's list) is first counted with a streaming parser
(ijson's C backend: no objects built) and refused past MAX_CONTAINERS objects and arrays;
the paper's list is then read item by item, so only one record's objects exist at a time.
Measured (bench/import_memory.py, 49 MB files): peak 0.3-1.1x the file (before: 22-26x).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import ijson

# Far above any real record (measured on ../shared/data: the richest, a paper record, holds
# 81 objects and arrays; PRM800K 31, lm-eval 33), far below what makes memory explode
# (100,000 empty dicts: ~6 MB).
MAX_CONTAINERS = 100_000
# json.loads itself gives up (RecursionError) near 1,000 levels; ijson does not, and builds
# a path string per level (memory quadratic in the depth): the counting pass stops first
MAX_DEPTH = 500
_SMALL = 256 * 1024  # a record this short cannot hold enough containers to matter: not counted
_BOM = b"\xef\xbb\xbf"
_BUFFER = 8192  # ijson holds the events of one buffer at once: ~2,700 `{}` at 8 KiB


class TooManyContainers(ValueError):
    pass


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"JSON nested too deeply (more than {MAX_DEPTH} levels)")


def _refuse(count: int) -> TooManyContainers:
    return TooManyContainers(f"holds more than {MAX_CONTAINERS:,} JSON objects and arrays ({count:,} counted "
                             "before stopping); Derivation Lab reads none of that many: remove the field that holds them")


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:  # json.loads would keep the last silently
            raise ValueError(f"key '{key}' appears twice in one object")
        seen[key] = value
    return seen


def loads(text: str, raw: bytes | None = None, *, counted: bool = False) -> Any:
    """One record: json.loads that refuses duplicate keys and a record of too many objects and
    arrays (counted in `raw`, the record's bytes, when given: no second copy of a long record;
    `counted`: check_record has done it); raises ValueError with a message (a JSONDecodeError
    keeps its position) or RecursionError for hostile nesting."""
    if not counted:
        check_record(raw if raw is not None else text.encode("utf-8") if len(text) > _SMALL else b"")
    return json.loads(text, object_pairs_hook=unique_keys)


def check_record(raw: bytes) -> None:
    """Refuse a record (its bytes) of too many objects and arrays, or nested too deeply, before
    anything is built from it (a short one cannot hold enough to matter: not counted)."""
    if len(raw) > _SMALL:
        count_containers(raw)


def loads_counted(text: str) -> Any:
    """A whole document by json.loads (for what ijson does not read: NaN, Infinity), refused
    once it has built more objects than its records may hold together (its arrays are not
    counted: a hostile file of them is also one of objects, or small)."""
    budget = [MAX_CONTAINERS * 10]

    def hook(pairs):
        budget[0] -= 1
        if budget[0] < 0:
            raise _refuse(MAX_CONTAINERS * 10)
        return unique_keys(pairs)

    return json.loads(text, object_pairs_hook=hook)


def lines(data: bytes) -> Iterator[bytes]:
    """The lines of a file, as str.splitlines cuts them at \n, \r\n and \r (not at the
    Unicode separators a JSON string may hold), one at a time: no list of them all."""
    for line in io.BytesIO(data):
        yield from line.splitlines() or [b""]


def count_containers(raw: bytes) -> None:
    count = depth = 0
    try:
        for event, _ in ijson.basic_parse(io.BytesIO(raw), buf_size=_BUFFER):
            if event in ("start_map", "start_array"):
                count, depth = count + 1, depth + 1
                if count > MAX_CONTAINERS:
                    raise _refuse(count)
                if depth > MAX_DEPTH:
                    raise TooDeep()
            elif event in ("end_map", "end_array"):
                depth -= 1
    except ijson.JSONError:
        pass  # not valid JSON: json.loads says where


def _checked_items(data: bytes) -> None:
    """Count each item of a top-level list and refuse the file at the first item too rich or
    too deep, or with a key given twice in one object (as loads() does; ijson's builder keeps
    the last silently). One pass over the events, before anything is built."""
    keys: list[set | None] = []  # per open container: the keys seen (None: an array)
    count = index = 0
    try:
        for event, value in ijson.basic_parse(_stream(data), buf_size=_BUFFER):
            if event == "map_key":
                if value in keys[-1]:
                    raise ValueError(f"key '{value}' appears twice in one object")
                keys[-1].add(value)
            elif event in ("start_map", "start_array"):
                keys.append(set() if event == "start_map" else None)
                if len(keys) > MAX_DEPTH:
                    raise TooDeep()
                if len(keys) == 2:
                    index, count = index + 1, 0
                if len(keys) >= 2:
                    count += 1
                    if count > MAX_CONTAINERS:
                        raise ValueError(f"record {index}: {_refuse(count)}")
            elif event in ("end_map", "end_array"):
                keys.pop()
    except ijson.JSONError:
        pass  # the caller's parse reports it


def _stream(data: bytes) -> io.BytesIO:
    stream = io.BytesIO(data)  # shares the bytes' buffer: no copy
    if stream.read(3) != _BOM:
        stream.seek(0)
    return stream


class NotAList(ValueError):
    pass


def list_items(data: bytes) -> Iterator[Any]:
    """The items of a JSON document that is a list, one at a time (floats as floats, keys
    unique); a document that is not a list yields nothing and raises NotAList. Raises
    ValueError for a too rich item, ijson.JSONError for invalid JSON (json.loads can then
    say where)."""
    _checked_items(data)
    if not _stream(data).read(4096).lstrip().startswith(b"["):
        raise NotAList()
    yield from ijson.items(_stream(data), "item", use_float=True)
