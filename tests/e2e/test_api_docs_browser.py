"""/api/docs renders the API reference under the app's Content-Security-Policy (it was
blank when Swagger UI came from a CDN the CSP blocks): vendored files only."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_api_reference_renders_from_vendored_files(server, page):
    from playwright.sync_api import expect

    base, _ = server
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(base + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Derivation Lab")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/projects/{project_id}/export").first).to_be_visible()
    assert all(url.startswith(base) or url.startswith("data:") for url in requested), requested
