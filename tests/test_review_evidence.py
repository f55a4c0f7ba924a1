"""Review evidence (flows/review/evidence.py) on real reports from the synthetic generator,
with the provenance extract_file gives them."""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import lxml.html
import numpy as np
import pymupdf
import pytest
from PIL import Image

from extractors.ocr import reader_engine
from extractors.pipeline import extract_file
from extractors.readers import read
from extractors.result import DocumentResult, FieldProvenance
from extractors.synth import generate
from extractors.synth.scan import ScanStyle, scan_pdf
from flows.review.evidence import HEADER_PAD, HEADING, HIGHLIGHT, SEPARATOR, cell_image, evidence, header_rows, table_html

MARGIN, ZOOM = 30.0, 2.0
needs_ocr = pytest.mark.skipif(reader_engine() is None, reason="no OCR engine installed")


def _extract(path: Path) -> DocumentResult:
    result = extract_file(path)
    assert result.status == "ok", result.error
    return result


def _table_fields(result: DocumentResult) -> dict[str, FieldProvenance]:
    return {k: p for k, p in result.provenance.items() if p.method == "table"}


def _assert_outlined(png: bytes, cell: pymupdf.Rect, margin: float = MARGIN, zoom: float = ZOOM) -> None:
    """The crop ends with the page-wide band around `cell` (display coordinates, page from
    y=0; the table's header may be above it), and the highlight is drawn on the cell's
    outline and nowhere else."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    top = cell.y1 + margin - image.height / zoom  # where the page would begin, were it one band
    assert image.width >= cell.x1 * zoom
    assert image.height >= (cell.height + margin) * zoom - 2
    pixels = np.asarray(image.convert("RGB")).astype(int)
    red = (np.abs(pixels - np.array(HIGHLIGHT)).sum(axis=2) < 60)
    x0, x1 = round(cell.x0 * zoom), round(cell.x1 * zoom)
    y0, y1 = round((cell.y0 - top) * zoom), round((cell.y1 - top) * zoom)
    mid_y, mid_x = (y0 + y1) // 2, (x0 + x1) // 2
    for edge in (red[mid_y, x0 - 3:x0 + 4], red[mid_y, x1 - 3:x1 + 4],
                 red[y0 - 3:y0 + 4, mid_x], red[y1 - 3:y1 + 4, mid_x]):
        assert edge.any(), "no highlight on the cell's outline"
    outside = red.copy()
    outside[max(0, y0 - 5):y1 + 6, max(0, x0 - 5):x1 + 6] = False
    assert not outside.any(), "highlight away from the cell"


def _hit(html: str) -> tuple[str, lxml.html.HtmlElement]:
    """The text of the one cell marked hit (lines joined as the reader joins them), and the table."""
    table = lxml.html.fragment_fromstring(html)
    hits = table.xpath('.//td[@class="hit"]')
    assert len(hits) == 1
    return "\n".join(hits[0].itertext()), table


def _assert_tables_shown(path: Path, result: DocumentResult) -> int:
    fields = _table_fields(result)
    shown = 0
    for key, prov in fields.items():
        if prov.image is not None:
            continue  # read by OCR from a picture: shown as an image
        html = table_html(path, prov)
        assert html is not None, key
        text, _ = _hit(html)
        assert text == prov.raw, key
        assert evidence(path, prov).kind == "table"
        shown += 1
    return shown


# ---- page crops ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pdf_report(tmp_path_factory) -> tuple[Path, DocumentResult]:
    path = generate(2, "2019", "pdf").write(tmp_path_factory.mktemp("pdf"))
    return path, _extract(path)


def test_pdf_text_layer_crop_outlines_the_cell(pdf_report):
    path, result = pdf_report
    fields = _table_fields(result)
    assert len(fields) > 100
    for key in ("active.regulations.made", "requests.granted.natural", "review.upheld"):
        prov = fields[key]
        png = cell_image(path, prov, margin=MARGIN, zoom=ZOOM)
        _assert_outlined(png, pymupdf.Rect(prov.bbox))
        assert table_html(path, prov) is None  # a page field is shown as a crop
        assert evidence(path, prov).kind == "image"


def test_a_web_page_gets_the_crop_as_a_url_and_a_missing_file_says_so(pdf_report, tmp_path):
    path, result = pdf_report
    prov = _table_fields(result)["review.upheld"]
    shown = evidence(path, prov, image_url="/evidence/1/review.upheld.png")
    assert (shown.kind, shown.url, shown.png) == ("image", "/evidence/1/review.upheld.png", None)
    printed = FieldProvenance("prose", raw="依申请公开 12 件")
    assert evidence(path, printed, image_url="/x.png").text == printed.raw  # no page: no image
    gone = evidence(tmp_path / "moved.pdf", prov)
    assert (gone.kind, gone.text) == ("text", prov.raw) and "not at hand" in gone.note
    assert evidence(tmp_path / "moved.pdf", FieldProvenance("absent")).kind == "none"


def test_pdf_crop_is_fast(pdf_report):
    path, result = pdf_report
    provs = list(_table_fields(result).values())[:20]
    start = time.perf_counter()
    for prov in provs:
        assert cell_image(path, prov) is not None
    assert (time.perf_counter() - start) / len(provs) < 0.3


def test_margin_and_zoom_change_the_crop(pdf_report):
    path, result = pdf_report
    prov = result.provenance["requests.granted.natural"]
    png = cell_image(path, prov, margin=10, zoom=1.5)
    _assert_outlined(png, pymupdf.Rect(prov.bbox), margin=10, zoom=1.5)


def test_rotated_page_crop_is_outlined_where_shown(tmp_path):
    pdf = pymupdf.open(stream=generate(2, "2019", "pdf").data, filetype="pdf")
    for page in pdf:
        page.set_rotation(90)
    path = tmp_path / "rotated.pdf"
    pdf.save(path)
    prov = _extract(path).provenance["requests.granted.natural"]
    shown = pymupdf.Rect(prov.bbox) * pdf[prov.page - 1].rotation_matrix
    _assert_outlined(cell_image(path, prov), shown)


@needs_ocr
def test_scanned_pdf_crop_outlines_the_ocr_cell(tmp_path):
    pdf = pymupdf.open(stream=generate(3, "2021", "pdf").data, filetype="pdf")
    first = pymupdf.open()
    first.insert_pdf(pdf, from_page=0, to_page=0)  # one page holds 二's tables: OCR stays short
    path = tmp_path / "scan.pdf"
    path.write_bytes(scan_pdf(first.tobytes(), ScanStyle(dpi=150, noise=4, jpeg_quality=70)))
    fields = _table_fields(_extract(path))
    assert fields and all(p.source == "ocr" for p in fields.values())
    for prov in list(fields.values())[:3]:
        _assert_outlined(cell_image(path, prov), pymupdf.Rect(prov.bbox))


# ---- the header rows above the crop ---------------------------------------------------------

def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _near(pixels: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return np.abs(pixels - np.array(color)).sum(axis=2) < 60


def _page_png(path: Path, page: int, clip: pymupdf.Rect) -> np.ndarray:
    with pymupdf.open(path) as pdf:
        pix = pdf[page - 1].get_pixmap(matrix=pymupdf.Matrix(ZOOM, ZOOM), clip=clip, colorspace=pymupdf.csRGB,
                                       alpha=False)
    return np.asarray(Image.frombytes("RGB", (pix.width, pix.height), pix.samples)).astype(int)


def _heading_text(path: Path, page: int, boxes: list[pymupdf.Rect]) -> list[str]:
    with pymupdf.open(path) as pdf:
        return ["".join(pdf[page - 1].get_textbox(b).split()) for b in boxes]


@pytest.mark.parametrize("key,heading", [("requests.total.total", "总计"), ("requests.total.natural", "自然人")])
def test_a_crop_far_below_the_header_has_the_header_rows_above_it(pdf_report, key, heading):
    path, result = pdf_report
    prov = result.provenance[key]
    page, rows, over = header_rows(path, prov)
    assert page == prov.page and rows.y1 + HEADER_PAD < prov.bbox[1] - MARGIN  # far: a strip of its own
    assert heading in _heading_text(path, page, over)  # the column's own heading, outlined
    png = cell_image(path, prov)
    _assert_outlined(png, pymupdf.Rect(prov.bbox))
    shown = _pixels(png)
    with pymupdf.open(path) as pdf:
        width = pdf[page - 1].rect.width
    strip = _page_png(path, page, pymupdf.Rect(0, rows.y0 - HEADER_PAD, width, rows.y1 + HEADER_PAD))
    top = shown[:strip.shape[0]]
    blue = _near(top, HEADING)
    assert blue.any()  # the heading outlined, in the strip
    assert (top == strip)[~blue].all()  # elsewhere the strip is the page's header, as printed
    assert (shown[strip.shape[0]] == SEPARATOR).all()  # then a line, then the band
    assert not _near(shown[strip.shape[0]:], HEADING).any()


def test_the_first_row_under_the_header_is_one_band_from_the_header_down(pdf_report):
    path, result = pdf_report
    prov = result.provenance["requests.new.total"]  # 一、本年新收…, right under the header
    page, rows, over = header_rows(path, prov)
    assert "总计" in _heading_text(path, page, over)
    image = Image.open(io.BytesIO(cell_image(path, prov)))
    assert abs(image.height - (prov.bbox[3] + MARGIN - (rows.y0 - HEADER_PAD)) * ZOOM) <= 2
    assert _near(_pixels(cell_image(path, prov)), HEADING).any()


def test_a_table_going_on_from_the_page_before_has_its_header_from_there(tmp_path):
    path = tmp_path / "split.pdf"  # 三's table starts low on page 2 and goes on to page 3
    path.write_bytes(generate(11, "2021", "pdf", table_at=(("requests", 0.74),)).data)
    prov = _extract(path).provenance["requests.total.total"]
    page, rows, over = header_rows(path, prov)
    assert page == prov.page - 1 and "总计" in _heading_text(path, page, over)
    _assert_outlined(cell_image(path, prov), pymupdf.Rect(prov.bbox))


def test_prose_and_ocr_fields_have_no_header(pdf_report):
    path, result = pdf_report
    prose = next(p for p in result.provenance.values() if p.method in ("prose", "title"))
    assert header_rows(path, prose) is None
    ocr = FieldProvenance("table", table="t0", row=3, col=1, raw="1", page=2, bbox=(300, 300, 330, 315),
                          source="ocr")
    assert header_rows(path, ocr) is None  # finding it would take OCR


# ---- pictures in DOCX/HTML before a native table: crops, and the extraction's table ids ---

@pytest.fixture(scope="module")
def docx_with_picture(tmp_path_factory) -> tuple[Path, DocumentResult]:
    if reader_engine() is None:
        pytest.skip("no OCR engine installed")
    path = generate(1, "2021", "docx", picture_tables=("active",)).write(tmp_path_factory.mktemp("docx"))
    return path, _extract(path)


def test_docx_picture_cell_is_cropped(docx_with_picture):
    path, result = docx_with_picture
    prov = result.provenance["active.regulations.in_force"]
    assert prov.image is not None and prov.source == "ocr"
    _assert_outlined(cell_image(path, prov), pymupdf.Rect(prov.bbox))
    assert table_html(path, prov) is None


def test_docx_native_table_after_picture_is_the_extractions(docx_with_picture):
    path, result = docx_with_picture
    prov = result.provenance["requests.granted.natural"]
    # OCR put the picture's table first: the native requests table is not t0 at extraction
    assert prov.table != "t0" and prov.image is None
    text, shown = _hit(table_html(path, prov))
    assert text == prov.raw
    # the same table, cell for cell, as the reader gave the extraction
    used = next(t for t in read(path).tables() if t.id == prov.table)
    assert ["\n".join(td.itertext()) for td in shown.iter("td") if td.text or len(td)] == \
        [c.text for row in used.rows for c in row if c.text]
    assert _assert_tables_shown(path, result) > 150


def test_table_html_runs_no_ocr(docx_with_picture, tmp_path, monkeypatch):
    path, result = docx_with_picture
    fresh = tmp_path / path.name  # not in the cache yet
    shutil.copy(path, fresh)

    def no_ocr():
        raise AssertionError("OCR started")

    monkeypatch.setattr("extractors.ocr.reader_engine", no_ocr)
    prov = result.provenance["review.upheld"]
    assert _hit(table_html(fresh, prov))[0] == prov.raw


@needs_ocr
@pytest.mark.parametrize("src", ["data", "file"])
def test_html_picture_and_native_tables(tmp_path, src):
    path = generate(1, "2021", "html", picture_tables=("active",), picture_src=src).write(tmp_path)
    result = _extract(path)
    prov = result.provenance["active.regulations.in_force"]
    assert prov.image is not None
    _assert_outlined(cell_image(path, prov), pymupdf.Rect(prov.bbox))
    assert result.provenance["requests.granted.natural"].table != "t0"
    assert _assert_tables_shown(path, result) > 150


# ---- native tables ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["html", "docx", "txt"])
def test_native_tables_mark_the_field_cell(tmp_path, fmt):
    path = generate(4, "2019", fmt).write(tmp_path)
    result = _extract(path)
    assert _assert_tables_shown(path, result) > 100
    assert cell_image(path, result.provenance["requests.granted.natural"]) is None


def _grid(html: str) -> list[list[tuple[str, int, int, bool]]]:
    """Each row's cells as (text, first column, span, hit), spans counted."""
    rows = []
    for tr in lxml.html.fragment_fromstring(html).iter("tr"):
        col, cells = 0, []
        for td in tr.iter("td"):
            span = int(td.get("colspan", 1))
            cells.append(("".join(td.itertext()), col, span, "hit" in (td.get("class") or "").split()))
            col += span
        rows.append(cells)
    return rows


def _column_of(grid, text: str) -> set[int]:
    return {col for row in grid for t, col, span, _ in row if t == text and span == 1}


@pytest.mark.parametrize("template,key,heading", [("2021", "requests.other_misc.total", "总计"),
                                                  ("2019", "requests.granted.natural", "自然人"),
                                                  ("2021", "suit_direct.total", "总计")])
def test_a_text_dumps_table_is_shown_in_its_columns(tmp_path, template, key, heading):
    path = generate(8, template, "txt").write(tmp_path)
    prov = _extract(path).provenance[key]
    html = table_html(path, prov)
    grid = _grid(html)
    widths = {sum(span for _, _, span, _ in row) for row in grid}
    assert len(widths) == 1  # every row as wide as the table
    [(text, col, _, _)] = [c for row in grid for c in row if c[3]]
    assert text == prov.raw
    assert col in _column_of(grid, heading)  # the figure under its own heading
    width = widths.pop()  # every figure row's last figure in the last column (the total's)
    figures = [row for row in grid if row and row[-1][0].strip().isdigit()]
    assert figures and all(row[-1][1] + row[-1][2] == width for row in figures)


def test_html_spans_are_kept(tmp_path):
    path = generate(4, "2021", "html").write(tmp_path)
    prov = _extract(path).provenance["requests.granted.natural"]
    _, shown = _hit(table_html(path, prov))
    assert shown.xpath(".//td[@rowspan]") and shown.xpath(".//td[@colspan]")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_doc_via_libreoffice():
    path = Path(__file__).parent.parent / "eval" / "cases" / "case002_lodoc.doc"
    result = _extract(path)
    assert result.format == "doc"
    assert _assert_tables_shown(path, result) > 100


def test_cell_text_is_escaped(tmp_path):
    report = generate(5, "2021", "html", charset="utf-8")
    script = "<script>alert(1)</script>"
    # in the header cell of 二's table, where it leaves the extraction's reading alone
    header = "<td>信息内容</td>".encode()
    assert header in report.data
    path = tmp_path / "script.html"
    escaped = "<td>信息内容&lt;script&gt;alert(1)&lt;/script&gt;</td>".encode()
    path.write_bytes(report.data.replace(header, escaped, 1))
    prov = _extract(path).provenance["active.regulations.issued"]
    html = table_html(path, prov)
    assert "<script" not in html and "信息内容&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text, shown = _hit(html)
    assert text == prov.raw
    assert "信息内容" + script in [td.text_content() for td in shown.iter("td")]


def test_changed_file_is_read_again(tmp_path):
    report = generate(4, "2021", "txt")
    path = report.write(tmp_path)
    prov = _extract(path).provenance["requests.granted.natural"]
    assert _hit(table_html(path, prov))[0] == prov.raw
    path.write_bytes(report.data.replace("（一）予以公开".encode(), "（一）予以公开了".encode()))
    assert table_html(path, prov) is None  # its row no longer reads as at extraction


# ---- nothing to show ---------------------------------------------------------------------------

def test_prose_and_absent_fields(pdf_report):
    path, result = pdf_report
    prose = next(p for p in result.provenance.values() if p.method in ("prose", "title"))
    assert cell_image(path, prose) is None and table_html(path, prose) is None
    assert evidence(path, FieldProvenance("absent")).kind == "none"
    assert evidence(path, FieldProvenance("title", raw="2019")).text == "2019"


@pytest.mark.parametrize("name,data", [
    ("missing.pdf", None),
    ("empty.pdf", b""),
    ("corrupt.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50),
    ("corrupt.docx", b"PK\x03\x04" + b"garbage" * 50),
    ("corrupt.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 50),
])
def test_bad_files_give_none(tmp_path, name, data):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    on_page = FieldProvenance("table", table="t0", row=0, col=1, raw="1", page=1, bbox=(10, 10, 50, 30))
    in_picture = FieldProvenance("table", table="t0", row=0, col=1, raw="1", page=1,
                                 bbox=(10, 10, 50, 30), source="ocr", image="/word/media/image9.png")
    native = FieldProvenance("table", table="t0", row=0, col=1, raw="1")
    for prov in (on_page, in_picture, native):
        assert cell_image(path, prov) is None
        assert table_html(path, prov) is None
    assert evidence(path, native).kind == "text"


def test_table_or_picture_not_in_the_file_gives_none(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("<html><body><table><tr><td>a</td><td>1</td></tr></table></body></html>")
    found = FieldProvenance("table", table="t0", row=0, col=1, raw="1")
    assert _hit(table_html(path, found))[0] == "1"
    for prov in (FieldProvenance("table", table="t1", row=0, col=1, raw="1"),
                 FieldProvenance("table", table="t0", row=0, col=1, raw="2"),
                 FieldProvenance("table", table="t0", row=3, col=1, raw="1")):
        assert table_html(path, prov) is None
    picture = FieldProvenance("table", table="t0", row=0, col=1, raw="1", page=1,
                              bbox=(10, 10, 50, 30), source="ocr", image="missing.png")
    assert cell_image(path, picture) is None
