"""The report's plots as inline SVG, drawn here: no library, nothing fetched, so the pages
open offline. Each function returns one <svg> element as text; every label is escaped."""

from __future__ import annotations

from html import escape

_FONT = 'font-family="sans-serif" font-size="11"'
_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#805ad5", "#b7791f", "#c53030")


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (f'<svg class="plot" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def coverage(rows: list[tuple[str, set[int]]], years: list[int]) -> str:
    """Body × year: a filled cell where the body has a report of that year."""
    if not rows or not years:
        return ""
    cell_w, left, top = 28, 8, 18
    cell_h = min(12.0, max(0.5, 600 / len(rows)))
    body = [f'<text x="{left + i * cell_w + cell_w / 2}" y="12" text-anchor="middle" {_FONT}>{y}</text>'
            for i, y in enumerate(years)]
    for j, (name, have) in enumerate(rows):
        for i, y in enumerate(years):
            fill = _COLOURS[0] if y in have else "#edf2f7"
            # a tooltip per cell while they are few enough to point at (and the page stays small)
            tip = f"<title>{escape(name)} {y}</title>" if len(rows) <= 300 else ""
            body.append(f'<rect x="{left + i * cell_w + 1}" y="{top + j * cell_h:.2f}" width="{cell_w - 2}" '
                        f'height="{max(cell_h - (1 if cell_h > 3 else 0), 0.5):.2f}" fill="{fill}">{tip}</rect>')
    return _svg(left * 2 + cell_w * len(years), top + cell_h * len(rows) + 4, body,
                f"coverage: {len(rows)} bodies × {len(years)} years")


def bars(items: list[tuple[str, float, str]], title: str) -> str:
    """Horizontal bars of shares in [0, 1]: (label, share, note shown at the bar's end)."""
    if not items:
        return ""
    label_w, bar_w, row_h = 150, 260, 18
    body = []
    for j, (label, share, note) in enumerate(items):
        y = j * row_h
        body += [f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" {_FONT}>{escape(label)}</text>',
                 f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 6}" fill="#edf2f7"/>',
                 f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * share:.1f}" height="{row_h - 6}" '
                 f'fill="{_COLOURS[1]}"/>',
                 f'<text x="{label_w + bar_w + 6}" y="{y + 13}" {_FONT}>{escape(note)}</text>']
    return _svg(label_w + bar_w + 120, row_h * len(items) + 4, body, title)


def histogram(values: list[float], title: str, bins: int = 10) -> str:
    """Shares in [0, 1] counted in `bins` equal bins."""
    counts = [0] * bins
    for v in values:
        counts[min(int(v * bins), bins - 1) if v >= 0 else 0] += 1
    width, height, bottom = 220, 110, 16
    peak = max(counts) or 1
    bar = width / bins
    body = [f'<text x="0" y="11" {_FONT} font-weight="bold">{escape(title)} (n = {len(values)})</text>']
    for i, n in enumerate(counts):
        h = (height - bottom - 18) * n / peak
        body.append(f'<rect x="{i * bar + 1:.1f}" y="{height - bottom - h:.1f}" width="{bar - 2:.1f}" '
                    f'height="{h:.1f}" fill="{_COLOURS[0]}"><title>{i / bins:.1f}–{(i + 1) / bins:.1f}: {n}'
                    f"</title></rect>")
    body += [f'<text x="0" y="{height - 3}" {_FONT}>0</text>',
             f'<text x="{width}" y="{height - 3}" text-anchor="end" {_FONT}>1</text>']
    return _svg(width, height, body, title)


def lines(years: list[int], series: dict[str, list[float | None]], title: str) -> str:
    """One line per series over the years (a gap where a year has no value)."""
    if not years:
        return ""
    width, height, left, bottom, top = 420, 180, 40, 20, 10
    peak = max([v for vals in series.values() for v in vals if v is not None] or [1]) or 1
    span = max(years[-1] - years[0], 1)

    def x(year: int) -> float:
        return left + (width - left - 130) * (year - years[0]) / span if len(years) > 1 else left + 20

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / peak)

    body = [f'<line x1="{left}" y1="{y(0)}" x2="{width - 130}" y2="{y(0)}" stroke="#a0aec0"/>',
            f'<text x="{left - 4}" y="{y(peak) + 4}" text-anchor="end" {_FONT}>{peak:g}</text>',
            f'<text x="{left - 4}" y="{y(0) + 4}" text-anchor="end" {_FONT}>0</text>']
    body += [f'<text x="{x(yr)}" y="{height - 4}" text-anchor="middle" {_FONT}>{yr}</text>' for yr in years]
    for k, (name, values) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        points = [(x(yr), y(v)) for yr, v in zip(years, values) if v is not None]
        if len(points) > 1:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                        + " ".join(f"{px:.1f},{py:.1f}" for px, py in points) + '"/>')
        body += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in points]
        body.append(f'<text x="{width - 122}" y="{top + 12 + 14 * k}" fill="{colour}" {_FONT}>{escape(name)}</text>')
    return _svg(width, height, body, title)
