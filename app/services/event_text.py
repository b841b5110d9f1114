"""One line per history event, as a person reads it ("label redundant: off → on"),
for the history page (the events CSV keeps the raw values and the JSON detail)."""

from __future__ import annotations

from typing import Any

_FIELDS = {"goal_reached": "goal reached", "comment": "comment", "note": "note", "unsure": "unsure"}


def _value(field: str, value: Any) -> str:
    if field == "goal_reached":
        return {True: "yes", False: "no", None: "not judged"}.get(value, str(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if value in (None, ""):
        return "(empty)"
    text = str(value)
    return f"“{text[:60]}…”" if len(text) > 60 else f"“{text}”"


def _changes(detail: dict[str, Any]) -> str:
    old = detail.get("old") if isinstance(detail.get("old"), dict) else {}
    parts = [f"{_FIELDS[field]}: {_value(field, old.get(field))} → {_value(field, detail[field])}"
             for field in _FIELDS if field in detail and old.get(field) != detail[field]]
    return "; ".join(parts) or "no change"


def describe(kind: str, detail: dict[str, Any] | None) -> str:
    detail = detail or {}
    if kind in ("label_on", "label_off", "final_on", "final_off"):
        who = "final label" if kind.startswith("final") else "label"
        return f"{who} {detail.get('label', '?')}: {_value('', detail.get('old'))} → {_value('', detail.get('new'))}"
    if kind in ("judgement", "note"):
        return _changes(detail)
    if kind == "settle":
        return "settled; " + _changes(detail)
    if kind in ("annotation reset", "settlement reset"):
        whose = detail.get("annotator") or detail.get("reviewer") or "?"
        labels = ", ".join(f"step {x.get('step')} {x.get('label')}" for x in detail.get("labels") or []) or "no labels"
        what = "annotation" if kind == "annotation reset" else "settlement"
        return f"{whose}'s {what} reset (it had: {labels}; goal reached {_value('goal_reached', detail.get('goal_reached'))})"
    return {"submit": "submitted", "skip": "skipped (back in the queue)"}.get(kind, kind)
