"""Ratchet: the parser must keep reading the sample files at least this well.
Raise the floors when the parser improves; never lower them to pass."""

import pytest

from app.math.parse_stats import file_stats
from tests.helpers import PAPER_FILES

# (parsed equations, total) per model, reached on 2026-11-23; faithful references: all 285 per file.
FLOORS = {"gpt-4": (228, 228), "gpt-3.5-turbo": (253, 254), "flan-t5-large": (270, 272)}


@pytest.fixture(scope="module")
def stats():
    return {model: file_stats(path) for model, path in PAPER_FILES.items()}


@pytest.mark.parametrize("model", sorted(FLOORS))
def test_parse_rate_does_not_drop(stats, model):
    rate = stats[model].parsed[model]
    floor, total = FLOORS[model]
    assert rate.total == total
    assert rate.ok >= floor, rate.failures
    assert rate.share >= 0.97  # the target


@pytest.mark.parametrize("model", sorted(FLOORS))
def test_references_parse_faithfully(stats, model):
    faithful = stats[model].faithful
    assert faithful.total == 285
    assert faithful.ok == 285, faithful.failures[:5]
