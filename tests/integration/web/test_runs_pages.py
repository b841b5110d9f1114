"""Generation runs in the browser's HTML: pages and htmx fragments, admins only."""

import re

from sqlalchemy import select

from app.models import GenerationRun, Job, JobState, Project, Role
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, htmx, login
from tests.factories import make_user


def _setup(db, role=Role.admin):
    path = PAPER_FILES["gpt-4"]
    import_file(db, project_name="paper", filename=path.name, data=path.read_bytes())
    user = make_user(db, role=role)
    return user, db.execute(select(Project.id)).scalar_one()


FORM = {"model": "/models/tiny", "backend": "hf-seq2seq", "name": "tiny", "perturbations": ["static", "EE"],
        "fresh": "0", "max_new_tokens": "64", "num_beams": "1", "temperature": "1.0", "top_p": "1.0", "seed": "3",
        "batch_size": "8"}


def test_an_admin_queues_a_run_from_the_form_and_watches_it(client, db):
    admin, project_id = _setup(db)
    token = login(client, admin.username)
    page = client.get(f"/projects/{project_id}/runs")
    assert page.status_code == 200 and "Queue the run" in page.text and "No runs yet" in page.text

    response = client.post(f"/projects/{project_id}/runs", data={**FORM, "csrf_token": token})
    assert response.status_code == 303
    run = db.scalars(select(GenerationRun)).one()
    assert response.headers["location"] == f"/runs/{run.id}"
    assert run.total == 20 and run.perturbations == ["static", "EE"] and run.decoding["seed"] == 3
    jobs = db.scalars(select(Job).where(Job.run_id == run.id)).all()
    assert [len(j.payload["problem_ids"]) for j in jobs] == [20]  # 4 batches of 8 > 20 problems: one job

    full = client.get(f"/runs/{run.id}")
    assert "<html" in full.text and "0</b> of 20 derivations" in full.text and "Waiting for a worker" in full.text
    fragment = client.get(f"/runs/{run.id}", headers=htmx(token))
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith('<section id="run-progress"')
    assert 'hx-trigger="every 2s"' in fragment.text  # polls while the run is queued or running
    listing = client.get(f"/projects/{project_id}/runs")
    assert f'href="/runs/{run.id}"' in listing.text and "0/20" in listing.text


def test_htmx_form_post_redirects_through_hx_redirect_and_errors_go_to_the_flash(client, db):
    admin, project_id = _setup(db)
    token = login(client, admin.username)
    response = client.post(f"/projects/{project_id}/runs", data=FORM, headers=htmx(token))
    assert response.status_code == 204 and re.fullmatch(r"/runs/\d+", response.headers["HX-Redirect"])
    bad = client.post(f"/projects/{project_id}/runs", data={**FORM, "backend": "magic", "batch_size": "0"},
                      headers=htmx(token))
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#flash"
    assert "unknown backend &#39;magic&#39;" in bad.text
    assert len(db.scalars(select(GenerationRun)).all()) == 1  # the bad one wrote nothing


def test_a_finished_run_stops_polling_and_failed_jobs_can_be_retried(client, db):
    admin, project_id = _setup(db)
    token = login(client, admin.username)
    client.post(f"/projects/{project_id}/runs", data={**FORM, "csrf_token": token})
    run = db.scalars(select(GenerationRun)).one()
    job = db.scalars(select(Job).where(Job.run_id == run.id)).one()
    job.state, job.attempts, job.error = JobState.failed, 3, "RuntimeError: CUDA out of memory"
    db.flush()
    page = client.get(f"/runs/{run.id}", headers=htmx(token))
    assert "hx-trigger" not in page.text and "failed" in page.text and "CUDA out of memory" in page.text
    assert "Retry 1 failed job(s)" in page.text
    retried = client.post(f"/runs/{run.id}/retry", headers=htmx(token))
    assert retried.status_code == 200 and 'hx-trigger="every 2s"' in retried.text
    db.refresh(job)
    assert job.state == JobState.queued and job.attempts == 0


def test_annotators_cannot_see_or_create_runs(client, db):
    annotator, project_id = _setup(db, role=Role.annotator)
    token = login(client, annotator.username)
    assert client.get(f"/projects/{project_id}/runs").status_code == 403
    assert client.post(f"/projects/{project_id}/runs", data={**FORM, "csrf_token": token}).status_code == 403
    assert client.get("/runs/1").status_code == 403
    assert client.post("/runs/1/retry", headers=htmx(token)).status_code == 403
    assert db.scalars(select(GenerationRun)).all() == []


def test_the_jobs_page_shows_the_queue_and_retries_failed_jobs(client, db):
    admin, _ = _setup(db)  # the import queued check jobs
    token = login(client, admin.username)
    checks = db.scalars(select(Job).where(Job.kind == "check").order_by(Job.id)).all()
    assert len(checks) == 10  # 50 derivations, 5 per job
    checks[0].state, checks[0].attempts, checks[0].error = JobState.failed, 3, "TimeoutError: SymPy gave up"
    db.flush()
    page = client.get("/jobs")
    assert "<html" in page.text and "TimeoutError: SymPy gave up" in page.text and "Retry every failed job" in page.text
    assert re.search(r"<td>check</td><td class=\"num\">9</td><td class=\"num\">0</td><td class=\"num\">0</td>"
                     r"<td class=\"num\">1</td>", page.text)
    fragment = client.post("/jobs/retry", headers=htmx(token))
    assert "<html" not in fragment.text and "1 failed job(s) queued again" in fragment.text
    db.refresh(checks[0])
    assert checks[0].state == JobState.queued
    annotator = make_user(db, role=Role.annotator)
    client.post("/logout", data={"csrf_token": token})
    token = login(client, annotator.username)
    assert client.get("/jobs").status_code == 403
    assert client.post("/jobs/retry", headers=htmx(token)).status_code == 403


def test_infinite_or_unreadable_numbers_get_a_message_naming_the_field(client, db):
    """A seed of -inf crashed the JSON error body (500): every bad number is a 422 that says which."""
    from app.models import Role
    from app.services import tokens
    from tests.helpers import htmx, login
    from tests.factories import make_derivation, make_project, make_user

    project = make_project(db)
    make_derivation(db, project=project)
    admin = make_user(db, role=Role.admin, username="adm")
    token = login(client, "adm")
    sample = client.post(f"/projects/{project.id}/sample", data={"per_model": "1", "seed": "-inf"}, headers=htmx(token))
    assert sample.status_code == 422 and "seed: " in sample.text and "-inf" in sample.text
    warm = client.post(f"/projects/{project.id}/runs", headers=htmx(token),
                       data={"model": "/m", "backend": "hf-seq2seq", "temperature": "-inf", "do_sample": "on"})
    assert warm.status_code == 422 and "temperature must be in (0, 10]" in warm.text
    secret = tokens.create(db, user=admin, name="x")[1]
    for body in ('{"model": "/m", "perturbations": ["static"], "seed": -Infinity}',
                 '{"model": "/m", "perturbations": ["static"], "seed": 99999999999999999999}',
                 '{"model": "/m", "perturbations": ["static"], "temperature": NaN, "do_sample": true}'):
        answer = client.post(f"/api/v1/projects/{project.id}/runs", content=body,
                             headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        assert answer.status_code == 422, (body, answer.text)
        assert "seed" in answer.text or "temperature" in answer.text


def test_the_run_page_configures_the_backend_of_the_run(client, db):
    admin, project_id = _setup(db)
    token = login(client, admin.username)
    page = client.get(f"/projects/{project_id}/runs").text
    assert 'name="endpoint"' in page and 'name="template"' in page and 'name="stop"' in page
    response = client.post(f"/projects/{project_id}/runs", data={
        **FORM, "backend": "openai", "model": "served", "endpoint": "http://127.0.0.1:9/v1", "key_name": "LAB_KEY",
        "template": "bare", "stop": "####\nQuestion:\\n", "split": "newline", "csrf_token": token})
    assert response.status_code == 303
    run = db.scalars(select(GenerationRun)).one()
    assert {k: run.decoding[k] for k in ("endpoint", "key_name", "template", "stop", "split")} == {
        "endpoint": "http://127.0.0.1:9/v1", "key_name": "LAB_KEY", "template": "bare",
        "stop": ["####", "Question:\n"], "split": "newline"}
    shown = client.get(f"/runs/{run.id}").text
    assert "http://127.0.0.1:9/v1" in shown and "LAB_KEY" in shown
