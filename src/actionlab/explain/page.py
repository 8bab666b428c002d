"""index.html of an explain folder: per video its grid PNG, the class explained and the top-5 scores."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from actionlab.atomic import atomic_write

ROW_HELP = {
    "activation": "channel mean of |activation| of the last convolutional stage ({layer}), min-max scaled over "
    "the video",
    "gradcam": "Grad-CAM of the explained class at {layer}: where positive evidence for it lies",
    "guided": "guided backpropagation: |input gradient| through positive ReLU paths only, averaged over "
    "{shifts} sub-stride shifts of the input",
}
STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:1400px}img{max-width:100%;image-rendering:pixelated}"
    "table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
    "section{margin-bottom:2em}.err{color:#a00}"
)


@dataclass
class PageEntry:
    """One video on the page: its grid PNG (relative to the page) and scores, or the reason it failed."""

    video: str
    png: str | None = None
    target: str = ""
    top: list[tuple[str, float]] | None = None
    error: str | None = None


def render_page(run: str, method: str, entries: list[PageEntry], rows: dict[str, str], shifts: int) -> str:
    """The HTML text; `rows` maps each computed map to its layer name (for the legend)."""
    legend = "".join(
        f"<li><b>{escape(name)}</b>: {escape(ROW_HELP[name].format(layer=layer, shifts=shifts))}</li>"
        for name, layer in rows.items()
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>explain {escape(run)}</title>"
        f"<style>{STYLE}</style></head><body><h1>Explanations: {escape(method)} run {escape(run)}</h1>",
        f"<ul>{legend}</ul>",
    ]
    for e in entries:
        parts.append(f"<section><h2>{escape(e.video)}</h2>")
        if e.error is not None:
            parts.append(f"<p class='err'>not explained: {escape(e.error)}</p></section>")
            continue
        scores = "".join(
            f"<tr><td>{i + 1}</td><td>{escape(label)}</td><td>{score:.3f}</td></tr>"
            for i, (label, score) in enumerate(e.top or [])
        )
        parts.append(
            f"<p>explained class: <b>{escape(e.target)}</b></p><table><tr><th>#</th><th>class</th>"
            f"<th>score</th></tr>{scores}</table><img src='{escape(e.png or '')}' alt='maps of "
            f"{escape(e.video)}'></section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_page(path: Path, html: str) -> Path:
    """Write index.html atomically."""

    def write(tmp: Path) -> None:
        tmp.write_text(html, encoding="utf-8")

    return atomic_write(path, write)
