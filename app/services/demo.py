"""The demo a fresh install starts with: the paper's sample outputs when
../shared/data is there (read in place, never copied), else a small set of our own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from app.models import Role
from app.repositories import users as users_repo
from app.services.auth import create_user, generate_password
from app.services.importing import import_file

DEMO_PROJECT = "Demo: GPT-4, GPT-3.5 and FLAN-T5 (paper sample)"
OWN_DEMO_PROJECT = "Demo derivations"
OWN_DEMO_FILE = Path(__file__).resolve().parents[1] / "demo" / "demo.jsonl"
PAPER_FILES = ("paper_sample_gpt-4.json", "paper_sample_chatgpt.json", "paper_sample_flan-t5-large.json")


def demo_files(shared_data_dir: Path) -> tuple[str, list[Path]]:
    paper = [shared_data_dir / name for name in PAPER_FILES]
    if all(path.is_file() for path in paper):
        return DEMO_PROJECT, paper
    return OWN_DEMO_PROJECT, [OWN_DEMO_FILE]


def is_empty(session: Session) -> bool:
    return users_repo.count(session) == 0


def seed(session: Session, *, shared_data_dir: Path, say: Callable[[str], None] = print) -> dict[str, str]:
    """Import the demo derivations and create an admin, an annotator and a reviewer; return their passwords."""
    project, files = demo_files(shared_data_dir)
    for path in files:
        result = import_file(session, project_name=project, filename=path.name, data=path.read_bytes())
        say(f"imported {path.name}: {result.added} derivations into '{project}'")
    passwords = {}
    for username, role in (("admin", Role.admin), ("annotator", Role.annotator), ("reviewer", Role.reviewer)):
        if users_repo.get_by_username(session, username) is None:
            passwords[username] = generate_password()
            create_user(session, username=username, password=passwords[username], role=role)
    return passwords
