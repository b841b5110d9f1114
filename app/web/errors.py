"""Domain errors become a message in the page's flash area (htmx), a page, or JSON."""

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError, InvalidInput, LoginRequired, StaleAnnotation, from_database
from app.web.templating import is_fragment_request, render

logger = logging.getLogger("derivlab")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or (
        "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get("accept", "")
    )


async def handle_domain_error(request: Request, exc: DomainError):
    if _wants_json(request):
        return JSONResponse({"error": exc.message, "details": exc.details}, status_code=exc.status_code)
    if isinstance(exc, LoginRequired):
        target = "/login?next=" + quote(request.url.path + ("?" + request.url.query if request.url.query else ""))
        if request.headers.get("HX-Request") == "true":
            return JSONResponse({}, status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if isinstance(exc, StaleAnnotation):  # show the tab the current state, and why
        target = f"/derivations/{request.app.state.refs.encode(exc.derivation_id)}?changed=true"
        if request.headers.get("HX-Request") == "true":
            return JSONResponse({"error": exc.message}, status_code=409, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if is_fragment_request(request):
        # Errors go to the flash area, not into whatever the element targeted.
        return render(request, "partials/error.html", {"error": exc}, status_code=exc.status_code,
                      headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return render(request, "pages/error.html", {"error": exc}, status_code=exc.status_code)


async def handle_database_error(request: Request, exc: DBAPIError):
    """PostgreSQL failed the request (a restart, a full disk, a refused statement): a clear
    message instead of a bare 500; 503s can be retried (the pool pings before reuse, so
    the first request after the server is back works)."""
    error = from_database(exc)
    if error.status_code == 500:
        logger.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    response = await handle_domain_error(request, error)
    if error.status_code == 503:
        response.headers["Retry-After"] = "5"
    return response


def _field(loc) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path", "header", "form"))


async def handle_validation_error(request: Request, exc: RequestValidationError):
    """A request FastAPI could not read into the route's parameters (a seed of "-inf", a
    missing field): the same clear message as any bad input, each field named. The input is
    quoted with repr(): it may be a float JSON cannot carry (-inf, nan)."""
    details = [f"{_field(e.get('loc', ())) or 'request'}: {e.get('msg', 'not valid')} (got {e.get('input')!r})"
               if "input" in e else f"{_field(e.get('loc', ())) or 'request'}: {e.get('msg', 'not valid')}"
               for e in exc.errors()]
    return await handle_domain_error(request, InvalidInput("Some fields of this request are not valid.",
                                                           details=details[:20]))


async def handle_http_error(request: Request, exc: StarletteHTTPException):
    """What the router itself refuses (no such route, a method the route lacks): in the same
    shape as every other error, {error, details} for the API, a page for a browser."""
    if exc.status_code == 404:
        message = f"There is no {request.method} {request.url.path} here."
        details = ["the API's routes are listed at /api/openapi.json"] if request.url.path.startswith("/api/") else []
    elif exc.status_code == 405:
        message = f"{request.url.path} does not answer {request.method}."
        allow = {k.lower(): v for k, v in (exc.headers or {}).items()}.get("allow")
        details = [f"allowed: {allow}"] if allow else []
    else:
        message, details = str(exc.detail), []
    error = DomainError(message, details=details)
    error.status_code, error.title = exc.status_code, {404: "Not found", 405: "Method not allowed"}.get(
        exc.status_code, DomainError.title)
    response = await handle_domain_error(request, error)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(DBAPIError, handle_database_error)
