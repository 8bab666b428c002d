"""HTML building blocks of the report: escaping, embedded images, tables, collapsible blocks, sections.

Sections are small functions returning HTML strings built from these helpers (every value passes through
`esc`), rather than Jinja2 templates: the page is ~15 data-driven blocks whose structure is code (sorting,
top-N cut-offs, optional columns), which a template would only move into a second language.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import Any

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1340px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.text{text-align:left;white-space:normal;max-width:38em;overflow-wrap:anywhere}
th{background:#f0f0f0;white-space:normal;vertical-align:bottom}
table.results td:first-child{white-space:normal;min-width:8em}
td.small{font-size:0.85em;white-space:normal;text-align:left;min-width:10em;max-width:16em}
td.best{background:#c8f0c8;font-weight:bold}
td.flag{background:#fde2c8}
.wrap{max-width:100%;overflow-x:auto}
img{max-width:100%;height:auto;margin:0.4em 0;display:block}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:0.8em}
.grid>div{min-width:0}
.grid.wide{grid-template-columns:repeat(auto-fill,minmax(600px,1fr))}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:1em}
.cols>div{min-width:0}
section.method{border-top:2px solid #ddd;margin-top:1.2em}
details{margin:0.4em 0}
summary{cursor:pointer;color:#235}
pre{background:#f6f6f6;padding:0.6em;overflow-x:auto;font-size:0.8em;max-width:100%}
.note{color:#555;font-size:0.9em}
.conclusion{font-size:1.05em;font-weight:600}
"""


def esc(value: Any) -> str:
    """HTML-escaped text of any value."""
    return html.escape(str(value))


def img(png: bytes, alt: str) -> str:
    """An <img> with the PNG embedded as base64 (the page stays one self-contained file)."""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def table(header: Sequence[str] | None, rows: Sequence[Sequence[Any]], raw: bool = False) -> str:
    """A table in a horizontally scrollable box (no header row when None); cells are escaped unless `raw`
    (pre-built <td> markup)."""
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + ("".join(r) if raw else "".join(f"<td>{esc(c)}</td>" for c in r)) + "</tr>" for r in rows)
    return f'<div class="wrap"><table>{head}{body}</table></div>'


def details(summary: str, content: str) -> str:
    """A collapsible block (closed by default)."""
    return f"<details><summary>{esc(summary)}</summary>{content}</details>"


def section(sid: str, title: str, content: str, level: int = 2, cls: str = "") -> str:
    """A <section id=...> with its heading: the browser test finds every section by id."""
    klass = f' class="{cls}"' if cls else ""
    return f'<section id="{esc(sid)}"{klass}><h{level}>{esc(title)}</h{level}>{content}</section>'


def note(text: str) -> str:
    """A grey explanatory paragraph."""
    return f'<p class="note">{esc(text)}</p>'


def num(value: Any, fmt: str = "{:.3f}") -> str:
    """A formatted number, or an en dash for a missing one."""
    return fmt.format(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"
