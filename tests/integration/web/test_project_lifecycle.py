"""Issue 24 item 13 and issue 25 item 4: a project is made, renamed, archived and deleted on
the page and through the API; deleting asks for the name typed; an archived project is out of
annotators' sight and takes no work; other projects are untouched."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from app.models import Annotation, Derivation, Project, Role, Step
from app.services import tokens
from tests.helpers import htmx, login
from tests.factories import assign, make_derivation, make_project, make_user


def _counts(db, project_id):
    db.expire_all()
    return (db.scalar(select(func.count()).select_from(Derivation).where(Derivation.project_id == project_id)),
            db.scalar(select(func.count()).select_from(Step).join(Derivation).where(Derivation.project_id == project_id)),
            db.scalar(select(func.count()).select_from(Annotation).join(Derivation)
                      .where(Derivation.project_id == project_id)))


def test_the_lifecycle_on_the_pages(client, db):
    make_user(db, role=Role.admin, username="boss")
    ann = make_user(db, username="ann")
    keep = make_project(db, name="kept")
    d = make_derivation(db, project=keep, model="m")
    assign(db, ann, d)
    db.commit()
    csrf = login(client, "boss")
    home = client.get("/").text
    assert 'id="new-project"' in home and ">New project<" in home

    made = client.post("/projects", data={"name": "  study two ", "preset": "processbench", "csrf_token": csrf})
    assert made.status_code == 303
    pid = int(made.headers["location"].rsplit("/", 1)[1])
    project = db.get(Project, pid)
    assert project.name == "study two" and project.label_keys != ["incorrect", "irrelevant", "redundant", "skipped"]
    clash = client.post("/projects", data={"name": "kept", "csrf_token": csrf}, headers={"Accept": "text/html"})
    assert clash.status_code == 409 and "exists already" in clash.text

    renamed = client.post(f"/projects/{pid}/rename", data={"name": "study 2", "description": "round two",
                                                           "csrf_token": csrf})
    assert renamed.status_code == 303
    page = client.get(renamed.headers["location"]).text
    assert "Name and description saved." in page and 'value="study 2"' in page
    assert client.post(f"/projects/{pid}/rename", data={"name": "kept", "csrf_token": csrf}).status_code == 409

    # archive "kept": the annotator no longer sees or works in it; staff still do
    assert client.post(f"/projects/{keep.id}/archive", data={"archived": "true", "csrf_token": csrf}).status_code == 303
    assert "archived" in client.get(f"/projects/{keep.id}").text
    client.post("/logout", data={"csrf_token": csrf})
    csrf_ann = login(client, "ann")
    assert "kept" not in client.get("/").text
    assert client.get(f"/projects/{keep.id}").status_code == 403
    assert client.get(f"/derivations/{d.id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_ann})
    csrf = login(client, "boss")
    client.post(f"/projects/{keep.id}/archive", data={"archived": "false", "csrf_token": csrf})
    db.expire_all()
    assert db.get(Project, keep.id).archived_at is None

    # delete: the wrong name deletes nothing and says what to type
    before = _counts(db, keep.id)
    wrong = client.post(f"/projects/{keep.id}/delete", data={"confirm": "kep", "csrf_token": csrf},
                        headers=htmx(csrf))
    assert wrong.status_code == 422 and "type the project's name, 'kept'" in html.unescape(wrong.text)
    assert _counts(db, keep.id) == before and before[0] == 1
    gone = client.post(f"/projects/{pid}/delete", data={"confirm": "study 2", "csrf_token": csrf})
    assert gone.status_code == 303 and gone.headers["location"].startswith("/?deleted=")
    assert "Project ‘study 2’ deleted." in client.get(gone.headers["location"]).text
    db.expire_all()
    assert db.get(Project, pid) is None and _counts(db, keep.id) == before
    assert client.get(f"/projects/{pid}").status_code == 404


def test_the_lifecycle_through_the_api(client, db):
    boss = make_user(db, role=Role.admin, username="boss")
    doomed = make_project(db, name="doomed")
    for n in range(3):
        make_derivation(db, project=doomed, model="m")
    other = make_project(db, name="other")
    make_derivation(db, project=other, model="m")
    _, secret = tokens.create(db, user=boss, name="t")
    db.commit()
    h = {"Authorization": f"Bearer {secret}"}

    one = client.get(f"/api/v1/projects/{doomed.id}", headers=h).json()
    assert (one["name"], one["derivations"], one["archived"]) == ("doomed", 3, False)
    patched = client.patch(f"/api/v1/projects/{doomed.id}", json={"archived": True, "description": "old"}, headers=h)
    assert patched.status_code == 200 and patched.json()["archived"] and patched.json()["name"] == "doomed"
    assert [p["name"] for p in client.get("/api/v1/projects?archived=true", headers=h).json()] == ["doomed"]
    assert [p["name"] for p in client.get("/api/v1/projects?archived=false", headers=h).json()] == ["other"]
    clash = client.patch(f"/api/v1/projects/{doomed.id}", json={"name": "other"}, headers=h)
    assert clash.status_code == 409 and clash.json()["error"] == "project 'other' exists already"

    refused = client.delete(f"/api/v1/projects/{doomed.id}?confirm=Doomed", headers=h)
    assert refused.status_code == 422 and "nothing was deleted" in refused.json()["error"]
    assert "3 derivations" in refused.json()["error"] and _counts(db, doomed.id)[0] == 3
    assert client.delete(f"/api/v1/projects/{doomed.id}", headers=h).status_code == 422  # confirm is required
    assert client.delete(f"/api/v1/projects/{doomed.id}?confirm=doomed", headers=h).status_code == 204
    assert client.get(f"/api/v1/projects/{doomed.id}", headers=h).status_code == 404
    assert _counts(db, doomed.id) == (0, 0, 0) and _counts(db, other.id)[0] == 1
    assert re.fullmatch(r"\d+", client.get("/api/v1/projects", headers=h).headers["X-Total-Count"])


def test_a_new_project_copies_another_ones_labels_and_settings(client, db):
    from app.services import taxonomy

    make_user(db, role=Role.admin, username="boss")
    source = make_project(db, name="pilot")
    taxonomy.apply_preset(db, project_id=source.id, preset="processbench")
    source.guidelines, source.overlap, source.blind, source.gold_rate = "Mark the first error.", 3, False, 10
    make_derivation(db, project=source, model="m")
    db.commit()
    csrf = login(client, "boss")
    assert 'name="copy_from"' in client.get("/").text
    made = client.post("/projects", data={"name": "main study", "copy_from": str(source.id), "csrf_token": csrf})
    db.expire_all()
    copy = db.get(Project, int(made.headers["location"].rsplit("/", 1)[1]))
    assert (copy.taxonomy, copy.guidelines, copy.overlap, copy.blind, copy.gold_rate) == (
        source.taxonomy, "Mark the first error.", 3, False, 10)
    assert _counts(db, copy.id) == (0, 0, 0)  # settings, not data
