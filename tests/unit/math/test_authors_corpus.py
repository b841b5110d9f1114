"""The checker on the authors' own engine corpus (../shared/data/authors_engine_a.jsonl): a
fixed slice here, all of it in `bench/checker_corpus.py --corpus authors` (make bench).
Every reference is correct by construction and says which equations each step was made
from: "incorrect" on any step, "skipped" on any step and "irrelevant" on a cited step are
false."""

import pytest

from app.math import authors

pytestmark = pytest.mark.skipif(not authors.default_path().exists(), reason="the authors' corpus is not beside the project")

EVERY = 19  # 50 records spread over the file


@pytest.fixture(scope="module")
def refs():
    return authors.load(every=EVERY)


@pytest.fixture(scope="module")
def report(refs):
    return authors.evaluate(refs, variants=("static", "VR", "EE"), styles=("paper", "t5"))


def test_the_slice_covers_the_operations(refs):
    ops = {op for r in refs for op in r.operations}
    assert {"substitute_LHS_for_RHS", "differentiate", "integrate", "evaluate_integrals"} <= ops


def test_every_equation_parses_back_to_its_srepr(report):
    parsed, total = report.faithful
    assert total > 300
    assert parsed / total >= 0.985, report.unfaithful[:5]


def test_no_false_incorrect(report):
    assert report.derivations == 50 * 3 * 2
    assert report.false_incorrect == []


def test_false_skipped_and_irrelevant_are_rare(report):
    # the targets: each at most 0.5% of reference steps
    assert len(report.false_skipped) <= 0.005 * report.steps, report.false_skipped[:5]
    assert len(report.false_irrelevant) <= 0.005 * report.steps, report.false_irrelevant[:5]


def test_variants_are_the_papers():
    ref = authors.load(limit=1)[0]
    assert authors.swapped(["a = b + c"]) == ["b + c = a"]
    renamed = authors.renamed(ref)
    assert len(renamed) == len(ref.latex) and renamed != ref.latex
    old = authors._names(authors.equations(ref))
    assert not any(name in " ".join(renamed) for name in old if len(name) > 2)
