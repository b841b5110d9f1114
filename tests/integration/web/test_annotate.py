"""The annotation loop through HTTP: pages as pages, changes as htmx fragments."""

import html
import re

from sqlalchemy import select

from app.models import Annotation, AnnotationEvent, Role, StepLabel, StepNote
from tests.helpers import derivation_in, htmx, login, ref
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


def setup(db, role=Role.annotator, n=2, assigned=True):
    project = make_project(db)
    derivations = [make_derivation(db, project=project, model="secret-model") for _ in range(n)]
    user = make_user(db, role=role)
    if assigned:
        assign(db, user, *derivations)
    return project, derivations, user


def claim(client, token, project_id):
    """Press “Annotate next” (a POST: it claims work)."""
    return client.post(f"/projects/{project_id}/next", headers={"X-CSRF-Token": token})


def test_next_opens_an_unfinished_derivation_and_claims_it(client, db):
    project, (d1, d2), user = setup(db, assigned=False)
    token = login(client, user.username)
    response = claim(client, token, project.id)
    assert response.status_code == 303
    first = derivation_in(response.headers["location"])
    assert first in (d1.id, d2.id)
    assert db.scalar(select(Annotation.derivation_id).where(Annotation.annotator_id == user.id)) == first
    # not finished yet: Next keeps giving the same one, and the GET opens it too
    assert claim(client, token, project.id).headers["location"] == f"/derivations/{ref(first)}"
    assert client.get(f"/projects/{project.id}/next").headers["location"] == f"/derivations/{ref(first)}"


def test_a_get_of_next_claims_nothing(client, db):
    """A cross-site link to /projects/N/next must not put work in anyone's queue."""
    project, _, user = setup(db, assigned=False)
    login(client, user.username)
    page = client.get(f"/projects/{project.id}/next")
    assert page.status_code == 200 and "Ready for the next derivation" in page.text
    assert f'action="/projects/{project.id}/next"' in page.text and 'method="post"' in page.text
    assert db.scalar(select(Annotation.id)) is None
    # and the claim itself needs the form's token
    assert client.post(f"/projects/{project.id}/next").status_code == 403
    assert db.scalar(select(Annotation.id)) is None


def test_annotate_page_shows_prompt_parts_steps_and_labels(client, db):
    project, (d1, _), user = setup(db)
    login(client, user.username)
    page = client.get(f"/derivations/{d1.id}")
    assert page.status_code == 200 and "<html" in page.text
    body = page.text
    steps = steps_of(db, d1)
    for step in steps:
        assert f'id="step-{ref(step.id)}"' in body
    assert body.count('data-hotkey="1"') == len(steps)
    assert "Given" in body and "Goal" in body and "Whole prompt" in body
    assert 'id="reference"' in body  # one key away
    assert "secret-model" not in body  # blind for annotators


def test_admins_see_the_model_name(client, db):
    project, (d1, _), admin = setup(db, role=Role.admin)
    login(client, admin.username)
    assert "secret-model" in client.get(f"/derivations/{d1.id}").text


def test_label_change_returns_a_fragment_and_is_saved(client, db):
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    step = steps_of(db, d1)[1]
    response = client.post(f"/derivations/{d1.id}/steps/{step.id}/labels/incorrect?on=true", headers=htmx(token))
    assert response.status_code == 200
    assert "<html" not in response.text
    assert f'id="labels-{ref(step.id)}"' in response.text
    assert re.search(r'class="label on" aria-pressed="true"\s+data-label="incorrect"', response.text)
    assert "labels/incorrect?on=false" in response.text  # the button now takes it off
    assert 'hx-swap-oob="true"' in response.text and "in progress" in response.text
    labels = db.execute(select(StepLabel.step_id, StepLabel.label)).all()
    assert labels == [(step.id, "incorrect")]
    # the reloaded page shows it
    page = client.get(f"/derivations/{d1.id}").text
    block = page[page.index(f'id="labels-{ref(step.id)}"'):][:1500]
    assert 'aria-pressed="true"' in block


def test_setting_a_label_twice_is_harmless_and_off_removes_it(client, db):
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    step = steps_of(db, d1)[0]
    url = f"/derivations/{d1.id}/steps/{step.id}/labels/redundant"
    client.post(url + "?on=true", headers=htmx(token))
    client.post(url + "?on=true", headers=htmx(token))
    assert db.scalar(select(StepLabel.label)) == "redundant"
    events = db.scalars(select(AnnotationEvent.kind)).all()
    assert events == ["label_on"]  # the repeat changed nothing and recorded nothing
    client.post(url + "?on=false", headers=htmx(token))
    assert db.scalar(select(StepLabel.label)) is None


def test_unknown_label_or_foreign_step_is_refused_with_a_message(client, db):
    project, (d1, d2), user = setup(db)
    token = login(client, user.username)
    step = steps_of(db, d1)[0]
    bad = client.post(f"/derivations/{d1.id}/steps/{step.id}/labels/wrongish?on=true", headers=htmx(token))
    assert bad.status_code == 422 and "wrongish" in bad.text and bad.headers["HX-Retarget"] == "#flash"
    foreign = client.post(f"/derivations/{d2.id}/steps/{step.id}/labels/incorrect?on=true", headers=htmx(token))
    assert foreign.status_code == 404 and "is not a step of derivation" in foreign.text
    assert db.scalar(select(StepLabel.label)) is None


def test_judgement_submit_next_and_reopen(client, db):
    project, (d1, d2), user = setup(db)
    token = login(client, user.username)
    saved = client.post(f"/derivations/{d1.id}/judgement", data={"goal_reached": "no", "comment": "sign slip"},
                        headers=htmx(token))
    assert saved.status_code == 200 and "Saved" in saved.text and "<html" not in saved.text
    submitted = client.post(f"/derivations/{d1.id}/submit", data={"goal_reached": "yes", "comment": "fine after all"},
                            headers=htmx(token))
    # Submit goes straight to the next derivation (claimed in the same request)
    assert submitted.status_code == 204 and submitted.headers["HX-Redirect"] == f"/derivations/{ref(d2.id)}"
    annotation = db.scalar(select(Annotation).where(Annotation.derivation_id == d1.id))
    assert (annotation.status.value, annotation.goal_reached, annotation.comment) == ("submitted", True, "fine after all")
    assert annotation.submitted_at is not None
    # the submitted one can be reopened and changed; then it says it needs submitting again
    page = client.get(f"/derivations/{d1.id}").text
    assert "Submit again" in page and "fine after all" in page
    assert re.search(r'id="status-badge">\s*submitted<', page)
    step = steps_of(db, d1)[0]
    changed = client.post(f"/derivations/{d1.id}/steps/{step.id}/labels/skipped?on=true", headers=htmx(token))
    assert changed.status_code == 200 and "submit again" in changed.text
    page = client.get(f"/derivations/{d1.id}").text
    assert "changed since submitted: submit again" in page
    client.post(f"/derivations/{d1.id}/submit", data={"goal_reached": "yes", "comment": "fine after all"},
                headers=htmx(token))
    assert re.search(r'id="status-badge">\s*submitted<', client.get(f"/derivations/{d1.id}").text)


def test_all_done_when_nothing_is_left(client, db):
    project, (d1,), user = setup(db, n=1)
    token = login(client, user.username)
    done = client.post(f"/derivations/{d1.id}/submit", data={}, headers=htmx(token))
    assert done.headers["HX-Redirect"] == f"/projects/{project.id}/next"
    page = client.get(f"/projects/{project.id}/next")
    assert page.status_code == 200 and "All done" in page.text and "1 submitted" in page.text


def test_overlap_one_keeps_a_claimed_derivation_from_others(client, db):
    project, (d1, d2), first = setup(db, assigned=False)
    second = make_user(db)
    token = login(client, first.username)
    got_first = claim(client, token, project.id).headers["location"]
    token = login(client, second.username)
    got_second = claim(client, token, project.id).headers["location"]
    assert {got_first, got_second} == {f"/derivations/{ref(d1.id)}", f"/derivations/{ref(d2.id)}"}


def test_next_on_unfinished_work_skips_it_and_the_queue_brings_it_back_last(client, db):
    project, derivations, user = setup(db, n=3, assigned=False)
    token = login(client, user.username)
    first = derivation_in(claim(client, token, project.id).headers["location"])
    step = steps_of(db, db.get(type(derivations[0]), first))[0]
    client.post(f"/derivations/{first}/steps/{step.id}/labels/incorrect?on=true", headers=htmx(token))
    skipped = client.post(f"/derivations/{first}/skip", headers=htmx(token))
    second = derivation_in(skipped.headers["HX-Redirect"])
    assert second != first
    # the skipped one keeps its label and waits; the new ones come first
    annotation = db.scalar(select(Annotation).where(Annotation.derivation_id == first))
    assert annotation.skipped_at is not None and annotation.status.value == "in_progress"
    assert db.scalar(select(StepLabel.label).where(StepLabel.annotation_id == annotation.id)) == "incorrect"
    assert db.scalar(select(AnnotationEvent.kind).where(AnnotationEvent.kind == "skip")) == "skip"
    third = derivation_in(client.post(f"/derivations/{second}/submit", data={}, headers=htmx(token))
                          .headers["HX-Redirect"])
    assert third not in (first, second)
    back = client.post(f"/derivations/{third}/submit", data={}, headers=htmx(token)).headers["HX-Redirect"]
    assert back == f"/derivations/{ref(first)}"  # nothing new left: the skipped one again
    # Previous walks back in the order Next first gave them
    assert client.get(f"/derivations/{third}/previous").headers["location"] == f"/derivations/{ref(second)}"
    assert client.get(f"/derivations/{second}/previous").headers["location"] == f"/derivations/{ref(first)}"
    none = client.get(f"/derivations/{first}/previous")
    assert none.status_code == 404 and "there is none before it" in none.text


def test_skipping_the_only_open_derivation_serves_it_again(client, db):
    project, (d1,), user = setup(db, n=1, assigned=False)
    token = login(client, user.username)
    claim(client, token, project.id)
    assert client.post(f"/derivations/{ref(d1.id)}/skip", headers=htmx(token)).headers["HX-Redirect"] == f"/derivations/{ref(d1.id)}"


def test_the_annotate_page_is_never_cached(client, db):
    """Back after submit must load the current state, not a stale “in progress” copy."""
    project, (d1, _), user = setup(db)
    login(client, user.username)
    assert client.get(f"/derivations/{d1.id}").headers["cache-control"] == "no-store"


def test_bad_goal_value_is_refused(client, db):
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    response = client.post(f"/derivations/{d1.id}/judgement", data={"goal_reached": "maybe"}, headers=htmx(token))
    assert response.status_code == 422 and "goal_reached 'maybe'" in html.unescape(response.text)


def test_missing_derivation_is_a_clear_404_page(client, db):
    user = make_user(db)
    login(client, user.username)
    response = client.get("/derivations/999999")
    assert response.status_code == 404 and "derivation 999999 does not exist" in response.text
    assert "<html" in response.text


def test_suggestions_show_with_their_reason(client, db):
    from app.models import AutoCheck

    project, (d1, _), user = setup(db)
    db.add_all([
        AutoCheck(derivation_id=d1.id, step_index=2, label="incorrect", verdict="yes", reason="does not hold <b>"),
        AutoCheck(derivation_id=d1.id, step_index=3, label="skipped", verdict="no", reason="one operation"),
        AutoCheck(derivation_id=d1.id, step_index=0, label="goal_reached", verdict="no",
                  reason="the last step is the goal, but step 2 is incorrect"),
        AutoCheck(derivation_id=d1.id, step_index=0, label="goal_stated", verdict="yes",
                  reason="the last step is the goal"),
    ])
    db.flush()
    login(client, user.username)
    page = client.get(f"/derivations/{d1.id}").text
    steps = steps_of(db, d1)
    second = page[page.index(f'id="step-{ref(steps[1].id)}"'):page.index(f'id="step-{ref(steps[2].id)}"')]
    assert 'class="suggestion" data-label="incorrect"' in second and "does not hold &lt;b&gt;" in second
    third = page[page.index(f'id="step-{ref(steps[2].id)}"'):]
    assert 'data-label="skipped" title' not in third  # a "no" is not a suggestion
    # both: reached (no incorrect step on the way) and stated (the last step is the goal)
    assert re.search(r"SymPy: reached no \(the last step is the goal, but step 2 is incorrect\)\s*"
                     r"· last step is the goal: yes", page)


def _version(db, annotation_id):
    db.expire_all()
    return db.get(Annotation, annotation_id).version


def test_a_stale_tab_is_refused_and_shown_the_current_state(client, db):
    """Two tabs on one annotation: the second, which never saw the first's change, is told
    and sent to the current state; nothing it sent is written."""
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    steps = steps_of(db, d1)
    annotation = db.scalar(select(Annotation).where(Annotation.derivation_id == d1.id))
    shown = re.search(r'data-version="(\d+)"', client.get(f"/derivations/{d1.id}").text).group(1)
    assert int(shown) == annotation.version

    tab_a = htmx(token, **{"X-Annotation-Version": shown, "X-Tab": "tab-a"})
    first = client.post(f"/derivations/{d1.id}/steps/{steps[0].id}/labels/incorrect?on=true", headers=tab_a)
    assert first.status_code == 200 and int(first.headers["X-Annotation-Version"]) == _version(db, annotation.id)
    # tab A again, before it read that response (same stale version): its own change, allowed
    again = client.post(f"/derivations/{d1.id}/steps/{steps[1].id}/labels/skipped?on=true", headers=tab_a)
    assert again.status_code == 200

    tab_b = htmx(token, **{"X-Annotation-Version": shown, "X-Tab": "tab-b"})
    before = _version(db, annotation.id)
    refused = client.post(f"/derivations/{d1.id}/steps/{steps[0].id}/labels/incorrect?on=false", headers=tab_b)
    assert refused.status_code == 409
    assert refused.headers["HX-Redirect"] == f"/derivations/{ref(d1.id)}?changed=true"
    judged = client.post(f"/derivations/{d1.id}/judgement", data={"goal_reached": "no", "comment": "from B"},
                         headers=tab_b)
    assert judged.status_code == 409
    db.expire_all()
    labels = set(db.scalars(select(StepLabel.label).where(StepLabel.annotation_id == annotation.id)))
    assert labels == {"incorrect", "skipped"}  # B's "off" did not land
    assert db.get(Annotation, annotation.id).comment == "" and _version(db, annotation.id) == before

    page = client.get(f"/derivations/{d1.id}?changed=true")
    assert "Changed in another tab or window" in page.text
    assert f'data-version="{before}"' in page.text
    # with the version it now shows, tab B's change goes through
    ok = client.post(f"/derivations/{d1.id}/judgement", data={"goal_reached": "no", "comment": "from B"},
                     headers=htmx(token, **{"X-Annotation-Version": str(before), "X-Tab": "tab-b"}))
    assert ok.status_code == 200 and int(ok.headers["X-Annotation-Version"]) == before + 1


def test_a_stale_submit_without_htmx_is_sent_to_the_current_state(client, db):
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    annotation = db.scalar(select(Annotation).where(Annotation.derivation_id == d1.id))
    client.post(f"/derivations/{d1.id}/judgement", data={"goal_reached": "yes", "comment": "A"},
                headers=htmx(token, **{"X-Annotation-Version": str(annotation.version), "X-Tab": "a"}))
    response = client.post(f"/derivations/{d1.id}/submit",
                           data={"goal_reached": "no", "comment": "B", "csrf_token": token},
                           headers={"X-Annotation-Version": str(annotation.version), "X-Tab": "b"})
    assert response.status_code == 303 and response.headers["location"] == f"/derivations/{ref(d1.id)}?changed=true"
    db.expire_all()
    kept = db.get(Annotation, annotation.id)
    assert kept.status.value == "in_progress" and kept.comment == "A"


def test_a_malformed_version_header_is_refused_with_a_message(client, db):
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    step = steps_of(db, d1)[0]
    response = client.post(f"/derivations/{d1.id}/steps/{step.id}/labels/incorrect?on=true",
                           headers=htmx(token, **{"X-Annotation-Version": "seven", "X-Tab": "a"}))
    assert response.status_code == 422 and "X-Annotation-Version" in response.text


def test_quick_first_changes_from_one_tab_never_refuse_each_other(client, db):
    """An admin's first change creates the annotation; the page's next changes, sent before
    that answer came back, say the page's version (0: none yet) and the same tab: all are
    saved. A second tab that still shows "no annotation" is refused (it missed them)."""
    project, (d1, _), admin = setup(db, role=Role.admin, assigned=False)
    token = login(client, admin.username)
    s1, s2 = steps_of(db, d1)[:2]
    page = client.get(f"/derivations/{d1.id}").text
    assert 'data-version="0"' in page
    tab = {"X-Annotation-Version": "0", "X-Tab": "tab-a"}
    first = client.post(f"/derivations/{d1.id}/steps/{s1.id}/labels/incorrect?on=true", headers=htmx(token, **tab))
    second = client.post(f"/derivations/{d1.id}/steps/{s2.id}/labels/redundant?on=true", headers=htmx(token, **tab))
    goal = client.post(f"/derivations/{d1.id}/judgement", data={"goal_reached": "no"}, headers=htmx(token, **tab))
    latest = {"X-Annotation-Version": first.headers["X-Annotation-Version"], "X-Tab": "tab-a"}
    third = client.post(f"/derivations/{d1.id}/steps/{s2.id}/labels/skipped?on=true", headers=htmx(token, **latest))
    assert [r.status_code for r in (first, second, goal, third)] == [200, 200, 200, 200]
    annotation = db.scalar(select(Annotation).where(Annotation.derivation_id == d1.id))
    assert annotation.goal_reached is False
    assert set(db.execute(select(StepLabel.step_id, StepLabel.label)).all()) == {
        (s1.id, "incorrect"), (s2.id, "redundant"), (s2.id, "skipped")}
    other = client.post(f"/derivations/{d1.id}/steps/{s1.id}/labels/irrelevant?on=true",
                        headers=htmx(token, **{"X-Annotation-Version": "0", "X-Tab": "tab-b"}))
    assert other.status_code == 409


def test_a_step_note_and_unsure_flag_are_saved_versioned_and_shown(client, db):
    project, (d1, _), user = setup(db)
    token = login(client, user.username)
    step = steps_of(db, d1)[1]
    saved = client.post(f"/derivations/{d1.id}/steps/{step.id}/note", data={"note": "sign? check", "unsure": "true"},
                        headers=htmx(token))
    assert saved.status_code == 200 and "Saved" in saved.text
    page = client.get(f"/derivations/{d1.id}").text
    assert 'value="sign? check"' in page and re.search(r'name="unsure" value="true" checked', page)
    event = db.scalar(select(AnnotationEvent).where(AnnotationEvent.kind == "note"))
    assert event.step_id == step.id and event.detail["unsure"] is True and event.detail["old"]["note"] == ""
    cleared = client.post(f"/derivations/{d1.id}/steps/{step.id}/note", data={"note": ""}, headers=htmx(token))
    assert cleared.status_code == 200
    db.expire_all()
    assert db.execute(select(StepNote.note, StepNote.unsure)).all() == [("", False)]
    too_long = client.post(f"/derivations/{d1.id}/steps/{step.id}/note", data={"note": "x" * 2001}, headers=htmx(token))
    assert too_long.status_code == 422 and "at most 2000" in too_long.text


def test_the_page_says_how_far_the_project_and_the_annotator_are(client, db):
    project, (d1, d2), user = setup(db)
    token = login(client, user.username)
    client.post(f"/derivations/{d1.id}/submit", data={}, headers=htmx(token))
    page = client.get(f"/derivations/{d2.id}").text
    assert re.search(r"1 of 2 done · you: 1", page)


def test_an_annotator_taken_off_a_project_cannot_open_or_change_its_derivations(client, db):
    from app.repositories import projects as projects_repo

    project, (d1, _), user = setup(db)  # the annotator got work while the project was open to all
    projects_repo.set_members(db, project.id, {make_user(db).id})
    token = login(client, user.username)
    step = steps_of(db, d1)[0]
    assert client.get(f"/derivations/{d1.id}").status_code == 403
    refused = client.post(f"/derivations/{d1.id}/steps/{step.id}/labels/incorrect?on=true", headers=htmx(token))
    assert refused.status_code == 403 and "not one of this project's annotators" in html.unescape(refused.text)
    assert client.post(f"/derivations/{d1.id}/submit", data={}, headers=htmx(token)).status_code == 403
    assert db.scalar(select(StepLabel.label)) is None


def test_an_admin_writes_guidelines_that_annotators_see_as_markdown_with_html_escaped(client, db):
    project, (d1, _), user = setup(db)
    admin = make_user(db, role=Role.admin)
    token = login(client, admin.username)
    text = "## Incorrect\n\nExample: `x = 2 x` after `x = 1`.\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    saved = client.post(f"/projects/{project.id}/settings", data={"overlap": "1", "guidelines": text},
                        headers=htmx(token))
    assert saved.status_code == 200 and "Settings saved" in saved.text
    login(client, user.username)
    page = client.get(f"/derivations/{d1.id}").text
    assert '<h2>Incorrect</h2>' in page and "<code>x = 2 x</code>" in page and 'id="guidelines-button"' in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and 'href="javascript:' not in page
    too_long = client.post(f"/projects/{project.id}/settings", data={"overlap": "1", "guidelines": "x" * 50_001},
                           headers=htmx(login(client, admin.username)))
    assert too_long.status_code == 422 and "guidelines: at most" in too_long.text


def test_a_new_project_starts_with_guidelines_for_the_papers_taxonomy(client, db):
    from app.services.importing import import_file

    import_file(db, project_name="fresh", filename="a.jsonl",
                data=b'{"problem_id": "p", "prompt": "Given a = b, then obtain b = a", "model": "m", '
                     b'"derivation": "a = b and b = a"}\n')
    admin = make_user(db, role=Role.admin)
    login(client, admin.username)
    from app.models import Derivation
    page = client.get(f"/derivations/{db.scalar(select(Derivation.id))}").text
    for heading in ("1 · Incorrect", "2 · Irrelevant", "3 · Redundant", "4 · Skipped steps"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<em>Example:</em>") == 4


def test_an_admin_picks_the_queue_strategy_on_the_settings_page(client, db):
    project, _, _ = setup(db)
    admin = make_user(db, role=Role.admin)
    token = login(client, admin.username)
    page = client.get(f"/projects/{project.id}/settings").text
    assert '<select name="queue_strategy">' in page and '<option value="interleaved" selected>' in page
    saved = client.post(f"/projects/{project.id}/settings", data={"overlap": "1", "queue_strategy": "uncertain"},
                        headers=htmx(token))
    assert saved.status_code == 200 and '<option value="uncertain" selected>' in saved.text
    db.refresh(project)
    assert project.queue_strategy == "uncertain"
    bad = client.post(f"/projects/{project.id}/settings", data={"overlap": "1", "queue_strategy": "random"},
                      headers=htmx(token))
    assert bad.status_code == 422 and "queue strategy 'random'" in html.unescape(bad.text)
    db.refresh(project)
    assert project.queue_strategy == "uncertain"
