from fastapi import APIRouter, Request

from app.deps import CurrentUser, SessionDep
from app.models import Role
from app.services import taxonomy
from app.services.projects import listing
from app.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, user: CurrentUser, deleted: str | None = None):
    only = user.id if user.role == Role.annotator else None  # annotators see the projects open to them
    projects = listing(session, user.id, only_open_to=only)
    return render(request, "pages/home.html", {"projects": projects, "deleted": deleted,
                                               "presets": taxonomy.PRESETS})


@router.get("/api/docs", include_in_schema=False)
def api_docs(request: Request):
    """The API reference (Swagger UI, vendored under static/: no CDN, the same CSP as every page)."""
    return render(request, "pages/api_docs.html")
