from alembic import context
from sqlalchemy import create_engine, pool

from app.config import get_settings
from app.db import database_url
from app.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    # Set by app.db.upgrade(); else from the settings (CLI `alembic` use).
    return config.attributes.get("url") or database_url(get_settings())


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
