"""The one render helper: a full page, or just the named block for an htmx request."""

from __future__ import annotations

import hashlib
from datetime import timezone
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import pass_context
from jinja2_fragments.fastapi import Jinja2Blocks

from app.config import PACKAGE
from app.deps import csrf_token
from app.math.latex import display_form, is_mixed, split_steps
from app.web.markdown import render_markdown
from app.services.annotating import STATE_TEXT, state_of
from app.services.event_text import describe

templates = Jinja2Blocks(directory=str(PACKAGE / "templates"))
templates.env.globals["csrf_token"] = csrf_token


@pass_context
def _ref(context, number: int) -> str:
    """A derivation's or step's opaque reference (app.web.refs), for annotators' pages."""
    return context["request"].app.state.refs.encode(number)


templates.env.filters["ref"] = _ref
templates.env.filters["steps"] = split_steps
templates.env.filters["display_form"] = display_form
templates.env.filters["is_mixed"] = is_mixed
templates.env.filters["markdown"] = render_markdown
templates.env.filters["hash"] = lambda text: hashlib.sha1(text.encode()).hexdigest()[:12]
templates.env.globals["STATE_TEXT"] = STATE_TEXT
templates.env.globals["describe_event"] = describe
templates.env.filters["iso"] = lambda at: at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if at else ""
templates.env.globals["state_of"] = state_of


def is_fragment_request(request: Request) -> bool:
    # A history restore wants the whole page even though htmx sends it.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    ctx = {"user": getattr(request.state, "user", None), **(context or {})}
    if block and is_fragment_request(request):
        response = templates.TemplateResponse(request, template, ctx, block_name=block, status_code=status_code)
    else:
        response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
