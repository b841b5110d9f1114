"""A project's settings page (admins): overlap, blind mode, annotators, sample."""

from fastapi import APIRouter, Form, Request

from app.deps import AdminUser, SessionDep
from app.errors import InvalidInput
from app.services import gold, project_settings, taxonomy
from app.web.templating import render

router = APIRouter()


def _page(request, session, project_id: int, message: str | None = None):
    return render(request, "pages/settings.html",
                  {"view": project_settings.view(session, project_id=project_id), "message": message,
                   "strategies": project_settings.STRATEGY_TEXT, "presets": taxonomy.PRESETS,
                   "gold_items": gold.item_count(session, project_id)},
                  block="settings")


@router.get("/projects/{project_id}/settings")
def settings_page(request: Request, project_id: int, session: SessionDep, user: AdminUser, saved: str | None = None):
    return _page(request, session, project_id, "Name and description saved." if saved == "project" else None)


@router.post("/projects/{project_id}/settings")
def save_settings(request: Request, project_id: int, session: SessionDep, user: AdminUser,
                  overlap: int = Form(...), blind: str = Form(""), members: list[int] = Form([]),
                  guidelines: str | None = Form(None), queue_strategy: str | None = Form(None)):
    project_settings.update(session, project_id=project_id, overlap=overlap, blind=blind == "on",
                            member_ids=set(members), guidelines=guidelines, queue_strategy=queue_strategy)
    return _page(request, session, project_id, "Settings saved.")


@router.post("/projects/{project_id}/sample")
def draw_sample(request: Request, project_id: int, session: SessionDep, user: AdminUser,
                per_model: int = Form(...), seed: int = Form(0)):
    size = project_settings.draw_sample(session, project_id=project_id, per_model=per_model, seed=seed)
    return _page(request, session, project_id, f"The queue now serves a sample of {size} derivations.")


@router.post("/projects/{project_id}/sample/clear")
def clear_sample(request: Request, project_id: int, session: SessionDep, user: AdminUser):
    project_settings.clear_sample(session, project_id=project_id)
    return _page(request, session, project_id, "Sample cleared: the queue serves every derivation.")


@router.post("/projects/{project_id}/taxonomy")
async def save_taxonomy(request: Request, project_id: int, session: SessionDep, user: AdminUser):
    """The labels table: one row per label (order, key, name, help, rating, retired), in any order."""
    form = await request.form()
    columns = {name: form.getlist(name) for name in ("order", "key", "name", "help", "rating", "retired")}
    count = len(columns["key"])
    if any(len(values) != count for values in columns.values()):
        raise InvalidInput("the labels form is incomplete: every row needs order, key, name, help, rating and retired")
    rows = [{name: columns[name][i] for name in columns} for i in range(count)]

    def position(row):
        return int(row["order"]) if str(row["order"]).strip().isdigit() else 99

    rows.sort(key=position)  # stable: equal numbers keep the table's order
    taxonomy.update(session, project_id=project_id, rows=rows)
    return _page(request, session, project_id, "Labels saved.")


@router.post("/projects/{project_id}/taxonomy/preset")
def use_preset(request: Request, project_id: int, session: SessionDep, user: AdminUser, preset: str = Form(...)):
    taxonomy.apply_preset(session, project_id=project_id, preset=preset)
    return _page(request, session, project_id, f"Labels set from the preset '{preset}'.")


@router.post("/projects/{project_id}/gold")
def save_gold(request: Request, project_id: int, session: SessionDep, user: AdminUser,
              rate: int = Form(0), onboarding: int = Form(0)):
    gold.set_rates(session, project_id=project_id, rate=rate, onboarding=onboarding)
    return _page(request, session, project_id, "Gold settings saved.")


@router.post("/projects/{project_id}/gold/items")
def make_gold(request: Request, project_id: int, session: SessionDep, user: AdminUser,
              count: int = Form(20), seed: int = Form(0)):
    added = gold.make(session, project_id=project_id, count=count, seed=seed)
    return _page(request, session, project_id, f"{added} gold items made.")
