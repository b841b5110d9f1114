"""The data page: a project's derivations, filtered, sorted and paged (the URL is the view),
and bulk actions on a selection."""

from fastapi import APIRouter, Form, Request

from app.deps import SessionDep, StaffUser
from app.services import browse
from app.web.templating import render

router = APIRouter()


def _page(request: Request, session, project_id: int, params, message: str | None = None):
    view = browse.parse(session, project_id=project_id, params=params)
    page = browse.browse(session, view)
    base = f"/projects/{project_id}/data"
    here = view.url(base, page=view.page if view.page > 1 else None)
    # the address bar shows the view without the form's empty fields (a link worth sharing)
    return render(request, "pages/data.html", {"page": page, "view": view, "base": base, "message": message,
                                                "here": here}, block="data", headers={"HX-Push-Url": here})


@router.get("/projects/{project_id}/data")
def data_page(request: Request, project_id: int, session: SessionDep, user: StaffUser):
    return _page(request, session, project_id, request.query_params)


@router.post("/projects/{project_id}/data/recheck")
async def bulk_recheck(request: Request, project_id: int, session: SessionDep, user: StaffUser,
                       ids: list[int] = Form([])):
    """Re-check with SymPy the ticked derivations, or with none ticked every one the view matches
    (the view's parameters come with the form)."""
    form = await request.form()
    params = {k: form[k] for k in browse.PARAMS if k in form}
    view = browse.parse(session, project_id=project_id, params=params)
    chosen = browse.ids(session, view, chosen=ids or None)
    count = browse.recheck(session, chosen)
    what = "ticked" if ids else "matching"
    return _page(request, session, project_id, params,
                 f"Queued SymPy checks of {count} {what} derivation(s): their suggestions are replaced as the "
                 "workers finish them.")
