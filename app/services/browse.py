"""The data page (and the API's derivation list): find derivations by what they are and what
was said about them, and act on the selection. The query string is the view: every filter,
the sort and the page are parameters, so a view can be bookmarked, shared, and come back to
after opening a derivation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app import jobs
from app.errors import InvalidInput
from app.models import Perturbation
from app.repositories import annotations as annotations_repo
from app.repositories import browse as repo
from app.repositories import projects as projects_repo
from app.repositories import rollups
from app.repositories import users as users_repo
from app.services.projects import get_project

PAGE_SIZES = (25, 50, 100, 200)
MAX_BULK = 100_000  # derivations one bulk action takes ("everything the filter matches")
MAX_QUERY = 200  # characters of a text search
LABEL_FILTERS = ("human", "sympy", "sympy_not_humans", "humans_not_sympy", "source_label")
PARAMS = ("model", "perturbation", "state", "annotator", *LABEL_FILTERS, "source", "q", "sample",
          *(f"{m}_{end}" for m in repo.METRICS for end in ("min", "max")), "sort", "dir", "per_page", "page", "hide")
# The columns a reader may hide (`hide=model,bleu`: part of the view, so a shared link keeps
# them hidden); the id and the tick box always show.
COLUMNS = {"problem": "Problem", "model": "Model", "perturbation": "Perturbation", "steps": "Steps",
           "annotations": "Annotations", "agreement": "Agreement", "humans": "Humans marked",
           "sympy": "SymPy says", "sources": "Sources", **{m: m for m in repo.METRICS}}


@dataclass
class View:
    filters: repo.Filters
    params: dict[str, str]  # the view's query parameters as given (checked), for links and forms
    sort: str = "id"
    descending: bool = False
    per_page: int = 50
    page: int = 1

    @property
    def hidden(self) -> frozenset[str]:
        return frozenset(c for c in self.params.get("hide", "").split(",") if c)

    def toggle_url(self, base: str, column: str) -> str:
        """This view (same page) with one column hidden, or shown again."""
        hidden = self.hidden ^ {column}
        return self.url(base, page=self.page if self.page > 1 else None,
                        hide=",".join(c for c in COLUMNS if c in hidden) or None)

    def url(self, base: str, **changes) -> str:
        """This view with some parameters changed (None removes one); page 1 unless given."""
        params = {**self.params, "page": None, **{k: (None if v is None else str(v)) for k, v in changes.items()}}
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return base + ("?" + query if query else "")


@dataclass
class Page:
    view: View
    rows: list[dict]
    total: int
    facets: dict[str, dict[str, int]]
    labels: list[str]
    models: list[tuple[int, str]]
    annotators: list
    sources: list[str]
    project_name: str = ""
    states: tuple[str, ...] = repo.STATES
    metrics: tuple[str, ...] = repo.METRICS

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.view.per_page))

    # (value, words) of each filter's choices, for the page's drop-downs
    @property
    def model_options(self) -> list[tuple[str, str]]:
        return [(name, name) for _, name in self.models]

    @property
    def perturbation_options(self) -> list[tuple[str, str]]:
        return [(p.value, p.value) for p in Perturbation]

    @property
    def state_options(self) -> list[tuple[str, str]]:
        return [(s, s) for s in self.states]

    @property
    def annotator_options(self) -> list[tuple[str, str]]:
        return [(u.username, u.username) for u in self.annotators]

    @property
    def label_options(self) -> list[tuple[str, str]]:
        return [(k, k) for k in self.labels]

    @property
    def source_options(self) -> list[tuple[str, str]]:
        return [(s, s) for s in self.sources]

    @property
    def range_params(self) -> list[str]:
        return [f"{m}_{end}" for m in self.metrics for end in ("min", "max")]


def _number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name}: a number, not '{raw}'") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput(f"{name}: a finite number, not '{raw}'")
    return value


def _int(name: str, raw: str, low: int, high: int) -> int:
    if not raw.strip().lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name}: a whole number from {low} to {high}, not '{raw}'")
    return int(raw)


def parse(session: Session, *, project_id: int, params: Mapping[str, str]) -> View:
    """Check a view's parameters against the project (its models, labels, annotators): a clear
    message naming the parameter for anything else; unknown parameters are ignored."""
    project = get_project(session, project_id)
    given = {k: str(v).strip() for k, v in params.items() if k in PARAMS and v is not None and str(v).strip() != ""}
    f = repo.Filters(project_id=project_id)
    if "model" in given:
        names = {name: id_ for id_, name in projects_repo.models_of(session, project_id)}
        if given["model"] not in names:
            raise InvalidInput(f"model: '{given['model']}' has no derivation in this project",
                               details=[f"models: {', '.join(sorted(names)) or 'none'}"])
        f.model_id = names[given["model"]]
    if "perturbation" in given:
        if given["perturbation"] not in {p.value for p in Perturbation}:
            raise InvalidInput(f"perturbation: use one of {', '.join(p.value for p in Perturbation)}")
        f.perturbation = given["perturbation"]
    if "state" in given:
        if given["state"] not in repo.STATES:
            raise InvalidInput(f"state: use one of {', '.join(repo.STATES)}")
        f.state = given["state"]
    if "annotator" in given:
        users = {u.username: u.id for u in users_repo.list_all(session)}
        if given["annotator"] not in users:
            raise InvalidInput(f"annotator: there is no user '{given['annotator']}'")
        f.annotator_id = users[given["annotator"]]
    keys = project.label_keys
    for name in LABEL_FILTERS:
        if name in given:
            allowed = keys + (["unknown"] if name == "sympy" else [])
            if given[name] not in allowed:
                raise InvalidInput(f"{name}: '{given[name]}' is not one of this project's labels ({', '.join(allowed)})")
            setattr(f, name, given[name])
    if "source" in given:
        f.source = given["source"]
    if "sample" in given:
        if given["sample"] not in ("in", "out"):
            raise InvalidInput("sample: in or out")
        f.in_sample = given["sample"] == "in"
    if "q" in given:
        if len(given["q"]) > MAX_QUERY:
            raise InvalidInput(f"q: at most {MAX_QUERY} characters")
        f.q = given["q"]
    for metric in repo.METRICS:
        low, high = (given.get(f"{metric}_{end}") for end in ("min", "max"))
        if low is not None or high is not None:
            f.ranges[metric] = (None if low is None else _number(f"{metric}_min", low),
                                None if high is None else _number(f"{metric}_max", high))
    return _shown(View(filters=f, params=given), given)


def _shown(view: View, given: dict[str, str]) -> View:
    """How the view shows its rows: sort, direction, hidden columns, page size and page."""
    if "sort" in given:
        if given["sort"] not in repo.SORTS:
            raise InvalidInput(f"sort: use one of {', '.join(repo.SORTS)}")
        view.sort = given["sort"]
    if given.get("dir", "asc") not in ("asc", "desc"):
        raise InvalidInput("dir: asc or desc")
    view.descending = given.get("dir") == "desc"
    if "hide" in given:
        unknown = [c for c in given["hide"].split(",") if c and c not in COLUMNS]
        if unknown:
            raise InvalidInput(f"hide: no column '{unknown[0]}'", details=[f"columns: {', '.join(COLUMNS)}"])
    if "per_page" in given:
        view.per_page = _int("per_page", given["per_page"], 1, max(PAGE_SIZES))
    if "page" in given:
        view.page = _int("page", given["page"], 1, 1_000_000)
    return view


def browse(session: Session, view: View) -> Page:
    rollups.refresh(session)  # human labels as the dashboards count them, up to date
    pid = view.filters.project_id
    ids, total = repo.page(session, view.filters, sort=view.sort, descending=view.descending,
                           limit=view.per_page, offset=(view.page - 1) * view.per_page)
    project = get_project(session, pid)
    return Page(view=view, rows=repo.rows(session, ids), total=total, facets=repo.facets(session, view.filters),
                project_name=project.name, labels=project.label_keys, models=projects_repo.models_of(session, pid),
                annotators=users_repo.list_all(session), sources=repo.sources(session, pid))


def select_page(session: Session, view: View, *, limit: int, offset: int) -> tuple[list[int], int]:
    """The ids of one page of the view, and how many derivations it matches (the API's list)."""
    rollups.refresh(session)  # the list is read from the rollups: derivations, labels and agreement as of now
    return repo.page(session, view.filters, sort=view.sort, descending=view.descending, limit=limit, offset=offset)


def ids(session: Session, view: View, *, chosen: list[int] | None) -> list[int]:
    """A bulk action's derivations: the ticked ones (those of them the view matches), or, with
    none ticked, everything the view matches."""
    rollups.refresh(session)
    if chosen is not None:
        view.filters.ids = chosen
    found = repo.all_ids(session, view.filters, MAX_BULK + 1)
    if len(found) > MAX_BULK:
        raise InvalidInput(f"the filter matches more than {MAX_BULK:,} derivations: narrow it first")
    return found


def sample(session: Session, *, project_id: int, derivation_ids: list[int], add: bool) -> int:
    """Put the selection in the project's sample (the queue serves only the sample once there is
    one), or take it out; returns how many changed."""
    if add:
        return projects_repo.add_to_sample(session, project_id, derivation_ids)
    return projects_repo.remove_from_sample(session, project_id, derivation_ids)


def assign(session: Session, *, project_id: int, username: str, derivation_ids: list[int]) -> int:
    """Put the selection first in an annotator's queue (Next serves what they have in progress
    first); returns how many were new to them."""
    user = users_repo.get_by_username(session, (username or "").strip())
    if user is None or not user.active:
        raise InvalidInput(f"assign to: there is no active user '{username}'")
    if not projects_repo.is_open_to(session, project_id, user.id):
        raise InvalidInput(f"assign to: {user.username} is not one of this project's annotators (settings page)")
    return annotations_repo.assign_many(session, annotator_id=user.id, derivation_ids=derivation_ids)


def reset(session: Session, *, derivation_ids: list[int], actor_id: int, confirm: str) -> tuple[int, int]:
    """Remove every annotation and settlement of the selection (so the queue serves them again),
    each kept in the derivation's history as a 'reset' event; asked for by name (`confirm=reset`).
    Returns (annotations, settlements) removed."""
    if confirm != "reset":
        raise InvalidInput("reset: confirm it (confirm=reset): the selection's annotations and settlements are removed "
                           "(each is kept in the derivation's history)")
    removed = annotations_repo.reset(session, derivation_ids=derivation_ids, actor_id=actor_id)
    session.flush()
    return removed


def recheck(session: Session, derivation_ids: list[int]) -> int:
    """Queue SymPy checks of these derivations ahead of bulk imports' checks; returns how many."""
    jobs.enqueue_checks(session, derivation_ids, priority=jobs.QUICK)
    return len(derivation_ids)
