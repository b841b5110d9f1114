"""A labelled source's labels (ProcessBench's first error, PRM800K's -1 and 0) mapped onto a
project's labels at import, so a label means the same thing in the project and in its exports.

Each source label goes to: the label a declared mapping names (`neutral=irrelevant`); else
the project's active label of the same key (the presets use the sources' own words); else the
project's one active label with the same rating (the paper's `incorrect` for -1). Anything
else (no such label, or several that could be meant) is refused by name before anything is
written: a wrong label is worse than none.
"""

from __future__ import annotations

from collections import Counter

from app.errors import InvalidInput
from app.schemas.importing import DerivationIn
from app.services.labelled_formats import PRM800K, PROCESSBENCH, SOURCE_LABELS

# A project made by importing one of these sources starts from the source's own preset.
PRESET_OF_FORMAT = {PROCESSBENCH: "processbench", PRM800K: "prm800k"}


def parse_map(text: str | None) -> dict[str, str]:
    """`neutral=irrelevant, negative=incorrect`: source label = project label."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        source, sep, target = (x.strip() for x in part.partition("="))
        if not sep or not source or not target:
            raise InvalidInput(f"label mapping '{part.strip()}': write source_label=project_label, "
                               f"e.g. neutral=irrelevant")
        out[source] = target
    return out


def resolve(taxonomy: list[dict], used: Counter, declared: dict[str, str] | None = None) -> dict[str, str]:
    """source label -> project label for every source label in `used` (label -> steps)."""
    declared = declared or {}
    active = [i for i in taxonomy if not i.get("retired")]
    keys = {i["key"] for i in active}
    problems = [f"label mapping: '{s}' is not a label of any source ({', '.join(SOURCE_LABELS)})"
                for s in declared if s not in SOURCE_LABELS]
    problems += [f"label mapping {s}={t}: the project has no label '{t}' in use ({', '.join(sorted(keys))})"
                 for s, t in declared.items() if t not in keys]
    out: dict[str, str] = {}
    for source, steps in sorted(used.items()):
        rating, meaning = SOURCE_LABELS[source]
        if source in declared:
            out[source] = declared[source]
            continue
        if source in keys:
            out[source] = source
            continue
        same = sorted(i["key"] for i in active if i.get("rating") == rating)
        if len(same) == 1:
            out[source] = same[0]
            continue
        why = (f"and {len(same)} labels rated {rating:+d} ({', '.join(same)}): say which" if same
               else f"nor any label rated {rating:+d}")
        problems.append(f"label '{source}' ({meaning}) on {steps:,} steps: the project has no label '{source}' "
                        f"{why} with a label mapping such as {source}={(same or sorted(keys))[0]}, "
                        f"or add the label in the project's settings")
    if problems:
        raise InvalidInput("the file's labels do not fit the project's labels; nothing was imported",
                           details=problems)
    return out


def map_records(records: list[DerivationIn], taxonomy: list[dict],
                declared: dict[str, str] | None = None) -> list[DerivationIn]:
    """The records with their source labels renamed to the project's (InvalidInput if one does not fit)."""
    used: Counter = Counter(label for r in records if r.labels for names in r.labels.values() for label in names)
    unknown = sorted(set(used) - set(SOURCE_LABELS))
    if unknown:  # a reader bug, not the user's: say so plainly
        raise InvalidInput(f"labels {', '.join(unknown)} come from no known source")
    if not used and not declared:
        return records
    mapping = resolve(taxonomy, used, declared)
    return [r.model_copy(update={"labels": {i: sorted({mapping[n] for n in names}) for i, names in r.labels.items()}})
            if r.labels else r for r in records]
