from fastapi import APIRouter, Request

from app.deps import CurrentUser, SessionDep
from app.repositories import projects as projects_repo
from app.web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, session: SessionDep, user: CurrentUser):
    projects = projects_repo.list_with_progress(session, user.id)
    return render(request, "pages/home.html", {"projects": projects})
