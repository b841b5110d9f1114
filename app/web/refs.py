"""What annotators see of a derivation or a step: an opaque reference, not its row id.

Gold items are made after the project's derivations, so their ids came in one block above the
project's (`#1501`-`#1520` in a project of 1,500): an annotator could tell them apart by the
address alone. Annotators' pages and addresses carry these references instead; numeric ids are
still accepted (reviewers' links, scripts). Sqids (a library, not a cipher: it hides order and
blocks, which is the point here) with an alphabet shuffled by the installation's secret."""

from __future__ import annotations

import hashlib
import random
from typing import Annotated

from fastapi import Depends, Request
from sqids import Sqids

from app.errors import NotFound

_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_MAX_ID = 2**31 - 1  # the ids are PostgreSQL integers


class Refs:
    def __init__(self, secret: str):
        letters = list(_ALPHABET)
        random.Random(hashlib.sha256(f"refs:{secret}".encode()).digest()).shuffle(letters)
        self._sqids = Sqids(alphabet="".join(letters), min_length=7)

    def encode(self, number: int) -> str:
        return self._sqids.encode([number])

    def decode(self, text: str) -> int | None:
        """The id a reference stands for (a number stands for itself); None for anything else."""
        if text.isdigit():
            return int(text) if int(text) <= _MAX_ID else None
        numbers = self._sqids.decode(text)
        if len(numbers) != 1 or numbers[0] > _MAX_ID or self._sqids.encode(numbers) != text:
            return None  # not one of ours (a reference has one canonical spelling)
        return numbers[0]


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
