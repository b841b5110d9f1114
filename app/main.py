"""create_app(): the web process. It never imports torch or the worker."""

from __future__ import annotations

import time

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware

from app.config import PACKAGE, Settings, get_settings
from app.db import database_url, make_engine, make_sessionmaker
from app.deps import csrf_protect, reject_nul
from app.web import errors
from app.web.streams import StreamSlots
from app.web.guards import BodyLimit, LoginGate
from app.web.login_throttle import KnownBrowsers, LoginThrottle
from app.web.routes import annotate, auth, dashboards, home, importing, jobs, projects, review, runs
from app.web.refs import Refs
from app.web.routes import data, exports, profile, users
from app.web.routes import training as training_routes
from app.web.routes import settings as settings_routes
from app.api import v1 as api_v1

SECURITY_HEADERS = {
    # KaTeX sets inline styles; no inline or remote script is ever needed.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class ResponseHeaders:
    """Security headers and Server-Timing on every response. Plain ASGI, not
    @app.middleware("http"): that one ends a streamed body cleanly when its generator
    fails, so a broken export would download as a complete-looking file; here the error
    reaches the server, which breaks the connection."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                # Server time, for the browser's devtools and bench/hot_path.py.
                headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    settings = settings or get_settings()
    if sessions is None:
        sessions = make_sessionmaker(make_engine(database_url(settings)))

    app = FastAPI(title="Derivation Lab", dependencies=[Depends(csrf_protect), Depends(reject_nul)], docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.sessionmaker = sessions
    app.state.login_throttle = LoginThrottle(settings.login_limit, settings.login_limit_per_address)
    app.state.known_browsers = KnownBrowsers(settings.session_secret())
    app.state.refs = Refs(settings.session_secret())  # annotators' opaque derivation and step references
    app.state.stream_slots = StreamSlots(settings.streams_per_user, settings.streams_total)
    app.add_middleware(LoginGate)  # inside the session middleware: it reads the session
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret(),
        session_cookie="derivlab_session",
        max_age=14 * 24 * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    app.add_middleware(BodyLimit, default_bytes=settings.max_body_kb * 1024, upload_mb=settings.import_max_mb)
    app.add_middleware(ResponseHeaders)

    app.mount("/static", StaticFiles(directory=PACKAGE / "static"), name="static")
    for module in (auth, home, annotate, projects, importing, runs, jobs, review, settings_routes, dashboards, profile,
                   exports, training_routes, users, data, api_v1):
        # /api/openapi.json documents the JSON API alone; the HTML pages are not an API
        app.include_router(module.router, include_in_schema=module is api_v1)
    app.openapi = lambda: _api_schema(app)
    errors.install(app)
    return app


def _api_schema(app: FastAPI) -> dict:
    """The JSON API's OpenAPI document, with the bearer scheme its every call needs declared."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title="Derivation Lab API", version="1", routes=app.routes,
                             description="Send `Authorization: Bearer TOKEN` with every call; make a token on "
                                         "your profile page.")
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An API token (dl_…) from your profile page"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema
