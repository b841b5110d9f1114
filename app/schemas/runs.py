"""What a generation run asks of its backend (shared by the web app and the worker)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from app.errors import InvalidInput

BACKENDS = ("hf-seq2seq", "hf-causal", "openai")


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int = 256
    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 16

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Decoding":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    def check(self) -> "Decoding":
        problems = []
        if not 1 <= self.max_new_tokens <= 8192:
            problems.append(f"max_new_tokens must be 1..8192 (got {self.max_new_tokens})")
        if not 1 <= self.num_beams <= 64:
            problems.append(f"num_beams must be 1..64 (got {self.num_beams})")
        if not 1 <= self.batch_size <= 4096:
            problems.append(f"batch_size must be 1..4096 (got {self.batch_size})")
        if not math.isfinite(self.temperature) or (self.do_sample and not 0 < self.temperature <= 10):
            problems.append(f"temperature must be in (0, 10] when sampling (got {self.temperature})")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1] (got {self.top_p})")
        if not 0 <= self.seed < 2**63:  # torch takes a 64-bit seed
            problems.append(f"seed must be a whole number in 0..2^63-1 (got {self.seed})")
        if problems:
            raise InvalidInput("The decoding settings are not valid.", details=problems)
        return self

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
