"""A small client for Derivation Lab's JSON API (/api/v1), for evaluation scripts.

    from derivlab.client import Client

    lab = Client("http://127.0.0.1:8000", token="dl_...")      # a token from your profile page
    project = lab.create_project("llama-cot", preset="processbench")
    lab.push_derivations(project["id"], [{"problem_id": "q1", "prompt": "...", "model": "llama",
                                          "steps": ["...", "..."]}])
    lab.push_predictions(project["id"], "my-prm", [{"derivation_id": 7, "step_index": 2,
                                                    "label": "first_error", "verdict": "yes", "score": 0.91}])
    rows = lab.annotations(project["id"])                      # every submitted annotation
    new = lab.annotations(project["id"], since=rows[-1]["submitted_at"])

Errors come back as `DerivationLabError` with the server's message and details.
"""

from __future__ import annotations

from typing import Any

import httpx

PAGE = 1000


class DerivationLabError(RuntimeError):
    def __init__(self, status: int, message: str, details: list[str] | None = None):
        super().__init__(f"{status}: {message}" + ("".join(f"\n  {d}" for d in details) if details else ""))
        self.status, self.message, self.details = status, message, details or []


class Client:
    def __init__(self, base_url: str, token: str, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None,
                 page_size: int = PAGE):
        self.page_size = page_size  # rows per request when reading a whole list
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/api/v1", timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise DerivationLabError(response.status_code, body.get("error") or body.get("detail") or response.text,
                                     body.get("details"))
        return response

    # --- reading ---------------------------------------------------------------------------
    def me(self) -> dict:
        return self._call("GET", "/me")

    def projects(self, archived: bool | None = None) -> list[dict]:
        """Every project (archived: True only archived ones, False only the others)."""
        return self._pages("/projects", {} if archived is None else {"archived": archived})

    def project(self, project_id: int) -> dict:
        return self._call("GET", f"/projects/{project_id}")

    def project_id(self, name: str) -> int:
        for p in self.projects():
            if p["name"] == name:
                return p["id"]
        raise DerivationLabError(404, f"project '{name}' does not exist")

    def derivations(self, project_id: int, **filters) -> list[dict]:
        return self._pages(f"/projects/{project_id}/derivations", filters)

    def annotations(self, project_id: int, since: str | None = None) -> list[dict]:
        """Submitted annotations, oldest submission first; `since`: only those submitted after it."""
        return self._pages(f"/projects/{project_id}/annotations", {"since": since} if since else {})

    def stats(self, project_id: int, **filters) -> dict:
        """The dashboards' numbers (filters: model, perturbation, ...)."""
        return self._call("GET", f"/projects/{project_id}/stats", params=filters)

    def training(self, project_id: int, kind: str, fmt: str = "jsonl", **filters) -> bytes:
        """A training export's bytes (kind: step-rewards, preference-pairs, corrections; fmt: jsonl or
        parquet); write them to a file and load it with `datasets.load_dataset`."""
        response = self._http.get(f"/projects/{project_id}/training/{kind}.{fmt}", params=filters)
        if response.status_code >= 400:
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            raise DerivationLabError(response.status_code, body.get("error") or response.text, body.get("details"))
        return response.content

    def _pages(self, path: str, params: dict) -> list[dict]:
        """Every row of a list: the server's Link header names the next page until the last."""
        response = self._send("GET", path, params={**params, "limit": self.page_size, "offset": 0})
        out = response.json()
        while "next" in response.links:
            response = self._send("GET", response.links["next"]["url"])
            out += response.json()
        return out

    # --- writing ---------------------------------------------------------------------------
    def create_project(self, name: str, *, description: str = "", preset: str | None = None) -> dict:
        return self._call("POST", "/projects", json={"name": name, "description": description, "preset": preset})

    def update_project(self, project_id: int, *, name: str | None = None, description: str | None = None,
                       archived: bool | None = None) -> dict:
        """Rename, re-describe, archive or bring back (what is None stays as it was)."""
        body = {k: v for k, v in {"name": name, "description": description, "archived": archived}.items()
                if v is not None}
        return self._call("PATCH", f"/projects/{project_id}", json=body)

    def delete_project(self, project_id: int, *, confirm: str) -> None:
        """Delete the project and all it holds; `confirm` must be its name."""
        self._call("DELETE", f"/projects/{project_id}", params={"confirm": confirm})

    def push_derivations(self, project_id: int, records: list[dict], *, all_or_nothing: bool = False,
                         split: str = "and") -> dict:
        """{received, added, existing, rejected: [{index, errors}]}; the same records again add nothing."""
        return self._call("POST", f"/projects/{project_id}/derivations",
                          json={"derivations": records, "all_or_nothing": all_or_nothing, "split": split})

    def push_predictions(self, project_id: int, source: str, predictions: list[dict]) -> dict:
        return self._call("POST", f"/projects/{project_id}/predictions",
                          json={"source": source, "predictions": predictions})
