"""Import a file of derivations into a project: read and check everything first,
then write it all in the caller's transaction (all or nothing)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from sqlalchemy.orm import Session

from app import jobs
from app.errors import InvalidInput, TooLarge
from app.math.latex import split_steps
from app.math.prompt import parse_prompt
from app.repositories import derivations as derivations_repo
from app.repositories import imports as imports_repo
from app.models import DEFAULT_TAXONOMY, Role
from app.repositories import projects as projects_repo
from app.repositories import users as users_repo
from app.schemas.importing import DerivationIn, ImportResult
from app.services.auth import hash_password
from app.services import labelled_formats, source_labels, taxonomy
from app.services.file_formats import read_records

BATCH = 5000  # records written per round (COPY: the size only paces the progress bar)


def check_size(filename: str, size: int, limit_mb: int) -> None:
    """The import size limit (IMPORT_MAX_MB), for the upload page and the CLI alike."""
    if size > limit_mb * 2**20:
        raise TooLarge(f"{filename}: larger than {limit_mb} MB, the import limit (IMPORT_MAX_MB); nothing was "
                       "imported. Split the file, or raise the limit.")
Progress = Callable[[int], None]  # called with the number of records just written


def content_hash(rec: DerivationIn) -> str:
    parts = (rec.problem_id, rec.perturbation.value, rec.model, rec.derivation)
    # steps cut otherwise than the paper's ' and ' are part of what was imported (the same
    # text split by another rule is another derivation to annotate); the default keeps the
    # hashes earlier imports have
    if rec.steps is not None and rec.steps != split_steps(rec.derivation):
        parts += ("\x1e".join(rec.steps),)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _problem_row(project_id: int, rec: DerivationIn) -> dict:
    parsed = parse_prompt(rec.prompt)
    return {
        "project_id": project_id,
        "key": rec.problem_id,
        "perturbation": rec.perturbation.value,
        "prompt": rec.prompt,
        "premises": parsed.premises,
        "intermediates": parsed.intermediates,
        "goal": parsed.goal,
        "reference": rec.reference,
        "reference_srepr": rec.reference_srepr,
    }


def import_file(
    session: Session,
    *,
    project_name: str,
    filename: str,
    data: bytes,
    user_id: int | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
    split: str | None = None,
    model: str | None = None,
    label_map: dict[str, str] | None = None,
    results: tuple[str, bytes] | None = None,
) -> ImportResult:
    """`split`: how a derivation's text is cut into steps (app.services.step_split; records
    that carry a `steps` list keep theirs); `model`: the model's name for lm-eval samples;
    `label_map`: the source's labels -> the project's (app.services.source_labels);
    `results`: (name, bytes) of the lm-eval run's results_*.json, which names the model."""
    run = labelled_formats.lm_eval_results(*results) if results else None
    fmt, records = read_records(filename, data, fmt, split, model, run)  # raises InvalidInput before any write
    sha256 = file_hash(data, split, model, label_map, results[1] if results else None)
    return import_records(
        session, project_name=project_name, filename=filename, sha256=sha256,
        fmt=fmt, records=records, user_id=user_id, progress=progress, label_map=label_map,
    )


def _source_labels(session: Session, labelled: list[tuple[int, DerivationIn]]) -> None:
    """Labels the file held (ProcessBench, PRM800K) as submitted annotations by an annotator
    named after the source, made when first needed (a random password: nobody logs in as it)."""
    by_source: dict[str, list] = {}
    for derivation_id, rec in labelled:
        by_source.setdefault(rec.labeler, []).append(
            (derivation_id, rec.goal_reached, rec.labels, rec.unlabelled or []))
    for source, items in by_source.items():
        user = users_repo.get_by_username(session, source)
        if user is None:
            user = users_repo.add(session, username=source, password_hash=hash_password(secrets.token_urlsafe(32)),
                                  role=Role.annotator)
        imports_repo.insert_source_labels(session, user.id, items)


def file_hash(data: bytes, split: str | None, model: str | None = None,
              label_map: dict[str, str] | None = None, results: bytes | None = None) -> str:
    """The import batch's identity: the file, and the split rule, model name, label mapping and
    results file when given."""
    digest = hashlib.sha256(data)
    if results:
        digest.update(b"\x00results=" + hashlib.sha256(results).digest())
    if split and split != "and":
        digest.update(f"\x00split={split}".encode())
    if model:
        digest.update(f"\x00model={model}".encode())
    if label_map:
        digest.update(f"\x00labels={sorted(label_map.items())}".encode())
    return digest.hexdigest()


def prompt_clashes(session: Session, project_id: int, records: list[DerivationIn]) -> set[tuple[str, str]]:
    """(problem id, perturbation) of the records that give a problem the project has another prompt."""
    stored = derivations_repo.stored_prompts(session, project_id,
                                             sorted({(r.problem_id, r.perturbation.value) for r in records}))
    return {key for r in records if (key := (r.problem_id, r.perturbation.value)) in stored
            and _problem_of(stored[key]) != _problem_of(r.prompt)}


def _problem_of(prompt: str) -> tuple:
    """What a prompt asks: its premises, intermediates and goal where it has that form (the
    paper's GPT files wrap the same problem in a few-shot prompt, FLAN-T5's give it bare), else
    the whole text."""
    parsed = parse_prompt(prompt)
    if parsed.goal:
        return tuple(parsed.premises), tuple(parsed.intermediates), parsed.goal
    return (prompt,)


def _same_prompts(session: Session, project_id: int, records: list[DerivationIn]) -> None:
    """A problem the project has keeps its prompt: a record that says otherwise is refused,
    never dropped in silence (its derivation would be filed under the other prompt)."""
    clashes = prompt_clashes(session, project_id, records)
    if clashes:
        raise InvalidInput(
            f"{len(clashes)} problem(s) of the file are in the project with another prompt; nothing was imported",
            details=[f"problem '{k}' ({p}): the prompt differs from the one stored; give it another problem id"
                     for k, p in sorted(clashes)][:20])


# Long because it is one transaction's steps in order (clashes, problems, derivations, steps,
# labels, checks queued), each using the ids the one before wrote; split, the order would
# live in the caller.
def import_records(
    session: Session,
    *,
    project_name: str,
    filename: str,
    sha256: str,
    fmt: str,
    records: list[DerivationIn],
    user_id: int | None = None,
    progress: Progress | None = None,
    label_map: dict[str, str] | None = None,
) -> ImportResult:
    """Write records already read and checked (read_records) from a file whose hash is sha256.
    A new project made by importing a labelled source starts from that source's preset."""
    existing = projects_repo.get_by_name(session, project_name.strip())
    preset = source_labels.PRESET_OF_FORMAT.get(fmt) if existing is None else None
    labels = (taxonomy.items(existing) if existing is not None
              else taxonomy.items_of(taxonomy.PRESETS[preset][1] if preset else DEFAULT_TAXONOMY))
    records = source_labels.map_records(records, labels, label_map)  # refuses a label the project lacks
    if existing is not None:
        _same_prompts(session, existing.id, records)
    project, created = projects_repo.get_or_create(session, project_name.strip())
    if created and preset:
        taxonomy.apply_preset(session, project_id=project.id, preset=preset)
    if imports_repo.find_batch(session, project.id, sha256):
        return ImportResult(
            project=project.name, format=fmt, records=len(records), added=0, problems_added=0, already_imported=True
        )
    batch = imports_repo.add_batch(
        session, project_id=project.id, filename=filename[:500], sha256=sha256, format=fmt, created_by_id=user_id
    )
    problems = {(r.problem_id, r.perturbation.value): _problem_row(project.id, r) for r in records}
    problem_ids, problems_added = imports_repo.upsert_problems(session, list(problems.values()))
    imports_repo.link_parents(session, project.id)
    model_ids = projects_repo.model_ids(session, {r.model for r in records})

    added = 0
    new_ids: list[int] = []
    seen: set[str] = set()
    by_digest: dict[str, DerivationIn] = {}
    labelled: list[tuple[int, DerivationIn]] = []  # new derivations whose file carried labels
    for start in range(0, len(records), BATCH):
        chunk = records[start : start + BATCH]
        rows, texts = [], {}
        for rec in chunk:
            digest = content_hash(rec)
            if digest in seen:  # the same derivation twice in one file
                continue
            seen.add(digest)
            by_digest[digest] = rec
            texts[digest] = rec.steps if rec.steps is not None else split_steps(rec.derivation)
            rows.append(
                {
                    "project_id": project.id,
                    "problem_id": problem_ids[(rec.problem_id, rec.perturbation.value)],
                    "model_id": model_ids[rec.model],
                    "raw_text": rec.derivation,
                    "source": "import",
                    "content_hash": digest,
                    "import_id": batch.id,
                    "metrics": rec.metrics,  # the authors' stored scores; ours follow in a metrics job
                    "source_record": rec.source_record,
                }
            )
        new = imports_repo.insert_derivations(session, rows)
        labelled += [(derivation_id, by_digest[digest]) for derivation_id, digest in new
                     if by_digest[digest].labels is not None and by_digest[digest].labeler]
        imports_repo.insert_steps(
            session,
            [
                {"derivation_id": derivation_id, "index": i, "latex": latex, "parse_status": "pending"}
                for derivation_id, digest in new
                for i, latex in enumerate(texts[digest], start=1)
            ],
        )
        added += len(new)
        new_ids += [derivation_id for derivation_id, _ in new]
        if progress:
            progress(len(chunk))
    _source_labels(session, labelled)
    batch.derivations_added = added
    jobs.enqueue_metrics(session, new_ids)  # ROUGE-2/BLEU/GLEU, then SymPy suggestions, made by a worker
    jobs.enqueue_checks(session, new_ids)
    session.flush()
    return ImportResult(
        project=project.name, format=fmt, records=len(records), added=added, problems_added=problems_added
    )
