"""The HTML page: an upload form, then the top-5 as bars (and the extras the run offers), or a one-line error.

No JavaScript: the form posts to "/" and the answer is the same page with the result, so it works in any
browser and in scripts alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import Environment

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>actionlab · {{ method }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.bar { background: #e8eef7; height: 1.2rem; width: 100%; }
.fill { background: #3a6fb0; height: 100%; }
td { padding: .2rem .5rem; } td.label { white-space: nowrap; } td.barcell { width: 60%; }
.error { color: #a00; font-weight: 600; } img { max-width: 100%; } .note { color: #666; font-size: .9rem; }
</style></head><body>
<h1>actionlab: {{ method }}</h1>
<p class="note">{{ classes|length }} classes · upload limit {{ max_mb }} MB · run {{ run_name }}</p>
<form method="post" action="/" enctype="multipart/form-data">
  <input type="file" name="file" id="file" accept="video/*,image/*" required>
  <button type="submit" id="submit">Predict</button>
</form>
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
{% if result %}
<h2 id="video-name">{{ result.name }}</h2>
<p>Top label: <strong id="top-label">{{ result.ranked.labels[0][0] }}</strong></p>
<table id="top5">
{% for label, score in result.ranked.labels %}
<tr><td class="label">{{ label }}</td>
<td class="barcell"><div class="bar">
<div class="fill" style="width: {{ '%.1f'|format(100 * score) }}%"></div></div></td>
<td>{{ '%.3f'|format(score) }}</td></tr>
{% endfor %}
</table>
{% for extra in result.extras %}
<h3>{{ extra.title }}</h3>
{% if extra.png %}<img alt="{{ extra.title }}" src="data:image/png;base64,{{ extra.png }}">{% endif %}
{% if extra.text %}<p class="note">{{ extra.text }}</p>{% endif %}
{% endfor %}
{% endif %}
</body></html>
"""

_TEMPLATE = Environment(autoescape=True).from_string(TEMPLATE)


@dataclass(frozen=True)
class Extra:
    """An optional section under the result: a titled PNG (base64) and/or a one-line note."""

    title: str
    png: str = ""
    text: str = ""


@dataclass(frozen=True)
class Result:
    """What the page shows for one upload."""

    name: str
    ranked: object  # predictor.Ranked
    extras: list[Extra] = field(default_factory=list)


def render_page(
    method: str,
    classes: list[str],
    max_mb: float,
    run_name: str,
    result: Result | None = None,
    error: str | None = None,
) -> str:
    """The page's HTML (every value escaped)."""
    return _TEMPLATE.render(
        method=method, classes=classes, max_mb=f"{max_mb:g}", run_name=run_name, result=result, error=error
    )
