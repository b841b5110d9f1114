"""Data in and out: import, export, training files; SymPy's checks, parse statistics, engine problems."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import psycopg
import typer
from sqlalchemy.exc import DBAPIError

from app.config import get_settings
from app.errors import DomainError, NotFound, from_database

from app.cli.base import cli, math_cli, problems_cli, _sessions, _fail


@cli.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    project: Annotated[str, typer.Option(help="Project name; created when new.")],
    format: Annotated[Optional[str], typer.Option(
        help="paper-json, jsonl, csv, processbench, prm800k or lm-eval (default: from the file's name and "
             "first record).")] = None,
    model: Annotated[Optional[str], typer.Option(
        help="The model's name, for lm-evaluation-harness samples (their records do not say).")] = None,
    split: Annotated[str, typer.Option(
        help="How a derivation's text is cut into steps: and (' and ', the paper's), newline, blank-line, "
             "backslash (\\\\), numbered ('Step 1:'). Records with a 'steps' list keep theirs.")] = "and",
    results: Annotated[Optional[Path], typer.Option(
        help="lm-evaluation-harness: the run's results_*.json, which names the model and its settings.")] = None,
    labels: Annotated[Optional[str], typer.Option(
        help="ProcessBench/PRM800K: the source's labels onto the project's where they differ, e.g. "
             "'neutral=irrelevant' (default: the label of the same name, else the one of the same rating).")] = None,
) -> None:
    """Import derivations (the paper's *_results.json, JSONL or CSV). All or nothing."""
    from app.db import transaction
    from app.services.file_formats import read_records
    from app.services.importing import check_size, file_hash, import_records
    from app.services.labelled_formats import lm_eval_results
    from app.services.source_labels import parse_map

    try:
        check_size(file.name, file.stat().st_size, get_settings().import_max_mb)
    except DomainError as exc:
        _fail(exc.message)
    data = file.read_bytes()
    sessions = _sessions()
    try:
        label_map = parse_map(labels) or None
        run = (results.name, results.read_bytes()) if results else None
        fmt, records = read_records(file.name, data, format, split, model, lm_eval_results(*run) if run else None)
        with typer.progressbar(length=len(records), label=f"importing {file.name}", file=sys.stderr) as bar:
            with transaction(sessions) as session:
                result = import_records(session, project_name=project, filename=file.name,
                                        sha256=file_hash(data, split, model, label_map, run[1] if run else None),
                                        fmt=fmt,
                                        records=records, progress=bar.update, label_map=label_map)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    except DBAPIError as exc:  # rolled back: nothing of the file was written
        _fail(from_database(exc).message)
    if result.already_imported:
        typer.echo(f"{file.name} was already imported into '{result.project}': 0 derivations added")
    else:
        typer.echo(f"{result.added} derivations added to '{result.project}' "
                   f"({result.records} read, {result.problems_added} new problems); their text metrics and SymPy "
                   "checks are queued for the workers (make run starts them; or: derivlab worker --exit-when-idle)")


@cli.command()
def training(
    project: Annotated[str, typer.Option(help="Project name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write into (made if missing).")],
    kind: Annotated[str, typer.Option(help="step-rewards, stepwise, preference-pairs, corrections, or all")] = "all",
    fmt: Annotated[str, typer.Option("--format", help="jsonl or parquet")] = "jsonl",
    model: Annotated[Optional[str], typer.Option(help="Only this model's derivations.")] = None,
    perturbation: Annotated[Optional[str], typer.Option(help="Only this perturbation (static, VR, EE, AG, SR).")] = None,
    final_only: Annotated[bool, typer.Option("--final-only", help="Only derivations a reviewer settled.")] = False,
    ratings: Annotated[Optional[str], typer.Option(
        help="Step ratings over the defaults, e.g. 'skipped=-1,redundant=0' (incorrect -1; irrelevant, "
             "redundant, skipped 0; no error +1).")] = None,
) -> None:
    """Training exports (step rewards, preference pairs, corrections) with a dataset card (README.md)."""
    from app.db import transaction
    from app.repositories import projects as projects_repo
    from app.services import training as training_service

    kinds = training_service.KINDS if kind == "all" else (kind,)
    if fmt not in training_service.FORMATS:
        _fail(f"format '{fmt}': use jsonl or parquet")
    try:
        with transaction(_sessions()) as session:
            found = projects_repo.get_by_name(session, project.strip())
            if found is None:
                raise NotFound(f"project '{project}' does not exist")
            mapping = training_service.parse_ratings(ratings)
            built = [training_service.build(session, project_id=found.id, kind=k, model=model,
                                            perturbation=perturbation, final_only=final_only, ratings=mapping)
                     for k in kinds]
    except DomainError as exc:
        _fail(exc.message, exc.details)
    for line in training_service.write_folder(built, project.strip(), output, fmt):
        typer.echo(line, err=True)


@cli.command()
def export(
    project: Annotated[str, typer.Option(help="Project name.")],
    level: Annotated[str, typer.Option(help="step, derivation, events (the label history) or jsonl (everything)")] = "step",
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write ('-' for stdout).")] = Path("-"),
    spreadsheet_safe: Annotated[bool, typer.Option(
        "--spreadsheet-safe", help="Prefix text a spreadsheet would run as a formula (= + - @) with '. "
                                   "Off by default: exports hold the stored text exactly.")] = False,
) -> None:
    """Export a project's labels as CSV, streamed from the database (lossless)."""
    from app.db import transaction
    from app.services import exporting

    from app.repositories.dashboards import Filters

    sessions = _sessions()
    try:
        with transaction(sessions) as session:
            project_id, labels, _ = exporting.check_export(session, project_name=project,
                                                           level="step" if level == "jsonl" else level)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    chunks = (exporting.stream_jsonl(sessions, filters=Filters(project_id)) if level == "jsonl"
              else exporting.stream_csv(sessions, project_id=project_id, labels=labels, level=level,
                                        safe=spreadsheet_safe))
    # A file is written beside its name and renamed when complete: a failed export leaves
    # no half-written file behind.
    partial = output.with_name(output.name + ".partial")
    out = sys.stdout if str(output) == "-" else partial.open("w", encoding="utf-8", newline="")
    try:
        for chunk in chunks:
            out.write(chunk)
    except (DBAPIError, psycopg.Error) as exc:
        if out is not sys.stdout:
            out.close()
            partial.unlink(missing_ok=True)
        _fail(f"export stopped: {from_database(exc).message}")
    if out is not sys.stdout:
        out.close()
        partial.replace(output)
        typer.echo(f"wrote {output}", err=True)


@math_cli.command("stats")
def math_stats(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="The paper's *_results.json files.")],
    show_failures: Annotated[bool, typer.Option("--failures", help="List what did not parse.")] = False,
) -> None:
    """Parse rate of every model's equations and faithful rate of the reference equations."""
    from app.math.parse_stats import file_stats

    for path in files:
        stats = file_stats(path)
        typer.echo(f"{path.name}")
        for model, rate in sorted(stats.parsed.items()):
            typer.echo(f"  {model:24s} parsed   {100 * rate.share:6.2f}%  ({rate.ok}/{rate.total} equations)")
            if show_failures:
                for failure in rate.failures:
                    typer.echo(f"      {failure}")
        rate = stats.faithful
        typer.echo(f"  {'references':24s} faithful {100 * rate.share:6.2f}%  ({rate.ok}/{rate.total} equations)")
        if show_failures:
            for failure in rate.failures:
                typer.echo(f"      {failure}")


@cli.command()
def check(
    project: Annotated[Optional[str], typer.Option(help="Check every derivation of this project and store the suggestions.")] = None,
    mutants: Annotated[Optional[int], typer.Option(help="Instead: score the checker on this many engine mutants.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --mutants.")] = 0,
) -> None:
    """SymPy pre-annotation: suggested labels per step (stored), or the checker's precision/recall on mutants."""
    if (project is None) == (mutants is None):
        _fail("give either --project NAME or --mutants N")
    if mutants is not None:
        from app.math.evaluation import evaluate

        with typer.progressbar(length=mutants, label="checking mutants", file=sys.stderr) as bar:
            report = evaluate(mutants, seed, progress=bar.update)
        typer.echo(f"{mutants} mutants (seed {seed}); the checker's 'yes' against the known labels:")
        typer.echo(f"  {'label':14s} {'precision':>9s} {'recall':>7s} {'tp':>5s} {'fp':>5s} {'fn':>5s} {'unknown':>8s}")
        for label, score in report.scores.items():
            p = "-" if score.precision is None else f"{100 * score.precision:.1f}%"
            r = "-" if score.recall is None else f"{100 * score.recall:.1f}%"
            typer.echo(f"  {label:14s} {p:>9s} {r:>7s} {score.tp:5d} {score.fp:5d} {score.fn:5d} {score.unknown:8d}")
        typer.echo(f"  false 'incorrect' on unmutated references: {report.false_incorrect_on_references} "
                   f"of {report.references}; timeouts: {report.timeouts}; checker errors: {len(report.errors)}")
        xs = sorted(report.seconds)
        if xs:
            typer.echo(f"  seconds per derivation: p50 {xs[len(xs) // 2]:.2f}, p95 {xs[int(0.95 * (len(xs) - 1))]:.2f}")
        return
    from app.services.checking import check_project

    sessions = _sessions()
    try:
        with typer.progressbar(length=1, label=f"checking {project}", file=sys.stderr) as bar:
            def total(n):
                bar.length = n
            def waiting(why: str, seconds: float) -> None:
                typer.echo(f"\nPostgreSQL cannot be reached ({why}); trying again in {seconds:g} s", err=True)
            stats = check_project(sessions, project_name=project, progress=bar.update, total=total, waiting=waiting)
    except DomainError as exc:
        _fail(exc.message, exc.details)
    typer.echo(f"checked {stats.derivations} derivations of '{project}': p50 {stats.percentile(0.5):.2f} s, "
               f"p95 {stats.percentile(0.95):.2f} s per derivation, {stats.timeouts} out of time")


@problems_cli.command("generate")
def problems_generate(
    project: Annotated[str, typer.Option(help="Project name; created when new.")],
    count: Annotated[int, typer.Option(help="How many problems.")] = 100,
    seed: Annotated[int, typer.Option(help="The same seed gives the same problems.")] = 0,
    perturb: Annotated[str, typer.Option(help="Perturbations to add: any of VR,EE,AG,SR (empty for none).")] = "VR,EE,AG,SR",
) -> None:
    """Generate problems the way the paper did and store them with their reference derivations."""
    from app.db import transaction
    from app.services.problems import generate_problems

    chosen = tuple(p.strip() for p in perturb.split(",") if p.strip())
    unknown = [p for p in chosen if p not in ("VR", "EE", "AG", "SR")]
    if unknown or count < 1:
        _fail(f"--perturb: unknown {', '.join(unknown)} (use VR, EE, AG, SR)" if unknown else "--count must be at least 1")
    with transaction(_sessions()) as session:
        made = generate_problems(session, project_name=project, count=count, seed=seed, perturbations=chosen)
    added, written = made.added, made.written
    typer.echo(f"{added} new problems stored in '{project}' ({count} drawn with seed {seed}, {written} with their variants)")
