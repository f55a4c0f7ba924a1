"""The columns of a text dump's table, for showing it aligned.

A text dump writes a table one cell a line, with no spans: a cell merged down from the row
above is written as an empty cell in each row it covers, and a cell merged across is
written once. A row's cells are therefore not its columns ("一、本年新收…" is one cell
before its figures where "（三）不予公开 | 1、属于国家秘密" are two). The columns are
rebuilt from the rows' structure, as the template reads a row (labels, then figures):

- a row with a figure, or with as many cells as the table has figure columns, puts its last
  cells in the figure columns, right-aligned, and its first cells in the label columns, the
  last of them spanning what is left of those;
- a header row above is placed over the row under it: a cell over an empty (merged-down)
  cell takes that cell's columns, a cell over a run of headings spans the run (several
  cells over one run share it evenly, where it divides evenly);
- a header row that cannot be placed so spans the whole table, its texts in order.
"""

from __future__ import annotations

from dataclasses import dataclass

from extractors.document import Cell, Table
from extractors.template.rows import split_row
from extractors.template.values import is_value_text


@dataclass(frozen=True)
class Placed:
    cell: Cell | None  # None: a header row's texts joined across the table (see below)
    col: int
    span: int
    text: str
    merged: bool = False  # empty in the dump for a cell merged down from above (a blank figure is not)


def dump_grid(table: Table) -> tuple[int, list[list[Placed]]] | None:
    """(number of columns, each row's cells with their columns); None for a table without
    figures, which has no figure columns to align on."""
    views = [split_row(table, row) for row in table.rows]
    figured = [any(_figure(c) for c in v.values) for v in views]
    if not any(figured):
        return None
    n_values = max(len(v.values) for v, f in zip(views, figured) if f)
    n_labels = max([len(row) - n_values for row in table.rows if len(row) > n_values] or [0])
    width = n_labels + n_values
    placed: list[list[Placed] | None] = []
    for row, view, has_figure in zip(table.rows, views, figured):
        if len(row) >= n_values:
            placed.append(_full(row, n_labels, n_values, header=not has_figure))
        elif has_figure:  # fewer figures than columns: the last ones are the figures'
            placed.append(_full(row, len(row) - len(view.values), len(view.values), header=False, offset=width))
        else:
            placed.append(None)
    for i in range(len(placed) - 1, -1, -1):
        if placed[i] is None:
            under = placed[i + 1] if i + 1 < len(placed) else None
            placed[i] = (_over(table.rows[i], under) if under else None) or _across(table.rows[i], width)
    return width, placed


def _figure(cell: Cell) -> bool:
    return is_value_text(cell.text) and any(ch.isdigit() for ch in cell.text)


def _full(row: list[Cell], n_labels: int, n_values: int, header: bool, offset: int | None = None) -> list[Placed]:
    """The last n_values cells in the figure columns (ending at `offset`, by default
    n_labels + n_values), the cells before them from column 0, the last one spanning to the
    figures."""
    end = n_labels + n_values if offset is None else offset
    labels, values = row[:len(row) - n_values], row[len(row) - n_values:]
    first_value = end - len(values)
    out = [Placed(c, i, 1, c.text, _empty(c)) for i, c in enumerate(labels)]
    if out:
        last = out[-1]
        out[-1] = Placed(last.cell, last.col, first_value - last.col, last.text, last.merged)
    out += [Placed(c, first_value + i, 1, c.text, header and _empty(c)) for i, c in enumerate(values)]
    return out


def _empty(cell: Cell) -> bool:
    return not cell.text.strip()


def _over(row: list[Cell], under: list[Placed]) -> list[Placed] | None:
    """The header row placed over the row under it, or None where its cells do not match
    that row's merged cells and runs of headings."""
    segments: list[tuple[bool, list[Placed]]] = []  # (merged-down cell?, the cells)
    for p in under:
        if p.merged or not segments or segments[-1][0]:
            segments.append((p.merged, [p]))
        else:
            segments[-1][1].append(p)
    runs = [s for s in segments if not s[0]]
    surplus = len(row) - len(segments)
    if surplus < 0 or (surplus > 0 and len(runs) != 1):
        return None
    out: list[Placed] = []
    cells = iter(row)
    for merged, parts in segments:
        start, stop = parts[0].col, parts[-1].col + parts[-1].span
        share = 1 if merged else 1 + surplus
        if (stop - start) % share:
            return None
        step = (stop - start) // share
        for k in range(share):
            cell = next(cells)
            out.append(Placed(cell, start + k * step, step, cell.text, _empty(cell)))
    return out


def _across(row: list[Cell], width: int) -> list[Placed]:
    return [Placed(None, 0, width, " · ".join(c.text for c in row if c.text.strip()))]
