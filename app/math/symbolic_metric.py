"""A metric that sees through notation (the CDM paper's point, done symbolically): how much
of the reference a model's derivation reaches, equation by equation, up to SymPy
equivalence rather than by shared tokens.

- sym_recall: reference steps that some model step is equivalent to (the same equation,
  sides swapped, or each side equal after expansion), over the reference's parsed steps;
- sym_precision: model steps equivalent to some reference step, over the model's parsed steps;
- sym_goal: 1 when the model's last step is equivalent to the reference's last, else 0.

Pure; runs in app.math.sandbox with the check (each comparison is time-bounded)."""

from __future__ import annotations

from app.math.checker import _equivalent, _parse


def symbolic_scores(model_steps: list[str], reference_steps: list[str]) -> dict[str, float] | None:
    """None when no reference step can be read (nothing to score against)."""
    refs = [eq for eq in (_parse(s) for s in reference_steps) if eq is not None]
    if not refs:
        return None
    parsed = [_parse(s) for s in model_steps]
    mods = [eq for eq in parsed if eq is not None]
    same = [[_equivalent(m, r) for r in refs] for m in mods]
    recall = sum(any(row[j] for row in same) for j in range(len(refs))) / len(refs)
    precision = sum(any(row) for row in same) / len(mods) if mods else 0.0
    goal = 1.0 if parsed and parsed[-1] is not None and _equivalent(parsed[-1], refs[-1]) else 0.0
    return {"sym_recall": recall, "sym_precision": precision, "sym_goal": goal}
