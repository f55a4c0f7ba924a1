"""Pictures as content: image files read page by page, pictures in DOCX/HTML found, loaded
only from where they may be, and decoded with their size checked first."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from extractors.errors import ReadError
from extractors.readers.pictures import data_uri_bytes, local_loader, picture_pages


def _png(size: tuple[int, int], mode: str = "L", color=255, **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG", **save)
    return out.getvalue()


def test_a_relative_src_is_read_from_beside_the_page_and_never_from_outside(tmp_path):
    page_dir = tmp_path / "site"
    (page_dir / "report_files").mkdir(parents=True)
    (page_dir / "report_files" / "t1.png").write_bytes(b"inside")
    (tmp_path / "secret.png").write_bytes(b"outside")
    load = local_loader(page_dir)
    assert load("report_files/t1.png?v=2") == b"inside"
    assert load("../secret.png") is None
    assert load(str(tmp_path / "secret.png")) is None  # absolute paths leave the folder too
    assert load("http://example.org/t1.png") is None  # fetching is the harvester's job
    assert load("report_files/missing.png") is None


def test_data_uris_decode_and_bad_ones_give_none():
    data = _png((80, 80))
    assert data_uri_bytes("data:image/png;base64," + base64.b64encode(data).decode()) == data
    assert data_uri_bytes("data:image/png;base64") is None


def test_picture_page_size_follows_a_stated_scan_resolution_or_a_page_width():
    scan = picture_pages(_png((1654, 2339), dpi=(200, 200)), "scan.png")
    assert scan[0].rect.width == pytest.approx(1654 * 72 / 200, abs=0.5)
    # a screenshot at a screen's 96 dpi: taken as an A4-wide picture
    shot = picture_pages(_png((1200, 500), dpi=(96, 96)), "shot.png")
    assert shot[0].rect.width == pytest.approx(8.27 * 72, abs=0.5)


def test_transparent_background_becomes_white_not_black():
    pdf = picture_pages(_png((200, 100), mode="RGBA", color=(0, 0, 0, 0)), "clear.png")
    pix = pdf[0].get_pixmap(dpi=72)
    assert min(pix.samples) > 240


def test_every_frame_of_a_multipage_tiff_is_a_page():
    frames = [Image.new("1", (800, 1100), 1) for _ in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="group4")
    assert picture_pages(out.getvalue(), "fax.tif").page_count == 3


def test_damaged_and_foreign_bytes_are_corrupt_errors():
    data = _png((300, 300))
    with pytest.raises(ReadError) as err:
        picture_pages(b"not an image at all", "x.png")
    assert err.value.code == "corrupt"
    with pytest.raises(ReadError) as err:
        picture_pages(data[:60], "cut.png")
    assert err.value.code == "corrupt"


def test_a_picture_too_large_to_render_is_skipped_and_the_document_still_read(tmp_path):
    """A long narrow picture passes the header check but would render past the pixel limit
    at OCR scale: the DOCX around it is read all the same."""
    pytest.importorskip("rapidocr_onnxruntime")
    from docx import Document as Docx

    from extractors.readers.docx import read_docx

    doc = Docx()
    doc.add_paragraph("某某县人民政府2021年政府信息公开工作年度报告")
    doc.add_paragraph("一、总体情况")
    doc.add_picture(io.BytesIO(_png((600, 40000), mode="1", color=1)))
    path = tmp_path / "long.docx"
    doc.save(path)
    read = read_docx(path)
    assert [p.text for p in read.paragraphs()][:2] == ["某某县人民政府2021年政府信息公开工作年度报告", "一、总体情况"]
    assert any(b.image is not None for b in read.blocks)  # the picture is still there, unread
