"""Tables over page breaks as Word and WPS break them (issue 13, point 3): no repeated header,
a row cut in two at the break, the next page's part starting mid-table, 二's 第二十条 blocks
over a page; on text-layer PDFs laid out by PyMuPDF and by LibreOffice, and on their scans."""

from __future__ import annotations

import pymupdf
import pytest

from extractors.evaluate import evaluate
from extractors.pipeline import extract_file
from extractors.readers import pdf as pdf_reader
from extractors.synth import generate
from extractors.synth.scan import ScanStyle, scan_pdf
from extractors.synth.typeset import typeset, unavailable
from extractors.template import extract_fields

FONT = "Noto Serif CJK SC"
FIELDS = {"requests": "requests.", "active": "active.",
          "appeals": ("review.", "suit_direct.", "suit_after_review.")}

# (template, layout program, table placed so, 二 printed as, whether a row is cut there); each
# break was looked at.
CASES = [
    ("2021", "pymupdf", ("requests", 0.74), "single", True),  # 三 cut inside 2、|其他法律…
    ("2019", "pymupdf", ("requests", 0.48), "single", True),  # 三 cut inside 5.要求…|获取信息
    ("2021", "pymupdf", ("appeals", 0.86), "single", False),  # 四's figures alone on the next
                                                              # page, blanks among them
    ("2021", "pymupdf", ("appeals", 0.88), "single", True),   # and its header row cut (结果维|持)
    ("2019", "pymupdf", ("active", 0.8), "split", False),     # 二's blocks over a page
    ("2019", "libreoffice", ("requests", 0.5), "single", True),  # rows cut in 三 on 4 pages
    ("2021", "libreoffice", ("appeals", 0.84), "single", True),  # 四's header row cut
    ("2021", "libreoffice", ("active", 0.85), "single", True),   # 二 over a page, 三's rows cut
]
SCANNED = [CASES[0], CASES[2], CASES[3], CASES[5], CASES[6]]
# A skewed scan: the next page's part comes out with its column lines a little off.
STYLE = ScanStyle(dpi=200, skew=1.2, blur=0.6, noise=6.0, jpeg_quality=70)


def _report(template: str, program: str, at: tuple[str, float], active: str, cut: bool):
    if why := unavailable(program, FONT):
        pytest.skip(why)
    return typeset(11, template, program, FONT, name=f"r_{template}_{program}.pdf",
                   table_at=(at,), split_rows=True, active=active)


def _checked(doc, data: bytes, tmp_path):
    path = tmp_path / doc.name
    path.write_bytes(data)
    result = extract_file(path)
    report = evaluate({doc.name: doc.gold}, {doc.name: result})
    # The prose is not what is tested (and PyMuPDF gives some glyphs of the embedded Noto
    # Serif CJK as compatibility ideographs: 理 U+F9E4).
    return result, [w for w in report["per_document"][doc.name]["wrong"]
                    if not w["key"].startswith("text.")]


@pytest.fixture
def cut_rows(monkeypatch):
    """The rows the reader joined as the two halves of one row, by the text of the lower half."""
    seen: list[str] = []
    rest = pdf_reader._rest_of_cut_row

    def spy(seam, first):
        cut = rest(seam, first)
        if cut:
            seen.append("".join(c.text for c in first))
        return cut

    monkeypatch.setattr(pdf_reader, "_rest_of_cut_row", spy)
    return seen


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2][0]}{c[2][1]}-{c[3]}")
def test_every_field_of_a_table_broken_over_a_page_is_read(case, tmp_path, cut_rows):
    doc = _report(*case)
    _, wrong = _checked(doc, doc.data, tmp_path)
    assert wrong == []
    # the break fell inside the table (or between 二's blocks), as the case means it to
    tables = extract_fields(pdf_reader.read_pdf(tmp_path / doc.name)).tables[case[2][0]]
    assert len({c.prov.page for t in tables for row in t.rows for c in row}) >= 2
    assert bool(cut_rows) == case[4], cut_rows


@pytest.mark.parametrize("case", SCANNED, ids=lambda c: f"{c[0]}-{c[1]}-{c[2][0]}{c[2][1]}")
def test_a_scan_of_a_table_broken_over_a_page_is_read(case, tmp_path):
    pytest.importorskip("rapidocr_onnxruntime")
    doc = _report(*case)
    _, wrong = _checked(doc, scan_pdf(doc.data, STYLE), tmp_path)
    assert [w for w in wrong if not w["flagged"]] == []
    # measured: none of the broken table wrong (2019's one: 四's 5 under 复议后起诉 read
    # garbled and flagged, on a page with no break, with or without this table's break)
    assert [w for w in wrong if w["key"].startswith(FIELDS[case[2][0]])] == []


# ---- what the reader does at the seam ------------------------------------------------------

def _cell(r, c, text, rs=1, cs=1, page=1):
    return pdf_reader._Cell(r, c, rs, cs, page, (0, 0, 1, 1), text)


def _grid(page, cells, n_rows, xs=(0, 100, 150, 200)):
    return pdf_reader._Grid(page, (xs[0], 0, xs[-1], 100), list(xs), n_rows, cells, 0.9)


def test_a_row_cut_in_two_is_one_row_again():
    top = _grid(1, [_cell(0, 0, "1.本机关不掌握相关政府信息"), _cell(0, 1, "3"), _cell(0, 2, "3"),
                    _cell(1, 0, "2.其他法律行政"), _cell(1, 1, "0"), _cell(1, 2, "0")], 2)
    part = _grid(2, [_cell(0, 0, "法规禁止公开", page=2), _cell(0, 1, "", page=2), _cell(0, 2, "", page=2),
                     _cell(1, 0, "3.危及“三安全一稳定”", page=2), _cell(1, 1, "1", page=2),
                     _cell(1, 2, "1", page=2)], 2)
    pdf_reader._append_part(top, part)
    assert top.n_rows == 3
    rows = [[c.text for c in row] for row in top.rows()]
    assert rows == [["1.本机关不掌握相关政府信息", "3", "3"], ["2.其他法律行政法规禁止公开", "0", "0"],
                    ["3.危及“三安全一稳定”", "1", "1"]]


def test_a_new_row_at_the_top_of_the_page_is_not_taken_for_the_rest_of_one():
    # numbered, or figures only (四's figures under its header, blanks among them)
    for first in (["4.保护第三方合法权益", "", ""], ["", "0", ""]):
        top = _grid(1, [_cell(0, 0, "3.危及“三安全一稳定”"), _cell(0, 1, "1"), _cell(0, 2, "1")], 1)
        part = _grid(2, [_cell(0, c, t, page=2) for c, t in enumerate(first)], 1)
        pdf_reader._append_part(top, part)
        assert top.n_rows == 2 and [c.text for c in top.rows()[1]] == first


def test_blank_figures_under_a_merged_header_stay_cells_of_their_own():
    # 四: 结果维持 spans the two header rows; the figures' row opens the next page, some blank.
    top = _grid(1, [_cell(0, 0, "行政复议", cs=2), _cell(0, 2, "行政诉讼"),
                    _cell(1, 0, "结果维持", rs=2), _cell(1, 1, "结果纠正", rs=2), _cell(1, 2, "直接起诉"),
                    _cell(2, 2, "总计")], 3)
    part = _grid(2, [_cell(0, 0, "", page=2), _cell(0, 1, "2", page=2), _cell(0, 2, "", page=2)], 1)
    pdf_reader._append_part(top, part)
    assert top.n_rows == 4 and [c.text for c in top.rows()[3]] == ["", "2", ""]


def test_a_stray_line_in_the_page_foot_does_not_stop_a_table_joining(tmp_path):
    doc = generate(11, "2021", "pdf", table_at=(("requests", 0.74),), split_rows=True)
    pdf = pymupdf.open(stream=doc.data, filetype="pdf")
    # an OCR-misread page number, not repeated on other pages: not a running head
    pdf[1].insert_text((290, 830), "-2~", fontname="china-s", fontsize=9)
    path = tmp_path / "r.pdf"
    pdf.save(path)
    read = pdf_reader.read_pdf(path)
    [requests] = [t for t in read.tables() if any("新收" in c.text for row in t.rows for c in row)]
    assert len({c.prov.page for row in requests.rows for c in row}) == 2
    assert "-2~" in [p.text for p in read.paragraphs()]
