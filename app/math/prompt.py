"""Reading "Given P, then derive M, then obtain G" prompts into their parts."""

from dataclasses import dataclass, field
import re

from app.math.latex import STEP_SEPARATOR

# Few-shot prompts (the paper's GPT runs) end with the target after the last "Prompt:".
_PROMPT_MARK = "Prompt:"
_GIVEN = re.compile(r"^\s*Given\s+", re.IGNORECASE)
_THEN = re.compile(r",\s*then\s+(derive|obtain)\s+", re.IGNORECASE)


@dataclass
class ParsedPrompt:
    target: str  # the prompt the model answered (the last one of a few-shot prompt)
    premises: list[str] = field(default_factory=list)
    intermediates: list[str] = field(default_factory=list)
    goal: str | None = None

    @property
    def understood(self) -> bool:
        return bool(self.premises) and self.goal is not None


def target_prompt(prompt: str) -> str:
    if _PROMPT_MARK in prompt:
        return prompt.rsplit(_PROMPT_MARK, 1)[1].strip()
    return prompt.strip()


def parse_prompt(prompt: str) -> ParsedPrompt:
    """Premises, intermediate equations and goal; empty parts when the prompt has another form."""
    target = target_prompt(prompt)
    given = _GIVEN.match(target)
    if not given:
        return ParsedPrompt(target=target)
    rest = target[given.end():]
    parts = _THEN.split(rest)
    # parts = [premises, kind1, eq1, kind2, eq2, ...]
    result = ParsedPrompt(target=target)
    result.premises = [p.strip() for p in parts[0].split(STEP_SEPARATOR) if p.strip()]
    for kind, equation in zip(parts[1::2], parts[2::2]):
        equation = equation.strip()
        if kind.lower() == "obtain":
            result.goal = equation
        else:
            result.intermediates.append(equation)
    return result
