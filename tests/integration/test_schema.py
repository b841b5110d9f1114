"""The schema as the migrations build it: what keeps queries flat as the database grows."""

from sqlalchemy import text


def test_every_foreign_key_column_leads_an_index(db):
    """Without one, every cascaded delete or join on it reads the whole table (deleting a
    project took 17-90 s when problems.parent_id had none)."""
    missing = db.execute(text("""
        SELECT c.conrelid::regclass::text || '.' || a.attname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
        ORDER BY 1""")).scalars().all()
    assert missing == []


def test_the_apps_sessions_plan_without_jit(db):
    """PostgreSQL's JIT compiled the derivation CSV's query for 2.8 s at ~33k derivations (the
    query itself: ~70 ms); the app's connections turn it off."""
    assert db.scalar(text("SHOW jit")) == "off"
