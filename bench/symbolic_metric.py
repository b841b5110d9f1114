"""Does a metric see the reasoning errors? Spearman's ρ between each metric and an error count,
on mutants of the sample files' own references (the authors' srepr_derivation, read exactly):
every mutant kind (skipped, redundant, incorrect, irrelevant, none) from each reference, a
few seeds each, written as the paper prints them and with every equation's sides swapped (the
same mathematics in other words: as a model may write it, and as the EE perturbation asks).
(FLAN-T5's spacing is no test: ROUGE's tokenizer drops the punctuation.) The error count is human-like: the steps
SymPy's checker labels (any label) on the mutant; the known labels of the mutation give a
second count. Metrics are against the unmutated reference as the paper prints it: ROUGE-2
(text) and the symbolic step recall / F1 (app.math.symbolic_metric).

    .venv/bin/python bench/symbolic_metric.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import sys
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.stats import spearmanr  # noqa: E402

from app.math.checker import YES, check_derivation  # noqa: E402
from app.math.engine import Problem, Step, to_latex  # noqa: E402
from app.math.metrics import rouge2  # noqa: E402
from app.math.mutants import KINDS, mutate  # noqa: E402
from app.math.srepr import read_srepr  # noqa: E402
from app.math.symbolic_metric import symbolic_scores  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "data"


def references() -> list[list]:
    seen, out = set(), []
    for path in sorted(SAMPLES.glob("paper_sample_*.json")):
        for record in json.loads(path.read_text()):
            for variant in ("", "VR ", "EE ", "AG ", "SR "):
                recorded = record[variant + "srepr_derivation"]
                recorded = recorded if isinstance(recorded, list) else ast.literal_eval(recorded)
                eqs = [read_srepr(text) for _, text in recorded]
                key = tuple(str(e) for e in eqs)
                if key not in seen:
                    seen.add(key)
                    out.append(eqs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    refs = references()
    for eqs in refs:
        problem = Problem(steps=[Step("premise" if i == 0 else "op", (), None, eq) for i, eq in enumerate(eqs)],
                          intermediate=1)
        reference = [to_latex(eq) for eq in eqs]
        for seed in range(args.seeds):
            rng = random.Random(seed)
            for kind in KINDS:
                m = mutate(problem, kind, rng)
                if m is None:
                    continue
                checked = check_derivation(m.premises, m.goal, m.steps)
                sympy_errors = sum(any(v.value == YES for v in s.verdicts.values()) for s in checked.steps)
                known_errors = sum(len(labels) for labels in m.labels.values())
                for style in ("paper", "swapped"):
                    steps = m.steps if style == "paper" else [" = ".join(reversed(s.split(" = ", 1))) for s in m.steps]
                    sym = symbolic_scores(steps, reference)
                    f1 = (2 * sym["sym_recall"] * sym["sym_precision"] / (sym["sym_recall"] + sym["sym_precision"])
                          if sym["sym_recall"] + sym["sym_precision"] else 0.0)
                    rows.append({"style": style, "rouge2": rouge2(" and ".join(steps), " and ".join(reference)),
                                 "sym_recall": sym["sym_recall"], "sym_f1": f1, "sympy": sympy_errors,
                                 "known": known_errors})
    print(f"{len(rows) // 2} mutants of {len(refs)} sample-file references ({args.seeds} seeds x "
          f"{len(KINDS)} kinds), each as the paper prints it and with sides swapped")
    for styles in (("paper",), ("paper", "swapped")):
        chosen = [r for r in rows if r["style"] in styles]
        for errors in ("sympy", "known"):
            figures = []
            for metric in ("rouge2", "sym_recall", "sym_f1"):
                rho = spearmanr([r[metric] for r in chosen], [r[errors] for r in chosen]).statistic
                figures.append(f"{metric} |ρ| {abs(rho):.3f}")
            print(f"  {' + '.join(styles):15s} vs the error count "
                  f"({'SymPy-checked' if errors == 'sympy' else 'known labels'}): " + "; ".join(figures))


if __name__ == "__main__":
    main()
