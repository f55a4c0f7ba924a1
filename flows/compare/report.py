"""The HTML report: DIR/index.html (every body, sortable, with the dataset's plots) and one
page per body in DIR/bodies/ (each pair of years: rule results, the text sections side by
side with the passages found in the other year marked, every figure with its change).
Jinja2 with autoescape; CSS, script and SVG are inline and the pages forbid loading
anything (Content-Security-Policy), so they read the same offline."""

from __future__ import annotations

import hashlib
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup, escape

from extractors.standard_model import TEXT_KEYS

from ..outputs import write_text_atomic
from . import plots
from .reuse import marked_html

BODIES = "bodies"
_SECTION_NAMES = {"text.overview": "一、总体情况", "text.problems": "五、存在的主要问题及改进情况",
                  "text.other": "六、其他需要报告的事项", "report": "whole report"}

_HEAD = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #1a202c; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #cbd5e0; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #edf2f7; }
table.sortable th { cursor: pointer; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.fail { color: #c53030; font-weight: bold; } .flag { color: #c05621; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side div { white-space: pre-wrap; border: 1px solid #cbd5e0; padding: .5em; }
mark { background: #fefcbf; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
</style></head><body>
"""

_SORT = """<script>
for (const table of document.querySelectorAll("table.sortable")) {
  table.querySelectorAll("th").forEach((th, col) => th.addEventListener("click", () => {
    const rows = Array.from(table.tBodies[0].rows);
    const up = th.dataset.dir !== "up";
    const value = r => { const c = r.cells[col]; const v = c.dataset.v ?? c.textContent.trim();
                         return v === "" || isNaN(v) ? v : Number(v); };
    rows.sort((a, b) => { const x = value(a), y = value(b);
      const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return up ? order : -order; });
    table.querySelectorAll("th").forEach(h => delete h.dataset.dir);
    th.dataset.dir = up ? "up" : "down";
    rows.forEach(r => table.tBodies[0].appendChild(r));
  }));
}
</script>
"""

INDEX = _HEAD + """<h1>Across years: {{ bodies|length }} bodies</h1>
<p>Source: {{ source }}. {{ summary.reports }} reports, {{ summary.pairs }} pairs of consecutive years,
{{ summary.gaps }} gaps (years not paired across), {{ summary.skipped }} documents not compared
(see pairs.csv). Cross-year rules: {{ summary.checks }} checked, {{ summary.failed_source }} failed
in the reports themselves (source), {{ summary.failed_extraction }} failed where a reading is in doubt
(extraction; review.csv).</p>
<div class="plots">
<figure><figcaption>Coverage: body × year</figcaption>{{ coverage|safe }}</figure>
<figure><figcaption>Cross-year rule failure rates</figcaption>{{ failures|safe }}</figure>
</div>
<h2>Derived measures, latest year of each body</h2>
<div class="plots">{% for svg in histograms %}<figure>{{ svg|safe }}</figure>{% endfor %}</div>
<h2>Bodies</h2>
<p>Click a column's heading to sort by it. Reuse: the share of the latest report's text found in the
year before's (1 = copied). Largest moves: the latest pair's flagged or largest changes.</p>
<table class="sortable" id="bodies"><thead><tr><th>body</th><th>names used</th><th>years</th>
<th>pairs</th><th>reuse (latest)</th><th>X2/X3 failed</th><th>largest moves (latest)</th></tr></thead><tbody>
{% for b in bodies %}<tr><td><a href="{{ b.href }}">{{ b.name }}</a></td><td>{{ b.names|join("; ") }}</td>
<td>{{ b.years|join(", ") }}</td><td class="num">{{ b.pairs }}</td>
<td class="num" data-v="{{ b.reuse if b.reuse is not none else '' }}">{{ pct(b.reuse) }}</td>
<td class="num{{ ' fail' if b.failed }}" data-v="{{ b.failed }}">{{ b.failed }}</td>
<td>{% for m in b.moves %}{{ m.field }} {{ num(m.previous) }} → {{ num(m.current) }}{% if m.flag %} <span class="flag">({{ m.flag }})</span>{% endif %}{% if not loop.last %}; {% endif %}{% endfor %}</td></tr>
{% endfor %}</tbody></table>
""" + _SORT + "</body></html>\n"

BODY = _HEAD + """<p><a href="../index.html">all bodies</a></p>
<h1>{{ body.name }}</h1>
<p>Names used: {{ body.names|join("; ") }}. Years: {{ years|join(", ") }}.</p>
{% for note in notes %}<p class="flag">{{ note.year }}: {{ note.status }} — {{ note.detail }}</p>{% endfor %}
<figure><figcaption>Requests and outcomes over the years</figcaption>{{ trend|safe }}</figure>
<h2>Derived measures</h2>
<table><thead><tr><th>year</th>{% for m in measure_names %}<th>{{ m }}</th>{% endfor %}</tr></thead><tbody>
{% for year, ms in measures %}<tr><td>{{ year }}</td>{% for m in measure_names %}<td class="num">{{ pct(ms[m]) }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% for p in pairs %}
<section class="pair" id="y{{ p.year }}"><h2>{{ p.year }} against {{ p.previous_year }}</h2>
<p>{{ p.document }} against {{ p.previous_document }}</p>
<h3>Cross-year rules</h3>
{% if p.checks %}<table><thead><tr><th>rule</th><th>scope</th><th>status</th><th>blame</th><th>detail</th></tr></thead><tbody>
{% for c in p.checks %}<tr><td>{{ c.rule }}</td><td>{{ c.scope }}</td><td class="{{ 'fail' if c.status == 'fail' }}">{{ c.status }}</td>
<td>{{ c.blame or "" }}</td><td>{{ c.detail }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>Neither year states the figures X2 and X3 compare.</p>{% endif %}
<h3>Text: reuse {{ pct(p.reuse.report) }}</h3>
{% for s in p.sections %}<h4>{{ s.title }}: reuse {{ pct(s.reuse) }}</h4>
<div class="side"><div class="previous"><strong>{{ p.previous_year }}</strong>
{{ s.previous|safe }}</div><div class="current"><strong>{{ p.year }}</strong>
{{ s.current|safe }}</div></div>{% endfor %}
<h3>Figures</h3>
<table class="sortable"><thead><tr><th>field</th><th>{{ p.previous_year }}</th><th>{{ p.year }}</th><th>change</th>
<th>relative</th><th>flag</th></tr></thead><tbody>
{{ figure_rows(p.changes) }}</tbody></table>
<p>Fields 0 or blank in both years are not listed.</p>
</section>
{% endfor %}
""" + _SORT + "</body></html>\n"


def _num(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.0f} %"


def _figure_rows(changes: list[dict]) -> Markup:
    """The rows of a pair's figures table, built here: a body's pages hold hundreds of them,
    and through the template's per-cell calls they took most of compare's time."""
    out = []
    for c in changes:
        rel = c["relative_change"]
        out.append(f'<tr><td>{escape(c["field"])}</td><td class="num">{_num(c["previous"])}</td>'
                   f'<td class="num">{_num(c["current"])}</td><td class="num">{_num(c["change"])}</td>'
                   f'<td class="num" data-v="{"" if rel is None else rel}">{_pct(rel)}</td>'
                   f'<td class="flag">{escape(c["flag"])}</td></tr>\n')
    return Markup("".join(out))


_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_env.globals.update(num=_num, pct=_pct, figure_rows=_figure_rows)
_index = _env.from_string(INDEX)
_body = _env.from_string(BODY)


def body_href(key: str) -> str:
    return f"{BODIES}/{hashlib.sha1(key.encode()).hexdigest()[:16]}.html"


def section_views(current: dict, previous: dict, reuse: dict[str, float | None]) -> list[dict]:
    """The text sections of a pair side by side, each side's passages found in the other marked."""
    views = []
    for key in TEXT_KEYS:
        cur, prev = current.get(key), previous.get(key)
        cur, prev = (v if isinstance(v, str) else None for v in (cur, prev))
        if cur or prev:
            views.append({"title": _SECTION_NAMES[key], "reuse": reuse.get(key),
                          "current": marked_html(cur, prev), "previous": marked_html(prev, cur)})
    return views


def write_body_page(out: Path, body, pairs: list[dict], measures: list[tuple[int, dict]],
                    measure_names: list[str]) -> None:
    years = sorted(body.reports)

    def series(*keys: str) -> list[float | None]:
        values = []
        for y in years:
            got = [body.reports[y].fields.get(k) for k in keys]
            got = [v for v in got if isinstance(v, (int, float)) and not isinstance(v, bool)]
            values.append(sum(got) if got else None)
        return values

    trend = plots.lines(years, {"new requests": series("requests.new.total"),
                                "handled (总计)": series("requests.total.total"),
                                "granted + partial": series("requests.granted.total", "requests.partial.total"),
                                "carried forward": series("requests.carry_forward.total")},
                        f"{body.name}: requests and outcomes")
    notes = [n for n in body.notes if n["status"] in ("gap", "duplicate")]
    page = _body.render(title=body.name, body=body, years=years, notes=notes, trend=trend,
                        pairs=sorted(pairs, key=lambda p: -p["year"]), measures=measures,
                        measure_names=measure_names)
    # Not fsynced one by one (3 000 pages would wait seconds on the disk): the index, written
    # atomically last, is what links them; a crash leaves the last run's index whole.
    (out / body_href(body.key)).write_text(page, encoding="utf-8")


def write_index(out: Path, source: str, rows: list[dict], summary: dict, coverage_rows, years,
                failure_items, histograms) -> None:
    page = _index.render(title="nianbao compare", source=source, bodies=rows, summary=summary,
                         coverage=plots.coverage(coverage_rows, years),
                         failures=plots.bars(failure_items, "cross-year rule failure rates"),
                         histograms=histograms)
    write_text_atomic(out / "index.html", page)
