"""The derivlab command against its own committed database."""

import csv

from sqlalchemy import create_engine, text

from app.config import get_settings
from tests.helpers import PAPER_FILES


def count(url, table):
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def test_every_command_has_help(run):
    for args in (["--help"], ["serve", "--help"], ["db", "upgrade", "--help"], ["user", "add", "--help"],
                 ["import", "--help"], ["export", "--help"], ["training", "--help"], ["demo", "--help"]):
        result = run(*args)
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_import_three_sample_files_then_again(run, fresh_database_url):
    for path in PAPER_FILES.values():
        result = run("import", str(path), "--project", "paper")
        assert result.exit_code == 0, result.output
        assert "50 derivations added to 'paper'" in result.output
    assert count(fresh_database_url, "derivations") == 150
    for path in PAPER_FILES.values():
        result = run("import", str(path), "--project", "paper")
        assert "0 derivations added" in result.output
    assert count(fresh_database_url, "derivations") == 150


def test_import_error_names_the_record_and_writes_nothing(run, fresh_database_url, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": 1, "prompt": "Given a, then obtain b", "model": "m", "derivation": "a"}\n{"model": 3}\n')
    result = run("import", str(bad), "--project", "p")
    assert result.exit_code == 1
    assert "line 2: field 'problem_id' is missing" in result.output
    assert count(fresh_database_url, "derivations") == 0 and count(fresh_database_url, "projects") == 0


def test_user_add_from_stdin_and_refusals(run, fresh_database_url):
    assert run("user", "add", "carol", "--role", "reviewer", "--password-stdin", input="long enough pw\n").exit_code == 0
    taken = run("user", "add", "carol", "--password-stdin", input="long enough pw\n")
    assert taken.exit_code == 1 and "taken" in taken.output
    short = run("user", "add", "dave", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    role = run("user", "add", "erin", "--role", "boss", "--password-stdin", input="long enough pw\n")
    assert role.exit_code == 1 and "role 'boss'" in role.output
    assert count(fresh_database_url, "users") == 1


def test_export_to_file(run, tmp_path):
    run("import", str(PAPER_FILES["gpt-4"]), "--project", "paper")
    out = tmp_path / "steps.csv"
    result = run("export", "--project", "paper", "--level", "step", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len({r["derivation_id"] for r in rows}) == 50 and all(r["annotator"] == "" for r in rows)
    missing = run("export", "--project", "nope", "-o", str(out))
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_demo_seeds_once_and_prints_passwords_once(run, fresh_database_url):
    first = run("demo")
    assert first.exit_code == 0 and "admin" in first.output and "shown only this once" in first.output
    assert count(fresh_database_url, "derivations") == 150
    second = run("demo")
    assert "shown only this once" not in second.output
    assert count(fresh_database_url, "derivations") == 150 and count(fresh_database_url, "users") == 3  # admin, annotator, reviewer


def test_demo_without_shared_data_uses_our_own_set(run, fresh_database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("SHARED_DATA_DIR", str(tmp_path / "absent"))
    get_settings.cache_clear()
    result = run("demo")
    assert result.exit_code == 0 and "Demo derivations" in result.output
    assert count(fresh_database_url, "derivations") == 6


def test_a_wrong_database_url_says_what_to_check(run, monkeypatch, fresh_database_url):
    from tests.helpers import free_port

    missing_db = fresh_database_url.rsplit("/", 1)[0] + "/no_such_database_here"
    cases = [
        (f"postgresql://postgres:secret@127.0.0.1:{free_port()}/x", ["cannot connect", "Connection refused", "***"]),
        (missing_db, ["cannot connect", 'database "no_such_database_here" does not exist']),
        ("mysql://u@h/d", ["must be a PostgreSQL URL", "mysql"]),
        ("not a url", ["not a database URL"]),
    ]
    for url, expected in cases:
        monkeypatch.setenv("DATABASE_URL", url)
        get_settings.cache_clear()
        result = run("db", "upgrade")
        assert result.exit_code == 1, (url, result.output)
        for fragment in expected:
            assert fragment in result.output, (url, result.output)
        assert "Traceback" not in result.output and "secret" not in result.output
        assert "unset it to use the embedded PostgreSQL" in result.output
    get_settings.cache_clear()


def test_serve_on_a_port_in_use_says_so(run):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), "--no-worker", "--no-demo")
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.output and "--port" in result.output


def test_import_over_the_size_limit_is_refused_unread(run, monkeypatch, fresh_database_url):
    monkeypatch.setenv("IMPORT_MAX_MB", "0")
    get_settings.cache_clear()
    result = run("import", str(PAPER_FILES["gpt-4"]), "--project", "paper")
    get_settings.cache_clear()
    assert result.exit_code == 1 and "larger than 0 MB, the import limit (IMPORT_MAX_MB)" in result.output
    assert count(fresh_database_url, "derivations") == 0


def test_training_export_writes_each_kind_and_a_card(run, tmp_path):
    run("import", str(PAPER_FILES["gpt-4"]), "--project", "paper")
    out = tmp_path / "train"
    result = run("training", "--project", "paper", "-o", str(out), "--format", "parquet")
    assert result.exit_code == 0, result.output
    # nothing judged yet: an empty file loads nowhere, so none is written and the card says why
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]
    assert "step-rewards: 0 records, no file written (no derivation is judged yet" in result.output
    card = (out / "README.md").read_text()
    assert "# paper: training data" in card and "## step-rewards" in card and "- records: 0 — " in card
    bad = run("training", "--project", "nope", "-o", str(out))
    assert bad.exit_code != 0 and "project 'nope' does not exist" in bad.output
    bad = run("training", "--project", "paper", "-o", str(out), "--ratings", "skipped=5")
    assert bad.exit_code != 0 and "write label=-1" in bad.output
