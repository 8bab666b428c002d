"""Confusion matrices as HTML heat-map tables: counts stay readable text at any class count, cells are coloured
by the row-normalised share, and a 51-class matrix renders in milliseconds (matplotlib took seconds per
annotated matrix, which six methods' video and single-frame matrices multiplied)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actionlab.report.markup import esc
from actionlab.report.plots import most_confused

CSS = """
table.cm{font-size:0.7em}
table.cm td{padding:0;min-width:1.7em;height:1.7em;text-align:center;border:1px solid #eee}
table.cm th{padding:2px;font-weight:normal;background:#fafafa}
table.cm th.rot{vertical-align:bottom;height:9em}
table.cm th.rot span{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:9em;
  overflow:hidden;text-overflow:ellipsis;display:inline-block}
table.cm td:first-child,table.cm th:first-child{text-align:right;white-space:nowrap;max-width:12em;overflow:hidden;
  text-overflow:ellipsis}
"""


def confusion_table(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str, max_classes: int | None = 20
) -> str:
    """A heat-map table (rows = true class, columns = predicted) of the most confused `max_classes` classes."""
    cm = np.asarray(confusion, dtype=np.int64)
    keep = most_confused(cm, max_classes or len(classes))
    shares = cm[np.ix_(keep, keep)] / np.maximum(cm[keep].sum(axis=1, keepdims=True), 1)
    names = [classes[i] for i in keep]
    head = (
        "<tr><th>true \\ predicted</th>"
        + "".join(f'<th class="rot" title="{esc(n)}"><span>{esc(n)}</span></th>' for n in names)
        + "</tr>"
    )
    rows = []
    for r, i in enumerate(keep):
        cells = []
        for c, j in enumerate(keep):
            v, a = int(cm[i, j]), float(shares[r, c])
            colour = "#fff" if a > 0.5 else "#222"
            style = f"background:rgba(31,119,180,{a:.2f});color:{colour}" if v else ""
            cells.append(f'<td style="{style}" title="{esc(classes[i])} as {esc(classes[j])}: {v}">{v or ""}</td>')
        rows.append(f'<tr><th title="{esc(classes[i])}">{esc(classes[i])}</th>{"".join(cells)}</tr>')
    subset = f" ({len(keep)} most confused of {len(classes)})" if len(keep) < len(classes) else ""
    return f'<b>{esc(title)}{esc(subset)}</b><div class="wrap"><table class="cm">{head}{"".join(rows)}</table></div>'
