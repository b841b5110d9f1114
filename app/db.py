"""Engine and sessions. One PostgreSQL is the only store: a server from
DATABASE_URL, or an embedded one (pgserver) kept under the data directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import warnings

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import PACKAGE, Settings

_embedded = None  # the pgserver handle must live as long as the process


def _embedded_url(data_dir: Path) -> str:
    global _embedded
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers
        warnings.simplefilter("ignore")
        import pgserver  # only needed without DATABASE_URL

    if _embedded is None:
        pgdata = data_dir / "pg"
        pgdata.mkdir(parents=True, exist_ok=True)
        _embedded = pgserver.get_server(pgdata, cleanup_mode="stop")
    return _embedded.get_uri()


def sqlalchemy_url(raw: str) -> str:
    """Accept postgres://, postgresql:// or an explicit driver; use psycopg 3."""
    url = make_url(raw.replace("postgres://", "postgresql://", 1))
    if url.drivername in ("postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def database_url(settings: Settings) -> str:
    raw = settings.database_url or _embedded_url(settings.data_dir)
    return sqlalchemy_url(raw)


def make_engine(url: str) -> Engine:
    # pre-ping: a restarted PostgreSQL costs one reconnect, not a 500 page.
    # jit off: the app's queries are short or stream rows, and PostgreSQL's JIT compiled the
    # derivation CSV's query for 2.8 s at ~33k derivations, where running it took ~70 ms.
    # Custom plans only: psycopg prepares a statement run 5 times, and PostgreSQL may then plan
    # it once for any parameters; the API's list (`CAST(:model AS text) IS NULL OR ...`) went
    # from 4 ms to 420 ms at 100,000 derivations on such a generic plan.
    # No parallel workers: starting one cost ~5 ms where the API's count took 2.6 ms, and the
    # app's queries are short ones on a machine of a few cores.
    options = "-c jit=off -c plan_cache_mode=force_custom_plan -c max_parallel_workers_per_gather=0"
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"options": options})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work outside a request (CLI, streaming): commit or roll back."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade(url: str) -> None:
    """Apply the Alembic migrations (tests build the schema the same way)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()  # no alembic.ini needed: an installed copy has none
    cfg.set_main_option("script_location", str(PACKAGE / "migrations"))
    cfg.attributes["url"] = url
    command.upgrade(cfg, "head")


class DatabaseUnusable(Exception):
    """DATABASE_URL cannot be used; the message says what to check."""


def open_sessions(settings: Settings) -> sessionmaker[Session]:
    """The migrated database's sessionmaker (embedded PostgreSQL when DATABASE_URL is unset).
    A DATABASE_URL that cannot be used raises DatabaseUnusable saying what to check."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    hint = ("Check DATABASE_URL (postgresql://user:password@host:5432/dbname): that PostgreSQL runs there, "
            "accepts this user and has this database; or unset it to use the embedded PostgreSQL.")
    try:
        url = database_url(settings)
        if not make_url(url).drivername.startswith("postgresql"):
            raise DatabaseUnusable(f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), not "
                                   f"'{make_url(url).drivername}://...'. " + hint)
        upgrade(url)
    except ArgumentError as exc:
        raise DatabaseUnusable(f"DATABASE_URL is not a database URL ({exc}). " + hint) from None
    except OperationalError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = (str(exc.orig).strip().splitlines() or ["unknown"])[0]
        raise DatabaseUnusable(f"cannot connect to the database at {shown}: {reason}. " + hint) from None
    return make_sessionmaker(make_engine(url))
