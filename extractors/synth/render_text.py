"""Text dumps in the style of eval/seeds: a paragraph per line; a table row after a blank
line, each cell on a line that starts with a TAB, a cell's further lines untabbed; a cell
covered by a vertical merge shows as an empty TAB line, one covered by a horizontal merge
not at all."""

from __future__ import annotations

from extractors.synth.blocks import Block, Para, Table, grid
from extractors.synth.layout import Layout


def render_text(blocks: list[Block], layout: Layout) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Para):
            indent = layout.para_indent if block.role == "body" else ""
            lines.append(indent + block.text)
        else:
            lines += _table_lines(block, layout.first_row_gap)
    return "\n".join(lines) + "\n"


def _table_lines(table: Table, first_gap: bool) -> list[str]:
    lines: list[str] = []
    for r, row in enumerate(grid(table)):
        if r or first_gap:
            lines.append("")
        for c, slot in enumerate(row):
            if slot.starts_at(r, c):
                first, *rest = slot.cell.text.split("\n")
                lines += [f"\t{first}", *rest]
            elif slot.col == c:  # under a vertical merge
                lines.append("\t")
    return lines + ["", ""]
