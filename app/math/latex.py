"""Splitting model output into equations, and the form KaTeX displays.
Parsing to SymPy comes with the math core (app/math, issue 3)."""

import re

# The paper joins equations with the word "and" between spaces.
STEP_SEPARATOR = " and "


def split_steps(text: str) -> list[str]:
    """Split a derivation into its equations, each kept exactly as written.

    Each piece is the exact substring between separators (no stripping), so a
    step's LaTeX is what the model wrote. Blank pieces (an output that ends in
    " and ") are dropped: there is nothing to annotate; the derivation keeps
    its raw text in full.
    """
    return [piece for piece in text.split(STEP_SEPARATOR) if piece.strip()]


# Display only (the raw text is never changed): T5's tokenizer spaces commands
# ("\ frac { d }") and often drops the first backslash ("eta { (a) }").
_SPACED_COMMAND = re.compile(r"\\ ([A-Za-z]{2,})")
_SPACED_SCRIPT = re.compile(r"[\^_] \{")  # "e ^ { a }": tokenizer spacing
_LOST_BACKSLASH = re.compile(
    r"^(\s*)(frac|partial|int|iint|sin|cos|tan|exp|log|ln|sqrt|cdot|mathbf|mathbb|hat|operatorname|"
    r"alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|iota|kappa|lambda|mu|nu|xi|pi|rho|sigma|"
    r"tau|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Pi|Sigma|Phi|Psi|Omega|nabla)\b"
)


def display_form(latex: str) -> str:
    """The step as KaTeX should see it: T5 spacing undone where it is unambiguous."""
    if not (_SPACED_COMMAND.search(latex) or _SPACED_SCRIPT.search(latex)):
        return latex
    joined = _SPACED_COMMAND.sub(r"\\\1", latex)
    return _LOST_BACKSLASH.sub(r"\1\\\2", joined)
