"""The history page's wording of each kind of event."""

from app.services.event_text import describe


def test_each_kind_of_event_reads_as_a_sentence():
    assert describe("label_on", {"label": "redundant", "old": False, "new": True}) == "label redundant: off → on"
    assert describe("final_off", {"label": "incorrect", "old": True, "new": False}) == \
        "final label incorrect: on → off"
    assert describe("judgement", {"goal_reached": True, "old": {"goal_reached": None}}) == \
        "goal reached: not judged → yes"
    assert describe("judgement", {"comment": "sign slip", "old": {"comment": ""}}) == "comment: (empty) → “sign slip”"
    assert describe("note", {"note": "why?", "unsure": True, "old": {"note": "", "unsure": False}}) == \
        "note: (empty) → “why?”; unsure: off → on"
    assert describe("settle", {"goal_reached": False, "comment": "", "old": {"goal_reached": None, "comment": ""}}) \
        == "settled; goal reached: not judged → no"
    assert describe("submit", {}) == "submitted" and describe("skip", None).startswith("skipped")
