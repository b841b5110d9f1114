"""What each backend is shown: T5 the bare prompt (as the paper fine-tuned it),
decoder-only and chat models a few-shot prompt like the paper's GPT runs."""

from __future__ import annotations

from functools import lru_cache

from app.math.prompt import target_prompt

FEW_SHOT_HEADER = (
    "The following examples consist of a prompt (denoted by Prompt:) and a mathematical derivation "
    "(denoted by Derivation:). Each derivation contains LaTeX equations separated by \"and\". \n\n"
)
EXAMPLES = 3
EXAMPLE_SEED = 2307  # fixed: every run shows its model the same examples


@lru_cache(maxsize=1)
def _examples() -> str:
    from app.math.engine import generate, prompt_text, reference_text

    shots = [family[0] for family in generate(EXAMPLES, EXAMPLE_SEED, ())]
    return "".join(f"Prompt: {prompt_text(p)}\n\nDerivation: {reference_text(p)}\n\n\n" for p in shots)


def seq2seq_prompt(prompt: str) -> str:
    return target_prompt(prompt)


def few_shot_prompt(prompt: str) -> str:
    """The paper's GPT prompts already are few-shot prompts ending with the target: keep them."""
    if "Prompt:" in prompt:
        return prompt.rstrip() + "\n\nDerivation:"
    return FEW_SHOT_HEADER + _examples() + f"Prompt: {prompt.strip()}\n\nDerivation:"


def cut_completion(text: str) -> str:
    """A completion may run on into a next example: keep the derivation only."""
    text = text.strip()
    if text.startswith("Derivation:"):
        text = text[len("Derivation:"):]
    for stop in ("\n\nPrompt:", "\nPrompt:", "\n\n"):
        text = text.split(stop, 1)[0]
    return text.strip()


def effective_template(template: str, backend: str) -> str:
    """"auto" is what the paper showed each kind of model: T5 the bare problem, the rest few-shot."""
    if template != "auto":
        return template
    return "bare" if backend == "hf-seq2seq" else "paper-few-shot"


def text_prompt(prompt: str, template: str) -> str:
    """The text a completion model is shown (bare: the problem without any few-shot wrapping)."""
    return few_shot_prompt(prompt) if template == "paper-few-shot" else target_prompt(prompt)


def chat_messages(prompt: str, system_prompt: str) -> list[dict[str, str]]:
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": target_prompt(prompt)}]


def finish(text: str, template: str, stop: tuple[str, ...] | list[str] = ()) -> str:
    """The completion as kept: the paper's prompt is cut at its next example or blank line;
    otherwise only the run's stop sequences cut it (chain of thought keeps its blank lines)."""
    if template == "paper-few-shot":
        text = cut_completion(text)
    for sequence in stop:
        text = text.split(sequence, 1)[0]
    return text.strip()
