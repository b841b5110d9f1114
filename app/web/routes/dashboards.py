"""The dashboards page (reviewers and admins): five views on one set of filters."""

from fastapi import APIRouter, Request

from app.deps import SessionDep, StaffUser
from app.services import auth, dashboards, projects
from app.web.templating import render

router = APIRouter()


@router.get("/projects/{project_id}/dashboards")
def dashboards_page(request: Request, project_id: int, session: SessionDep, user: StaffUser,
                    model: str | None = None, perturbation: str | None = None, annotator: str | None = None,
                    since: str | None = None, until: str | None = None):
    filters = dashboards.parse_filters(session, project_id=project_id, model=model, perturbation=perturbation,
                                       annotator=annotator, since=since, until=until)
    board = dashboards.compute(session, filters)
    return render(request, "pages/dashboards.html", {
        "d": board, "project": board.project, "f": filters,
        "models": projects.models_of(session, project_id), "annotators": auth.all_users(session),
        "perturbations": dashboards.PERTURBATIONS, "chart": chart_data(board),
    }, block="boards")


def chart_data(board: dashboards.Dashboards) -> dict:
    """What the charts draw (the tables beside them show the same numbers)."""
    labels = board.labels
    return {
        "errors": {"judged": sum(g.judged_steps for g in board.models),  # 0: the chart says "no data"
                   "models": [g.model for g in board.models],
                   "series": [{"label": item["name"],
                               "data": [round(100 * (g.step_rate(item["key"]).value or 0), 3) for g in board.models]}
                              for item in labels]},
        "effects": {"rows": [f"{g.model}" for g in board.models],
                    "columns": [p for p in dashboards.PERTURBATIONS if p != "static"],
                    "keys": [k for k, _ in board.effect_keys],
                    "names": [n for _, n in board.effect_keys],
                    "delta": {g.model: {p: {k: board.delta(g.model, p, k) for k, _ in board.effect_keys}
                                        for p in dashboards.PERTURBATIONS if p != "static"} for g in board.models}},
        "points": [{"model": p["model"], "x": p["rouge2"], "y": p["errors"], "id": p["derivation_id"]}
                   for p in board.points],
        "checker": {"labels": [row["label"] for row in board.checker],  # in percent, as the axis says
                    "precision": [None if row["precision"].value is None else round(100 * row["precision"].value, 3)
                                  for row in board.checker],
                    "recall": [None if row["recall"].value is None else round(100 * row["recall"].value, 3)
                               for row in board.checker]},
        "throughput": {"days": [str(r["day"]) for r in board.throughput], "n": [r["judgements"] for r in board.throughput]},
    }
