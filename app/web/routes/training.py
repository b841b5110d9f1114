"""Training exports over HTTP (the same as `derivlab training`): one file per kind and
format, and the dataset card. Reviewers and admins."""

from fastapi import APIRouter, Request

from app.deps import SessionDep, StaffUser
from app.web import training_files

router = APIRouter()


@router.get("/projects/{project_id}/training/{name}")
def training_file(request: Request, project_id: int, name: str, session: SessionDep, user: StaffUser,
                  model: str | None = None, perturbation: str | None = None, final_only: bool = False,
                  ratings: str | None = None):
    """`step-rewards.jsonl`, `preference-pairs.parquet`, ... or `README.md` (the dataset card;
    kind=... says which export it describes)."""
    return training_files.respond(request, session, project_id, name, model, perturbation, final_only, ratings)
