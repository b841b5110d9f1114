"""Settings from the environment (prefix-free names, as in the README's table)."""

from functools import lru_cache
from pathlib import Path
import secrets

from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE = Path(__file__).resolve().parent  # templates, static files and migrations ship inside it
ROOT = PACKAGE.parent  # the checkout (or, installed, site-packages)
# A checkout keeps its data in ./var beside the code; an installed copy in ./var where it is run
# (site-packages is no place for a database).
DATA_DIR = ROOT / "var" if (ROOT / "pyproject.toml").exists() else Path.cwd() / "var"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Unset: an embedded PostgreSQL (pgserver) is started under data_dir/pg.
    database_url: str | None = None
    data_dir: Path = DATA_DIR
    # Unset: a random key is created once and kept in data_dir/secret_key.
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # The paper's sample outputs, used by the demo when present (never copied).
    shared_data_dir: Path = ROOT.parent / "shared" / "data"
    # Cookies marked Secure: set true behind HTTPS.
    secure_cookies: bool = False
    # The largest file `derivlab import` or the import page accepts (MB).
    import_max_mb: int = 50
    # Streamed downloads at once, per user and in all; a client that reads nothing for this
    # long is cut off (each stream holds a database connection).
    streams_per_user: int = 2
    streams_total: int = 8
    stream_idle_seconds: float = 60
    # Exports prepared in the background are deleted this many hours after they were made.
    export_keep_hours: int = 72
    # Any other request body (forms, labels, API calls) larger than this is refused unread (KiB).
    max_body_kb: int = 1024
    # Failed logins allowed per account and per client address ("N/period", e.g. "10/15 minutes").
    login_limit: str = "10/15 minutes"
    login_limit_per_address: str = "50/15 minutes"
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses,
    # or "*"). Empty: none, so no client can pick its own address to dodge the login limit.
    trusted_proxies: str = ""
    # Check workers `serve` starts beside the web app (0: one per CPU core).
    check_workers: int = 0
    # The `openai` generation backend: any OpenAI-compatible server (vLLM, TGI, hosted).
    openai_base_url: str | None = None
    openai_api_key: str | None = None

    def uvicorn_options(self) -> dict:
        """How uvicorn reads forwarded headers: only from the configured proxies (uvicorn's
        default would trust 127.0.0.1, so anyone on the machine could claim any address)."""
        proxies = self.trusted_proxies.strip()
        return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}

    def session_secret(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
