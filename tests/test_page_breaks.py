"""Tables over page breaks as Word and WPS break them (issue 13, point 3): no repeated header,
a row cut in two at the break, the next page's part starting mid-table, 二's 第二十条 blocks
over a page; on text-layer PDFs laid out by PyMuPDF and by LibreOffice, and on their scans.
And picture pages of a text-layer PDF (point 5): OCR'd only where a ruled table may be."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pymupdf
import pytest

import extractors.ocr
from extractors.evaluate import evaluate
from extractors.pipeline import extract_file
from extractors.readers import pdf as pdf_reader
from extractors.synth import generate
from extractors.synth.scan import ScanStyle, scan_pdf
from extractors.synth.typeset import typeset, unavailable
from extractors.template import extract_fields
from test_hostile_pdf import NoReading

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


# ---- picture pages of a text-layer PDF -----------------------------------------------------

@pytest.fixture
def ocrd(monkeypatch):
    """The pages the reader hands to OCR."""
    pages: list[int] = []
    ocr_page = pdf_reader._ocr_page

    def counting(page, number, engine, notes):
        pages.append(number)
        return ocr_page(page, number, engine, notes)

    monkeypatch.setattr(extractors.ocr, "reader_engine", NoReading)
    monkeypatch.setattr(pdf_reader, "_ocr_page", counting)
    return pages


def _bar_chart() -> bytes:
    image = np.full((900, 1400, 3), 255, np.uint8)
    cv2.line(image, (120, 780), (1340, 780), (0, 0, 0), 3)
    cv2.line(image, (120, 780), (120, 80), (0, 0, 0), 3)
    for y in range(680, 80, -100):  # the chart's grid lines
        cv2.line(image, (120, y), (1340, y), (200, 200, 200), 1)
    for k, h in enumerate((320, 540, 210, 610, 450, 130, 380, 500)):
        cv2.rectangle(image, (170 + k * 145, 780 - h), (250 + k * 145, 780), (180, 90, 30), -1)
    return cv2.imencode(".png", image)[1].tobytes()


def _with_pages(tmp_path, chart: bool, scanned_table: bool = False, scanned_page: bool = False):
    doc = generate(3, "2021", "pdf")
    pdf = pymupdf.open(stream=doc.data, filetype="pdf")
    if chart:
        page = pdf.new_page(width=595, height=842)
        page.insert_image(pymupdf.Rect(60, 120, 535, 440), stream=_bar_chart())
        page.insert_text((60, 100), "图1 依申请公开数量", fontname="china-s", fontsize=11)
        page.insert_text((60, 470), "2020年  2021年", fontname="china-s", fontsize=9)
    scan = pymupdf.open(stream=scan_pdf(doc.data, STYLE), filetype="pdf")
    if scanned_table:  # 三's page, scanned and pasted in at two thirds of the page
        page = pdf.new_page(width=595, height=842)
        page.insert_text((60, 80), "附表", fontname="china-s", fontsize=11)
        page.insert_image(pymupdf.Rect(80, 100, 515, 715), pixmap=scan[1].get_pixmap(dpi=100))
    if scanned_page:  # a page of its own, scanned
        pdf.insert_pdf(scan, from_page=1, to_page=1)
    path = tmp_path / "r.pdf"
    pdf.save(path)
    return path, pdf.page_count


def test_a_chart_page_of_a_text_layer_pdf_is_not_ocrd(tmp_path, ocrd):
    path, pages = _with_pages(tmp_path, chart=True, scanned_table=False)
    doc = pdf_reader.read_pdf(path)
    assert ocrd == []
    assert doc.ocr_pages == [pages]  # still a picture in the reading order
    assert any("依申请公开数量" in p.text for p in doc.paragraphs())  # its own labels are read


def test_a_scanned_table_page_in_a_text_layer_pdf_is_still_ocrd(tmp_path, ocrd):
    path, pages = _with_pages(tmp_path, chart=True, scanned_table=True)
    pdf_reader.read_pdf(path)
    assert ocrd == [pages]  # the table's page, not the chart's


def test_a_scanned_page_in_a_text_layer_pdf_is_ocrd(tmp_path, ocrd, monkeypatch):
    monkeypatch.setattr(pdf_reader, "_may_hold_table", lambda page: False)
    path, pages = _with_pages(tmp_path, chart=True, scanned_page=True)
    pdf_reader.read_pdf(path)
    assert ocrd == [pages]  # as large as the page: read whether or not a table is seen


def test_a_scan_has_every_page_ocrd(tmp_path, ocrd):
    path = tmp_path / "scan.pdf"
    path.write_bytes(scan_pdf(generate(3, "2021", "pdf").data, STYLE))
    pdf_reader.read_pdf(path)
    assert ocrd == list(range(1, pymupdf.open(path).page_count + 1))


def test_looking_for_a_table_costs_a_small_part_of_ocr(tmp_path):
    path, pages = _with_pages(tmp_path, chart=True, scanned_table=False)
    page = pymupdf.open(path)[pages - 1]
    start = time.perf_counter()
    assert not pdf_reader._may_hold_table(page)
    assert time.perf_counter() - start < 0.25  # measured ~25 ms; OCR of the page ~1 s
