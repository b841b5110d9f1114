"""What annotators see of a derivation or a step: an opaque reference, not its row id.

Gold items are made after the project's derivations, so their ids came in one block above the
project's (`#1501`-`#1520` in a project of 1,500): an annotator could tell them apart by the
address alone. Annotators' pages and addresses carry references instead: the id enciphered
with FF3-1 (format-preserving encryption, a NIST mode; the `ff3` library) keyed by the
installation's secret, as a 10-digit number starting with 1. Numbers, so scripts and benchmark
tools that read ids from addresses and `data-step-id` keep working; keyed, so neither order nor
blocks show. A number below 10^9 is a plain row id, still accepted (reviewers' links, scripts).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from ff3 import FF3Cipher

from app.errors import NotFound

_DIGITS = 9  # ids below 10^9; a reference is "1" + the 9 enciphered digits (below 2^31)


class Refs:
    def __init__(self, secret: str):
        key = hashlib.sha256(f"refs-key:{secret}".encode()).hexdigest()[:32]  # AES-128
        tweak = hashlib.sha256(f"refs-tweak:{secret}".encode()).hexdigest()[:14]  # FF3-1's 56 bits
        self._cipher = FF3Cipher(key, tweak)
        self.encode = lru_cache(maxsize=65_536)(self._encode)  # ~50 µs each: pages repeat them

    def _encode(self, number: int) -> str:
        return "1" + self._cipher.encrypt(f"{number:0{_DIGITS}d}")

    def decode(self, text: str) -> int | None:
        """The id a reference stands for (a plain id below 10^9 stands for itself); None for
        anything else."""
        if not text.isdigit() or len(text) > _DIGITS + 1:
            return None
        if len(text) == _DIGITS + 1:
            return int(self._cipher.decrypt(text[1:])) if text[0] == "1" else None
        return int(text)


def of(request: Request) -> Refs:
    return request.app.state.refs


def _derivation(request: Request, derivation_id: str) -> int:
    found = of(request).decode(derivation_id)
    if found is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return found


def _step(request: Request, step_id: str) -> int:
    found = of(request).decode(step_id)
    if found is None:
        raise NotFound(f"step {step_id} does not exist")
    return found


# route parameters: the path's reference (or number), as the id
DerivationRef = Annotated[int, Depends(_derivation)]
StepRef = Annotated[int, Depends(_step)]
