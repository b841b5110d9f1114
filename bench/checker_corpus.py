"""The checker on a large engine corpus nobody tuned a rule to, and on mutants of three
seeds. References are correct by construction: any "incorrect" on them is a false one.

    .venv/bin/python bench/checker_corpus.py [--families 400] [--seed 2026] [--mutants 300] [--mutant-seeds 3,7,11]
    .venv/bin/python bench/checker_corpus.py --corpus authors [--every 1]

--corpus authors checks the authors' own engine corpus (../shared/data/authors_engine_a.jsonl,
app.math.authors): every reference in static, VR and EE, each as the paper, GPT and FLAN-T5
write it; `--every N` takes one record in N.

--families 400 checks 400 × 5 perturbations × 3 styles (paper, GPT, FLAN-T5) = 6,000
reference derivations (about an hour on 2 cores); the fast suite runs 12 families.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.math import authors  # noqa: E402
from app.math.corpus import evaluate_references  # noqa: E402
from app.math.evaluation import evaluate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--families", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--mutants", type=int, default=300)
    parser.add_argument("--mutant-seeds", default="3,7,11")
    parser.add_argument("--corpus", choices=("engine", "authors"), default="engine")
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()
    if args.corpus == "authors":
        return authors_report(args.every)

    report = evaluate_references(args.families, args.seed)
    print(f"engine references, {args.families} families (seed {args.seed}): {report.derivations} derivations, "
          f"{report.steps} steps")
    print(f"  false 'incorrect': {len(report.false_incorrect)}; 'skipped' said on {len(report.skipped_yes)} steps; "
          f"'incorrect' unknown on {report.unknown_incorrect}; false 'irrelevant' {len(report.irrelevant_yes)}")
    for line in report.false_incorrect[:10]:
        print(f"    {line}")
    print_parsing_and_time(report)

    for seed in (int(s) for s in args.mutant_seeds.split(",")):
        result = evaluate(args.mutants, seed)
        incorrect, skipped = result.scores["incorrect"], result.scores["skipped"]
        xs = sorted(result.seconds)
        print(f"mutants, {args.mutants} (seed {seed}): incorrect precision {100 * (incorrect.precision or 0):.1f}% "
              f"recall {100 * (incorrect.recall or 0):.1f}%; skipped {100 * (skipped.precision or 0):.1f}% / "
              f"{100 * (skipped.recall or 0):.1f}%; false 'incorrect' on references "
              f"{result.false_incorrect_on_references}/{result.references}; out of time {result.timeouts}; "
              f"errors {len(result.errors)}; p95 {xs[int(0.95 * (len(xs) - 1))]:.2f} s")


def print_parsing_and_time(report) -> None:
    """What both corpora's reports share: faithful parses, parse rates, time."""
    ok, total = report.faithful
    print(f"  reference equations parsed faithfully: {100 * ok / total:.2f}% ({ok}/{total})")
    for style, (ok, total) in report.parsed.items():
        print(f"  {style:6s} steps parsed: {100 * ok / total:.2f}% ({ok}/{total})")
    print(f"  out of time: {len(report.timeouts)} of {report.derivations}; seconds per derivation: "
          f"p50 {report.percentile(0.5):.2f}, p95 {report.percentile(0.95):.2f}")


def authors_report(every: int) -> None:
    refs = authors.load(every=every)
    report = authors.evaluate(refs)
    print(f"authors' corpus: {len(refs)} references x {len(authors.VARIANTS)} variants x {len(authors.STYLES)} "
          f"renderings = {report.derivations} derivations, {report.steps} steps")
    print(f"  false 'incorrect': {len(report.false_incorrect)} steps in "
          f"{len(report.derivations_with_false_incorrect)} derivations; 'incorrect' unknown on "
          f"{report.unknown_incorrect}")
    print(f"  false 'skipped': {len(report.false_skipped)} ({100 * len(report.false_skipped) / report.steps:.2f}%); "
          f"false 'irrelevant': {len(report.false_irrelevant)} "
          f"({100 * len(report.false_irrelevant) / report.steps:.2f}%)")
    for line in report.false_incorrect[:10]:
        print(f"    {line}")
    print_parsing_and_time(report)


if __name__ == "__main__":
    main()
