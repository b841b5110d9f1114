"""How a derivation's text is cut into steps, chosen per import. Each step keeps its text
exactly as written (a numbered step loses only its "Step k:" label)."""

from __future__ import annotations

import re

from app.errors import InvalidInput
from app.math.latex import split_steps

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_LATEX_BREAK = re.compile(r"\\\\")
_NUMBERED = re.compile(r"(?im)^[ \t]*step[ \t]*\d+[ \t]*[:.)][ \t]*")


def _pieces(parts: list[str]) -> list[str]:
    return [p for p in parts if p.strip()]


RULES = {
    "and": ("' and ' between equations (the paper's files)", split_steps),
    "newline": ("one step per line", lambda text: _pieces(text.splitlines())),
    "blank-line": ("one step per paragraph (blank lines between)",
                   lambda text: _pieces(p.strip("\n") for p in _BLANK_LINE.split(text.replace("\r\n", "\n")))),
    "backslash": ("LaTeX line breaks (\\\\) between steps", lambda text: _pieces(_LATEX_BREAK.split(text))),
    "numbered": ("numbered lines: 'Step 1:', 'Step 2.', ...",
                 lambda text: _pieces(p.rstrip("\n") for p in _NUMBERED.split(text))),
}
DEFAULT = "and"


def check_rule(rule: str | None) -> str:
    rule = (rule or DEFAULT).strip()
    if rule not in RULES:
        raise InvalidInput(f"step split '{rule}': use one of {', '.join(RULES)}")
    return rule


def split(text: str, rule: str = DEFAULT) -> list[str]:
    return RULES[check_rule(rule)][1](text)
