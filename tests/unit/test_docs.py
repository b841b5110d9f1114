"""The README stays the newcomer's first screen; the manual lives in docs/ (built by MkDocs,
`make docs`, --strict in CI)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_is_short_and_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 200
    first_screen = "\n".join(text.splitlines()[:20])
    assert "make run" in first_screen and "make test" in first_screen


def test_every_docs_page_is_in_the_site_and_every_readme_link_resolves():
    nav = set(re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert nav == pages
    for target in re.findall(r"\]\((docs/[^)#\s]+)", (ROOT / "README.md").read_text()):
        assert (ROOT / target).exists(), target
