"""OCR of scanned reports end to end: synthetic reports rendered to 200-dpi images (turned
1°, or upside down), put into image-only PDFs, read by the pipeline and compared with gold."""

from __future__ import annotations

import cv2
import numpy as np
import pymupdf
import pytest

from extractors.errors import ReadError
from extractors.pipeline import extract_file
from extractors.standard_model import is_numeric_key
from extractors.synth import generate

pytest.importorskip("rapidocr_onnxruntime")

DPI = 200


def scanned_pdf(data: bytes, angle: float = 0.0, upside_down: bool = False,
                pages: list[int] | None = None) -> bytes:
    """Each page of a text-layer PDF as a grayscale picture, as a scanner would give it."""
    src = pymupdf.open(stream=data, filetype="pdf")
    out = pymupdf.open()
    for index in pages if pages is not None else range(src.page_count):
        page = src[index]
        pix = page.get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY)
        image = np.frombuffer(pix.samples, np.uint8).reshape(pix.h, pix.stride)[:, :pix.w]
        if angle:
            turn = cv2.getRotationMatrix2D((pix.w / 2, pix.h / 2), angle, 1.0)
            image = cv2.warpAffine(image, turn, (pix.w, pix.h), borderValue=255)
        if upside_down:
            image = image[::-1, ::-1]
        ok, png = cv2.imencode(".png", np.ascontiguousarray(image))
        assert ok
        scan = out.new_page(width=page.rect.width, height=page.rect.height)
        scan.insert_image(scan.rect, stream=png.tobytes())
    return out.tobytes()


def numeric_accuracy(result, gold: dict) -> float:
    keys = [k for k in gold["fields"] if is_numeric_key(k)]
    return sum(result.fields.get(k) == gold["fields"][k] for k in keys) / len(keys)


@pytest.fixture(scope="module")
def skewed_report(tmp_path_factory):
    """A 2019 report (3 pages) scanned 1° askew, and its extraction."""
    synthetic = generate(1, "2019", "pdf")
    path = tmp_path_factory.mktemp("ocr") / "skewed_scan.pdf"
    path.write_bytes(scanned_pdf(synthetic.data, angle=1.0))
    return synthetic, extract_file(path)


def test_skewed_scan_reads_the_numbers(skewed_report):
    synthetic, result = skewed_report
    assert result.status == "ok", result.error
    assert result.format == "pdf"
    # measured: 198/198 numeric fields right on this scan (and on seeds 2–4, both templates)
    assert numeric_accuracy(result, synthetic.gold) >= 0.97
    assert result.fields["meta.year"] == synthetic.gold["fields"]["meta.year"]


def test_every_table_field_of_a_scan_has_ocr_provenance_with_a_score(skewed_report):
    _, result = skewed_report
    table_fields = [p for p in result.provenance.values() if p.method == "table"]
    assert table_fields
    for prov in table_fields:
        assert prov.source == "ocr"
        assert prov.page in (1, 2, 3)
        x0, y0, x1, y1 = prov.bbox
        assert 0 <= x0 < x1 <= 596 and 0 <= y0 < y1 <= 843  # A4, in points


def test_ocr_score_bounds_field_confidence(skewed_report):
    _, result = skewed_report
    for key, prov in result.provenance.items():
        if prov.method == "table" and prov.raw:
            assert result.confidence[key] <= 0.99


def test_upside_down_table_page_is_turned_and_every_cell_carries_its_score():
    from extractors.ocr import get_engine, read_page

    synthetic = generate(4, "2021", "pdf")
    doc = pymupdf.open(stream=scanned_pdf(synthetic.data, upside_down=True, pages=[1]), filetype="pdf")
    read = read_page(doc[0], get_engine())
    assert read.rotation == 180
    assert read.tables
    for table in read.tables:
        for cell in table.cells:
            # no score: no ink; ink read as nothing scores 0, so its field goes to review
            assert cell.score is not None or cell.text == ""
            assert cell.score is None or 0 <= cell.score <= 1
            assert not cell.text or cell.score > 0
    texts = [c.text for t in read.tables for c in t.cells]
    assert any("予以公开" in t for t in texts)


def test_ocr_off_keeps_a_scan_an_error_that_says_it_needs_ocr(tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_OCR", "off")
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf(generate(1, "2021", "pdf").data, pages=[0]))
    result = extract_file(path)
    assert result.status == "error" and result.error_code == "needs_ocr"


def test_blank_scanned_page_stays_a_picture_and_is_an_error_not_a_crash(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    ok, png = cv2.imencode(".png", np.full((2339, 1654), 255, np.uint8))
    page.insert_image(page.rect, stream=png.tobytes())
    path = tmp_path / "blank.pdf"
    doc.save(path)
    result = extract_file(path)
    assert result.status == "error" and result.error_code == "needs_ocr"
    assert "found no text" in result.error


def test_absurd_page_size_is_refused_before_rendering():
    from extractors.ocr.page_image import render

    doc = pymupdf.open()
    page = doc.new_page(width=14400, height=14400)  # 200 × 200 inches: 40000² pixels at 200 dpi
    with pytest.raises(ReadError) as err:
        render(page)
    assert err.value.code == "too_large"


def test_upside_down_page_reads_in_reading_order_with_boxes_on_the_stored_page(tmp_path):
    from extractors.readers import read
    from extractors.readers.pdf import read_pages

    synthetic = generate(4, "2021", "pdf")
    path = tmp_path / "upside_down.pdf"
    path.write_bytes(scanned_pdf(synthetic.data, upside_down=True, pages=[0]))
    scanned = read(path).paragraphs()
    printed = read_pages(pymupdf.open(stream=synthetic.data, filetype="pdf"), "p.pdf", "pdf").paragraphs()
    # the title comes first, not the page's last line
    assert [p.text.replace(" ", "") for p in scanned[:3]] == [p.text.replace(" ", "") for p in printed[:3]]
    # printed at the top, so on the stored (upside-down) page it is at the bottom
    assert scanned[0].prov.source == "ocr" and scanned[0].prov.bbox[1] > 842 / 2


def test_a_scan_written_as_an_inline_image_is_ocrd(tmp_path):
    """Some scanners write the page picture inline in the content stream (BI … ID … EI),
    where the page's image resources do not list it."""
    import zlib

    from extractors.readers import read

    synthetic = generate(4, "2021", "pdf")
    page = pymupdf.open(stream=synthetic.data, filetype="pdf")[1]
    pix = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    data = zlib.compress(pix.samples)
    doc = pymupdf.open()
    scan = doc.new_page(width=page.rect.width, height=page.rect.height)
    stream = doc.get_new_xref()
    doc.update_object(stream, "<<>>")
    doc.update_stream(stream, (f"q {scan.rect.width} 0 0 {scan.rect.height} 0 0 cm BI /W {pix.w} "
                               f"/H {pix.h} /CS /G /BPC 8 /F /Fl ID ").encode() + data + b" EI Q")
    doc.xref_set_key(scan.xref, "Contents", f"{stream} 0 R")
    path = tmp_path / "inline.pdf"
    doc.save(path)
    read_back = pymupdf.open(path)[0]
    assert not read_back.get_images() and read_back.get_image_info()
    doc_model = read(path)
    assert doc_model.ocr_pages == [] and doc_model.tables()
    texts = [c.text for t in doc_model.tables() for row in t.rows for c in row]
    assert any("予以公开" in t for t in texts)
