"""Project guidelines are markdown (markdown-it-py, CommonMark). Raw HTML is off, so what
an admin writes is escaped, and markdown-it refuses javascript:/vbscript: links."""

from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> Markup:
    return Markup(_md.render(text or ""))
