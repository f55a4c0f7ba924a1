"""Cells of a ruled grid from its walls (extractors/grid.py): merged where a wall is missing,
and always rectangles, as a table's cells are, when a wall that is there was not seen."""

from __future__ import annotations

from extractors.grid import merge_cells


def cells_of(n_rows: int, n_cols: int, no_left: set, no_above: set) -> list[tuple[int, int, int, int]]:
    """(row, col, rowspan, colspan) of the cells when the walls named are missing: `no_left`
    holds (r, c) without a wall on its left, `no_above` (r, c) without one above."""
    found, owner = merge_cells(n_rows, n_cols, lambda r, c: (r, c) not in no_left,
                               lambda r, c: (r, c) not in no_above)
    # every grid position has exactly one owner, and each cell owns its whole rectangle
    for k, m in enumerate(found):
        assert all(owner[r][c] == k for r in range(m.r0, m.r1 + 1) for c in range(m.c0, m.c1 + 1))
    assert sum((m.r1 - m.r0 + 1) * (m.c1 - m.c0 + 1) for m in found) == n_rows * n_cols
    return sorted((m.r0, m.c0, m.r1 - m.r0 + 1, m.c1 - m.c0 + 1) for m in found)


def test_a_label_cell_spanning_rows_and_a_header_spanning_columns():
    # 3 × 3: column 0 one cell over all rows; row 0's columns 1–2 one cell
    got = cells_of(3, 3, no_left={(0, 2)}, no_above={(1, 0), (2, 0)})
    assert got == [(0, 0, 3, 1), (0, 1, 1, 2), (1, 1, 1, 1), (1, 2, 1, 1), (2, 1, 1, 1), (2, 2, 1, 1)]


def test_a_wall_not_seen_between_a_tall_label_and_one_cell_beside_it_makes_no_l():
    # column 0 spans all 4 rows; the wall between it and (2, 1) was not seen (a rule broken
    # by a shadow). Before, the L they made became its bounding box: a cell over both
    # columns and all rows, holding every label of column 1.
    got = cells_of(4, 3, no_left={(2, 1)}, no_above={(1, 0), (2, 0), (3, 0)})
    assert (0, 0, 4, 1) in got
    assert (2, 1, 1, 1) in got and len(got) == 1 + 4 * 2


def test_a_stroke_taken_for_a_wall_inside_a_merged_header_leaves_rectangles():
    # row 0 is one header cell over 3 columns but a glyph stroke left a wall at (0, 1);
    # below it each column is its own cell
    got = cells_of(2, 3, no_left={(0, 2)}, no_above=set())
    assert got == [(0, 0, 1, 1), (0, 1, 1, 2), (1, 0, 1, 1), (1, 1, 1, 1), (1, 2, 1, 1)]
