"""Refusals made before a request body is read (FastAPI reads a form before any
dependency runs, so these cannot be dependencies):

- BodyLimit: bodies over a size limit, from Content-Length when the client sends one,
  else while the chunks arrive. Uploads to the import page may be as large as
  IMPORT_MAX_MB (plus room for the form around the file); every other body is small.
- LoginGate: a state change by nobody logged in (no upload of theirs is ever parsed or
  spooled to disk); the login form itself and the token-authenticated API excepted."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

UPLOAD_PATHS = ("/import",)
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields beside the file


def _refuse(scope, message: str):
    """413 as the asker reads it: a flash for htmx, JSON for the API, else a small page."""
    headers = dict(scope["headers"])
    escaped = html.escape(message)
    if headers.get(b"hx-request") == b"true":
        body, kind = f'<div class="flash error"><strong>Too large:</strong> {escaped}</div>'.encode(), b"text/html"
        extra = [(b"hx-retarget", b"#flash"), (b"hx-reswap", b"innerHTML")]
    elif scope["path"].startswith("/api/") or b"application/json" in headers.get(b"accept", b""):
        body, kind, extra = json.dumps({"error": message}).encode(), b"application/json", []
    else:
        body = (f"<!doctype html><title>Too large</title><h1>Too large</h1><p>{escaped}</p>"
                '<p><a href="/">Derivation Lab</a></p>').encode()
        kind, extra = b"text/html; charset=utf-8", []
    return [
        {"type": "http.response.start", "status": 413,
         "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()),
                     (b"connection", b"close"), *extra]},
        {"type": "http.response.body", "body": body},
    ]


class BodyLimit:
    def __init__(self, app, *, default_bytes: int, upload_mb: int):
        self.app, self.default_bytes = app, default_bytes
        self.upload_bytes = upload_mb * 2**20 + FORM_OVERHEAD
        self.messages = {
            True: f"The file is larger than {upload_mb} MB, the import limit (IMPORT_MAX_MB); nothing was imported.",
            False: f"The request body is larger than {default_bytes // 1024} KiB, the limit (MAX_BODY_KB); nothing "
                   "was read or saved.",
        }

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["path"] in UPLOAD_PATHS
        limit = self.upload_bytes if upload else self.default_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            for message in _refuse(scope, self.messages[upload]):
                await send(message)
            return
        seen = 0
        started = refused = False

        async def counted_receive():
            # Over the limit: answer 413 now and tell the app the client went away (FastAPI turns
            # any error raised while it parses a body into a 400, so raising would lose the 413).
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not started:
                    refused = True
                    for answer in _refuse(scope, self.messages[upload]):
                        await send(answer)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except Exception:
            if not refused:
                raise


OPEN_PATHS = ("/login",)
API_PREFIX = "/api/"


class LoginGate:
    """Sits inside SessionMiddleware (it reads the decoded session). The user is checked
    in full (active, session generation) by deps.current_user once the route runs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS")
                or scope["path"] in OPEN_PATHS or scope["path"].startswith(API_PREFIX)
                or isinstance(scope.get("session", {}).get("uid"), int)):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        target = "/login?next=" + quote(scope["path"])
        if headers.get(b"hx-request") == b"true":
            start = {"type": "http.response.start", "status": 401,
                     "headers": [(b"hx-redirect", target.encode()), (b"content-type", b"application/json"),
                                 (b"content-length", b"2"), (b"connection", b"close")]}
            body = b"{}"
        else:
            start = {"type": "http.response.start", "status": 303,
                     "headers": [(b"location", target.encode()), (b"content-length", b"0"), (b"connection", b"close")]}
            body = b""
        await send(start)
        await send({"type": "http.response.body", "body": body})
