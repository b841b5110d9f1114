"""Reading an uploaded file into records, whatever its format: the plain formats
(app.services.import_formats) and the labelled ones built on them (app.services.labelled_formats:
ProcessBench, PRM800K, lm-evaluation-harness). One place that knows both, so neither imports
the other back."""

from __future__ import annotations

from app.errors import InvalidInput
from app.schemas.importing import DerivationIn
from app.services import import_formats, labelled_formats, step_split


FORMATS = (*import_formats.READERS, labelled_formats.PROCESSBENCH, labelled_formats.PRM800K, labelled_formats.LM_EVAL)


def read_records(filename: str, data: bytes, fmt: str | None = None, split: str | None = None,
                 model: str | None = None, results: dict | None = None) -> tuple[str, list[DerivationIn]]:
    """Records with their steps: as given (a `steps` list), else cut by the split rule.
    `model`: the model's name for lm-evaluation-harness samples (their records do not say);
    `results`: the run's results_*.json, read (labelled_formats.lm_eval_results), which names it."""
    rule = step_split.check_rule(split)
    if fmt is None:
        fmt = import_formats.detect_format(filename, data)
        if fmt == "jsonl":
            fmt = labelled_formats.sniff(filename, data) or fmt
    readers = {**import_formats.READERS, labelled_formats.PROCESSBENCH: labelled_formats.read_processbench,
               labelled_formats.PRM800K: labelled_formats.read_prm800k,
               labelled_formats.LM_EVAL: labelled_formats.lm_eval_reader(model, results)}
    if fmt not in readers:
        raise InvalidInput(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    return fmt, import_formats.with_steps(readers[fmt](filename, data), rule)
