"""What a generation run asks of its backend (shared by the web app and the worker)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from app.errors import InvalidInput

BACKENDS = ("hf-seq2seq", "hf-causal", "openai")
# What the model is shown: "auto" as the paper did (T5 the bare problem; decoder-only and chat
# models its few-shot prompt, cut at the first blank line); "bare" the problem's prompt as stored;
# "paper-few-shot" the paper's prompt whatever the backend; "chat" the prompt as a user message
# after the run's system prompt, through the model's chat template. Only the paper's prompt cuts
# the completion at a blank line: chain of thought keeps its paragraphs.
TEMPLATES = ("auto", "bare", "paper-few-shot", "chat")
_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int = 256
    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 16
    # the backend, per run (so every worker does the same whatever its environment):
    endpoint: str | None = None  # openai: the server's base URL (default: the worker's OPENAI_BASE_URL)
    key_name: str | None = None  # openai: the environment variable holding the key on the worker (never the key)
    template: str = "auto"
    system_prompt: str = ""
    stop: tuple[str, ...] = ()  # the completion ends before the first of these
    split: str = "and"  # how an output is cut into steps (app.services.step_split): "newline" for chain of thought

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Decoding":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if "stop" in values:
            values["stop"] = tuple(values["stop"] or ())
        return cls(**values)

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
        from app.services.step_split import RULES

        if self.split not in RULES:
            problems.append(f"split must be one of {', '.join(RULES)} (got {self.split!r})")
        if self.template not in TEMPLATES:
            problems.append(f"template must be one of {', '.join(TEMPLATES)} (got {self.template!r})")
        if self.endpoint is not None and not re.match(r"^https?://[^\s/]+(/\S*)?$", self.endpoint):
            problems.append(f"endpoint must be an http(s) URL such as http://gpu-box:8000/v1 (got {self.endpoint!r})")
        if self.key_name is not None and not _KEY_NAME.match(self.key_name):
            problems.append("key name: the name of an environment variable (letters, digits, _), not the key itself")
        if len(self.system_prompt) > 8000:
            problems.append(f"system prompt: at most 8,000 characters ({len(self.system_prompt):,} given)")
        if self.system_prompt and self.template != "chat":
            problems.append("a system prompt needs the chat template")
        if len(self.stop) > 8 or any(not 0 < len(s) <= 200 for s in self.stop):
            problems.append("stop sequences: at most 8, each 1-200 characters")
        if problems:
            raise InvalidInput("The decoding settings are not valid.", details=problems)
        return self

    def for_backend(self, backend: str) -> "Decoding":
        """Refuse settings the backend cannot honour (say so, rather than ignore them)."""
        problems = []
        if backend != "openai" and (self.endpoint or self.key_name):
            problems.append(f"an endpoint and key name are for the openai backend, not {backend}")
        if backend == "hf-seq2seq" and self.template == "chat":
            problems.append("the chat template needs a chat model: hf-causal or openai")
        if problems:
            raise InvalidInput("The run's settings do not fit its backend.", details=problems)
        return self

    def stop_list(self) -> list[str]:
        return list(self.stop)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["stop"] = list(self.stop)
        return out
