"""Domain errors become a message in the page's flash area (htmx), a page, or JSON."""

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from app.errors import DomainError, LoginRequired, StaleAnnotation
from app.web.templating import is_fragment_request, render


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
        target = f"/derivations/{exc.derivation_id}?changed=true"
        if request.headers.get("HX-Request") == "true":
            return JSONResponse({"error": exc.message}, status_code=409, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if is_fragment_request(request):
        # Errors go to the flash area, not into whatever the element targeted.
        return render(request, "partials/error.html", {"error": exc}, status_code=exc.status_code,
                      headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return render(request, "pages/error.html", {"error": exc}, status_code=exc.status_code)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
