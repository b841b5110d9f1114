"""Fresh problems from the symbolic engine, stored with their reference steps
(annotatable once a model answers them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sympy
from sqlalchemy.orm import Session

from app.math.engine import generate, prompt_text, reference_text
from app.math.prompt import parse_prompt
from app.repositories import imports as imports_repo
from app.repositories import projects as projects_repo


def _srepr_steps(problem) -> list:
    # the paper's format: [operation, srepr] per step (arguments left out)
    return [[step.operation, sympy.srepr(step.equation)] for step in problem.steps]


@dataclass
class Generated:
    added: int  # problems new to the project
    written: int  # problems with their variants
    ids: list[int]  # every stored problem (new or already there), in order


def generate_problems(session: Session, *, project_name: str, count: int, seed: int,
                      perturbations: tuple[str, ...]) -> Generated:
    """Store `count` engine problems and their perturbed variants."""
    project, _ = projects_repo.get_or_create(session, project_name.strip())
    rows = []
    for n, family in enumerate(generate(count, seed, perturbations), start=1):
        static_prompt = prompt_text(family[0])
        key = f"engine-{seed}-{n}-" + hashlib.sha256(static_prompt.encode()).hexdigest()[:8]
        for problem in family:
            prompt = prompt_text(problem)
            parsed = parse_prompt(prompt)
            rows.append({
                "project_id": project.id, "key": key, "perturbation": problem.variant, "prompt": prompt,
                "premises": parsed.premises, "intermediates": parsed.intermediates, "goal": parsed.goal,
                "reference": reference_text(problem), "reference_srepr": _srepr_steps(problem),
            })
    ids, added = imports_repo.upsert_problems(session, rows)
    imports_repo.link_parents(session, project.id)
    return Generated(added, len(rows), [ids[(r["key"], r["perturbation"])] for r in rows])
