"""Hostile DOCX and HTML files (issue 17): what a file claims (spans, offsets, nesting,
pictures, references) is bounded, and a part that cannot be read is lost with a warning while
the report is read. Every file is built here; the costly ones run in a child whose address
space is capped, so a regression fails its test instead of taking the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from extractors.grid import MAX_SPAN, MAX_TABLE_CELLS, merge_cells
from extractors.readers.html import read_html

MEMORY_MB = 1536


def child(code: str, timeout: float = 60) -> dict:
    """`code` run in a fresh interpreter with its address space capped at MEMORY_MB; it sets
    `result`, which comes back with the child's seconds and peak resident memory."""
    script = textwrap.dedent("""\
        import json, resource, time
        resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
        started = time.perf_counter()
        result = {{}}
        """).format(limit=MEMORY_MB << 20) + textwrap.dedent(code) + textwrap.dedent("""
        result["seconds"] = time.perf_counter() - started
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT", json.dumps(result))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, cwd=Path(__file__).parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.rsplit("RESULT ", 1)[1])


# ---- spans and offsets -------------------------------------------------------------------


def test_html_spans_growing_with_the_square_of_the_rows_keep_memory_bounded(tmp_path):
    """600 rows of <td rowspan=600 colspan=1000> (30 KB) took 7.5 GB: every covered grid
    position was a set entry. Past MAX_TABLE_CELLS the table is text."""
    path = tmp_path / "spans.html"
    path.write_text("<html><body><p>before</p><table>" + "<tr><td rowspan=600 colspan=1000>x</td></tr>" * 600
                    + "</table><p>after</p></body></html>", encoding="utf-8")
    got = child(f"""
        from extractors.readers import read
        doc = read({str(path)!r})
        result["tables"] = len(doc.tables())
        result["text"] = [x.text for x in doc.paragraphs()]
        result["warnings"] = doc.warnings
        """, timeout=30)
    assert got["tables"] == 0
    assert got["text"] == ["before"] + ["x"] * 600 + ["after"]
    assert any("read as text" in w for w in got["warnings"])
    assert got["peak_mb"] < 500


def test_html_table_at_the_cap_is_still_a_table(tmp_path):
    rows = MAX_TABLE_CELLS // MAX_SPAN
    path = tmp_path / "wide.html"
    path.write_text("<table>" + "<tr><td colspan=5000>1</td></tr>" * rows + "</table>", encoding="utf-8")
    [table] = read_html(path).tables()
    assert [c.colspan for row in table.rows for c in row] == [MAX_SPAN] * rows


def test_html_rowspans_push_cells_right_as_browsers_do(tmp_path):
    """The grid is laid out without building every position; the layout is the browsers'."""
    path = tmp_path / "t.html"
    path.write_text("<table><tr><td rowspan=2>a</td><td colspan=2>b</td><td rowspan=3>c</td></tr>"
                    "<tr><td>d</td><td>e</td></tr><tr><td colspan=3>f</td></tr></table>", encoding="utf-8")
    [table] = read_html(path).tables()
    assert [(c.text, c.row, c.col, c.rowspan, c.colspan) for row in table.rows for c in row] == [
        ("a", 0, 0, 2, 1), ("b", 0, 1, 1, 2), ("c", 0, 3, 3, 1), ("d", 1, 1, 1, 1), ("e", 1, 2, 1, 1),
        ("f", 2, 0, 1, 3)]


def test_a_ruled_grid_past_the_cap_is_not_built():
    side = int(MAX_TABLE_CELLS ** 0.5) + 1
    assert merge_cells(side, side, lambda r, c: True, lambda r, c: True) is None
    assert merge_cells(2, 2, lambda r, c: True, lambda r, c: True) is not None


# ---- nesting -----------------------------------------------------------------------------


@pytest.mark.parametrize("opening,closing,times", [
    ("<span>", "</span>", 1000), ("<div>", "</div>", 1500),
    ("<table><tr><td>a</td><td>b</td><td>", "</td></tr></table>", 500)])
def test_html_nesting_past_the_depth_cap_is_read_as_text(tmp_path, opening, closing, times):
    """libxml2 stopped at 256 levels and dropped the rest of the page without a word."""
    path = tmp_path / "nested.html"
    path.write_text(f"<html><body><p>before</p>{opening * times}最深处{closing * times}<p>after</p></body></html>",
                    encoding="utf-8")
    doc = read_html(path)
    text = [x.text for x in doc.paragraphs()]
    assert text[0] == "before" and text[-1] == "after"
    assert any("最深处" in t for t in text)
    assert any("levels deep read as plain text" in w for w in doc.warnings)


def test_html_nesting_past_what_the_parser_reads_says_what_is_lost(tmp_path):
    path = tmp_path / "deeper.html"
    path.write_text("<html><body><p>before</p>" + "<div>" * 3000 + "x" + "</div>" * 3000 + "<p>after</p>",
                    encoding="utf-8")
    doc = read_html(path)
    assert [x.text for x in doc.paragraphs()][0] == "before"
    assert any("past the parser's limit" in w for w in doc.warnings)
