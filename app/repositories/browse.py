"""The data page's queries: a project's derivations filtered, sorted and paged, composed with
SQLAlchemy Core from the filters given (app.services.browse checks them first), the facet
counts beside each filter, and the columns of the rows on one page.

Human labels are read from the dashboards' per-derivation rollups (final labels where a
reviewer settled, else the submitted ones; refreshed before a read), so "humans marked X" and
"SymPy says X where humans do not" mean what they mean on the dashboards.

The list and its counts are read from the rollup's one row per derivation (project, model,
perturbation, steps, agreement, metrics), joined to other tables only where a filter or the
sort needs them: at 100,000 derivations the joins to derivations, problems, models and projects
were most of a broad filter's 100+ ms. Callers refresh the rollups first."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Float, any_, case, column, exists, func, literal, select, table, union_all
from sqlalchemy.orm import Session

from app.models import (
    AutoCheck, Derivation, LLMModel, Prediction, Problem, Project, SampleItem, Step,
)

# the rollups are tables of their own (migration 0007), without ORM classes
rollup_labels = table("rollup_labels", column("derivation_id"), column("label"), column("steps"), column("fp"),
                      column("fn"))
rollup_derivations = table("rollup_derivations", column("derivation_id"), column("project_id"), column("model_id"),
                           column("perturbation"), column("steps"), column("submitted"), column("disputed"),
                           column("settled"), column("rouge2"), column("bleu"), column("gleu"),
                           column("human_labels"), column("fp_labels"), column("fn_labels"), column("sympy_labels"),
                           column("sympy_unknown"), column("annotators"))
_r = rollup_derivations

STATES = ("unannotated", "in progress", "agreed", "disputed", "settled")
METRICS = ("rouge2", "bleu", "gleu", "symbolic")
SORTS = ("id", "model", "perturbation", "problem", "steps", "annotations", *METRICS)


@dataclass
class Filters:
    project_id: int
    model_id: int | None = None
    perturbation: str | None = None
    state: str | None = None
    annotator_id: int | None = None
    human: str | None = None  # a label the humans gave some step
    sympy: str | None = None  # a label SymPy says "yes" to on some step ("unknown": SymPy could not tell)
    sympy_not_humans: str | None = None  # SymPy says the label where the humans do not
    humans_not_sympy: str | None = None
    source: str | None = None  # a pushed source's name: it said "yes" to `source_label` (or to any label)
    source_label: str | None = None
    q: str | None = None  # text in a step or the prompt
    in_sample: bool | None = None  # in the project's sample (True) or not (False)
    ids: list[int] | None = None
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # metric -> (min, max)


def state_expression(overlap=Project.overlap):
    """unannotated, in progress (fewer submitted than the project's overlap), agreed, disputed
    (two submitted annotations differ), settled (a reviewer decided): from the per-derivation
    rollup (migration 0017), the overlap as it is now."""
    submitted = func.coalesce(_r.c.submitted, 0)
    return case((_r.c.settled, "settled"), (submitted == 0, "unannotated"), (submitted < overlap, "in progress"),
                (_r.c.disputed, "disputed"), else_="agreed")


def _overlap(project_id: int):
    return select(Project.overlap).where(Project.id == project_id).scalar_subquery()


def _metric(name: str):
    """A metric as a sort key or a range's operand: the rollup's float column where it keeps one
    (sorting 91,667 rows by the JSON field spilled to disk: 80 ms at 100,000 derivations)."""
    if name in ("rouge2", "bleu", "gleu"):
        return getattr(_r.c, name)
    return Derivation.metrics[name].astext.cast(Float)  # the one the rollup does not keep (_listed joins it)


def _search(q: str, project_id: int):
    """Text anywhere in a step's LaTeX or the prompt, as typed (`\\int` finds `\\int`): ILIKE,
    which the trigram indexes of migration 0016 serve where pg_trgm is installed. One set of
    ids from both (an OR across the two tables made the planner join every derivation with
    every problem: 2.4 s at 100,000 derivations)."""
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    in_steps = select(Step.derivation_id).where(Step.latex.ilike(pattern, escape="\\"))
    d2, p2 = Derivation.__table__.alias("d2"), Problem.__table__.alias("p2")
    in_prompts = (select(d2.c.id).join(p2, p2.c.id == d2.c.problem_id)
                  .where(p2.c.project_id == project_id, p2.c.prompt.ilike(pattern, escape="\\")))
    return _r.c.derivation_id.in_(union_all(in_steps, in_prompts))


def conditions(f: Filters, *, leave_out: str | None = None) -> list:
    """The WHERE of a filter set (leave_out: one filter left out, for its facet's counts)."""
    where = [_r.c.project_id == f.project_id]
    if f.model_id is not None and leave_out != "model":
        where.append(_r.c.model_id == f.model_id)
    if f.perturbation and leave_out != "perturbation":
        where.append(_r.c.perturbation == str(getattr(f.perturbation, "value", f.perturbation)))
    if f.state and leave_out != "state":
        where.append(state_expression(_overlap(f.project_id)) == f.state)
    # labels, SymPy's verdicts and annotators: kept on the rollup's row (migration 0019)
    if f.annotator_id is not None:
        where.append(literal(f.annotator_id) == any_(_r.c.annotators))
    for label, kept in ((f.human, _r.c.human_labels), (f.sympy_not_humans, _r.c.fp_labels),
                        (f.humans_not_sympy, _r.c.fn_labels)):
        if label:
            where.append(literal(label) == any_(kept))
    if f.sympy == "unknown":
        where.append(_r.c.sympy_unknown)
    elif f.sympy:
        where.append(literal(f.sympy) == any_(_r.c.sympy_labels))
    if f.source:
        said = [Prediction.derivation_id == _r.c.derivation_id, Prediction.source == f.source, Prediction.verdict == "yes"]
        if f.source_label:
            said.append(Prediction.label == f.source_label)
        where.append(exists().where(*said))
    if f.q:
        where.append(_search(f.q, f.project_id))
    if f.in_sample is not None:
        sampled = exists().where(SampleItem.project_id == _r.c.project_id, SampleItem.derivation_id == _r.c.derivation_id)
        where.append(sampled if f.in_sample else ~sampled)
    if f.ids is not None:
        where.append(_r.c.derivation_id.in_(f.ids))
    for name, (low, high) in f.ranges.items():
        if low is not None:
            where.append(_metric(name) >= low)
        if high is not None:
            where.append(_metric(name) <= high)
    return where


def _from():
    """The derivation with everything a page's columns show (one page's rows, by id)."""
    return (select().select_from(Derivation).join(Problem, Problem.id == Derivation.problem_id)
            .join(LLMModel, LLMModel.id == Derivation.model_id).join(Project, Project.id == Derivation.project_id)
            .outerjoin(_r, _r.c.derivation_id == Derivation.id))


def _listed(f: Filters, sort: str | None = None):
    """The rollup's rows, joined to what the sort or a filter reads beyond it (the other
    filters correlate with the rollup's derivation_id)."""
    q = select().select_from(_r)
    if sort == "model":
        q = q.join(LLMModel, LLMModel.id == _r.c.model_id)
    if sort in ("problem", "symbolic") or "symbolic" in f.ranges:
        q = q.join(Derivation, Derivation.id == _r.c.derivation_id)
    if sort == "problem":
        q = q.join(Problem, Problem.id == Derivation.problem_id)
    return q


def _sort_key(sort: str):
    return {"id": _r.c.derivation_id, "model": LLMModel.name, "perturbation": _r.c.perturbation,
            "problem": Problem.key, "steps": _r.c.steps, "annotations": _r.c.submitted,
            **{m: _metric(m) for m in METRICS}}[sort]


def page(session: Session, f: Filters, *, sort: str, descending: bool, limit: int, offset: int) -> tuple[list[int], int]:
    """The ids of one page, in order, and how many derivations match."""
    where = conditions(f)
    key = _sort_key(sort)
    # as the sort indexes of migration 0019 hold them: ties by id in the same direction; a
    # missing metric last both ways (the other sort keys are never missing)
    if sort in METRICS:
        order = [key.desc().nulls_last() if descending else key.asc().nulls_last()]
    else:
        order = [key.desc() if descending else key.asc()]
    order.append(_r.c.derivation_id.desc() if descending else _r.c.derivation_id.asc())
    ids = list(session.scalars(_listed(f, sort).add_columns(_r.c.derivation_id).where(*where).order_by(*order)
                               .limit(limit).offset(offset)))
    total = session.scalar(_listed(f).add_columns(func.count()).where(*where))
    return ids, total


def all_ids(session: Session, f: Filters, limit: int) -> list[int]:
    """Every matching id (a bulk action over "everything the filter matches"), up to `limit`."""
    return list(session.scalars(_listed(f).add_columns(_r.c.derivation_id).where(*conditions(f))
                                .order_by(_r.c.derivation_id).limit(limit)))


def facets(session: Session, f: Filters) -> dict[str, dict[str, int]]:
    """Beside each filter, how many derivations each of its choices would leave, the other
    filters applied."""
    out: dict[str, dict[str, int]] = {}
    names = dict(session.execute(select(LLMModel.id, LLMModel.name)).all())
    for name, key in (("model", _r.c.model_id), ("perturbation", _r.c.perturbation),
                      ("state", state_expression(_overlap(f.project_id)))):
        grouped = _listed(f).add_columns(key.label("k"), func.count()).where(*conditions(f, leave_out=name)).group_by(key)
        out[name] = {str(names[k] if name == "model" else k): n for k, n in session.execute(grouped)}
    return out


def rows(session: Session, ids: list[int]) -> list[dict]:
    """The columns of the given derivations (one page), in the order given."""
    if not ids:
        return []
    base = session.execute(
        _from().add_columns(Derivation.id, Problem.key.label("problem"), Problem.perturbation,
                            LLMModel.name.label("model"), Derivation.metrics, func.coalesce(_r.c.steps, 0).label("steps"),
                            func.coalesce(_r.c.submitted, 0).label("annotations"), state_expression().label("state"),
                            Project.overlap)
        .where(Derivation.id.in_(ids))).mappings().all()
    by_id = {r["id"]: dict(r, human={}, sympy={}, sources={}) for r in base}
    for d_id, label, n in session.execute(select(rollup_labels.c.derivation_id, rollup_labels.c.label,
                                                 rollup_labels.c.steps)
                                          .where(rollup_labels.c.derivation_id.in_(ids), rollup_labels.c.steps > 0)):
        by_id[d_id]["human"][label] = n
    for d_id, label, verdict, n in session.execute(
            select(AutoCheck.derivation_id, AutoCheck.label, AutoCheck.verdict, func.count())
            .where(AutoCheck.derivation_id.in_(ids), AutoCheck.verdict != "no")
            .group_by(AutoCheck.derivation_id, AutoCheck.label, AutoCheck.verdict)):
        key = "unknown" if verdict == "unknown" else label
        by_id[d_id]["sympy"][key] = by_id[d_id]["sympy"].get(key, 0) + n
    for d_id, source, n in session.execute(
            select(Prediction.derivation_id, Prediction.source, func.count())
            .where(Prediction.derivation_id.in_(ids), Prediction.verdict == "yes")
            .group_by(Prediction.derivation_id, Prediction.source)):
        by_id[d_id]["sources"][source] = n
    return [by_id[i] for i in ids if i in by_id]


def sources(session: Session, project_id: int) -> list[str]:
    return list(session.scalars(select(Prediction.source).join(Derivation, Derivation.id == Prediction.derivation_id)
                                .where(Derivation.project_id == project_id).distinct().order_by(Prediction.source)))

