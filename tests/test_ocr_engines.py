"""OCR engines: rapidocr works offline from the models inside its wheel; PaddleOCR only from
local models; the table grid finds merged cells in a drawn image."""

from __future__ import annotations

import importlib.util
import os
import socket
import sysconfig
from pathlib import Path

import cv2
import numpy as np
import pytest

from extractors.errors import ReadError
from extractors.ocr.table_grid import find_rules, find_tables


def test_rapidocr_models_are_inside_site_packages_and_it_reads_offline(monkeypatch):
    pytest.importorskip("rapidocr_onnxruntime")
    from extractors.ocr.engines import RapidOcrEngine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("the OCR engine tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    engine = RapidOcrEngine()  # a fresh instance: loads the models now, with the network refused
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert len(engine.model_paths) == 3
    for path in engine.model_paths:
        assert path.resolve().is_relative_to(site)
    image = np.full((60, 200), 255, np.uint8)
    cv2.putText(image, "2019", (20, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)
    [(text, score)] = engine.read_lines([image])
    assert text == "2019" and score > 0.8


def test_paddleocr_runs_only_from_local_models(tmp_path, monkeypatch):
    if importlib.util.find_spec("paddleocr") is None:
        pytest.skip("paddleocr not installed / no local models")
    from extractors.ocr.paddle import PaddleOcrEngine

    monkeypatch.delenv("NIANBAO_PADDLEOCR_MODELS", raising=False)
    with pytest.raises(ReadError, match="NIANBAO_PADDLEOCR_MODELS"):
        PaddleOcrEngine()
    with pytest.raises(ReadError, match="no det or rec model"):
        PaddleOcrEngine(tmp_path)
    for part in ("det", "rec"):  # folders there, models not: a clear error, no download
        (tmp_path / part).mkdir()
        (tmp_path / part / "inference.yml").write_text(f"Global:\n  model_name: PP-OCRv5_mobile_{part}\n")
    with pytest.raises(ReadError, match="could not load the models"):
        PaddleOcrEngine(tmp_path)


def test_paddleocr_reads_with_the_users_models(monkeypatch):
    """Runs where a user has PaddleOCR and its models (NIANBAO_PADDLEOCR_MODELS)."""
    if importlib.util.find_spec("paddleocr") is None or not os.environ.get("NIANBAO_PADDLEOCR_MODELS"):
        pytest.skip("paddleocr and local models (NIANBAO_PADDLEOCR_MODELS) not available here")
    from extractors.ocr.paddle import PaddleOcrEngine

    engine = PaddleOcrEngine()
    image = np.full((64, 200), 255, np.uint8)
    cv2.putText(image, "2019", (20, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)
    [(text, score)] = engine.read_lines([image])
    assert text == "2019" and score > 0.8
    assert engine.detect(np.pad(image, 100, constant_values=255))


def test_unknown_engine_name_is_a_clear_error(monkeypatch):
    from extractors.ocr import get_engine, reader_engine

    with pytest.raises(ReadError, match="unknown OCR engine"):
        get_engine("nosuch")
    monkeypatch.setenv("NIANBAO_OCR_ENGINE", "nosuch")
    with pytest.raises(ReadError):
        reader_engine()
    monkeypatch.setenv("NIANBAO_OCR", "off")
    assert reader_engine() is None


def test_grid_from_image_rules_has_merged_cells():
    """A 3×3 grid at 200 dpi whose top row is one merged cell and whose left column merges
    its lower two rows."""
    image = np.full((700, 1000), 255, np.uint8)
    xs, ys = [100, 400, 650, 900], [100, 250, 400, 600]
    for y in ys:
        cv2.line(image, (xs[0], y), (xs[-1], y), 0, 2)
    cv2.line(image, (xs[0], ys[0]), (xs[0], ys[-1]), 0, 2)
    cv2.line(image, (xs[-1], ys[0]), (xs[-1], ys[-1]), 0, 2)
    for x in xs[1:-1]:
        cv2.line(image, (x, ys[1]), (x, ys[-1]), 0, 2)  # no inner rule in the top row
    cv2.line(image, (xs[0], ys[2]), (xs[1], ys[2]), 255, 6)  # left column: rows 2–3 merged
    ink = (image < 128).astype(np.uint8) * 255
    [table] = find_tables(find_rules(ink, 200), 200)
    spans = sorted((c.row, c.col, c.rowspan, c.colspan) for c in table.cells)
    assert spans == [(0, 0, 1, 3), (1, 0, 2, 1), (1, 1, 1, 1), (1, 2, 1, 1), (2, 1, 1, 1), (2, 2, 1, 1)]
    rect = table.cells[table.cell_at(500, 500)].rect
    assert np.allclose(rect, (400, 400, 650, 600), atol=2)


def test_a_glyph_with_a_thin_waist_stays_one_line_and_lines_apart_stay_apart():
    from extractors.ocr.layout import text_line_crops

    cell = np.full((60, 40), 255, np.uint8)
    cell[5:12, 10:30] = 0  # top of a blurred "2": a gap of two blank rows under it
    cell[14:20, 10:30] = 0
    cell[35:45, 10:30] = 0  # a second line, 15 rows further down
    crops = text_line_crops(cell, min_height=4, max_gap=2)
    assert len(crops) == 2
    assert crops[0].shape[0] > 15  # both parts of the glyph, with margins


def test_cells_read_again_as_numbers_only_when_they_look_like_misread_digits():
    from extractors.ocr.layout import needs_number_reading

    assert needs_number_reading("o") and needs_number_reading("D") and needs_number_reading("L1")
    for text in ("", "0", "12", "-1", "25.5", "/", "—", "无", "予以公开", "1 0"):
        assert not needs_number_reading(text), text


def test_a_point_is_kept_only_where_one_is_printed():
    from extractors.ocr.layout import _has_dot

    line = np.full((40, 80), 255, np.uint8)
    line[6:34, 10:20] = 0  # "1"
    line[6:34, 50:66] = 0  # "0", printed apart
    assert not _has_dot(line)
    line[29:34, 32:37] = 0  # a point on the baseline between them
    assert _has_dot(line)


class _BlindEngine:
    name = "blind"

    def read_lines(self, crops, charset=None):
        return [("", 0.0)] * len(crops)


def test_ink_that_reads_as_nothing_scores_zero_and_a_blank_cell_has_no_score():
    from extractors.ocr.layout import read_tables
    from extractors.ocr.page_image import PageImage

    image = np.full((700, 1000), 255, np.uint8)
    for y in (100, 250, 400):
        cv2.line(image, (100, y), (900, y), 0, 2)
    for x in (100, 500, 900):
        cv2.line(image, (x, 100), (x, 400), 0, 2)
    rules = find_rules((image < 128).astype(np.uint8) * 255, 200)
    tables = find_tables(rules, 200)
    clean = image.copy()
    clean[cv2.dilate(rules.both, np.ones((3, 3), np.uint8)) > 0] = 255
    clean[160:190, 290:310] = 0  # a smudge of a glyph in the top-left cell
    page = PageImage(clean, np.array([[72 / 200, 0, 0], [0, 72 / 200, 0]]))
    [table] = read_tables(page, clean, tables, _BlindEngine(), 200)
    scores = {(c.row, c.col): c.score for c in table.cells}
    assert scores[(0, 0)] == 0.0
    assert scores[(0, 1)] is None and scores[(1, 0)] is None


@pytest.mark.parametrize("printed, minus", [("-1", True), ("- 12", True), ("1", False), ("10", False),
                                            ("7", False), ("0.5", False)])
def test_a_minus_is_seen_by_its_shape_and_a_digit_is_not(printed, minus):
    """The recognizer reads a short minus on a blurred scan as "：": its shape tells."""
    import pymupdf

    from extractors.ocr.engines import tight_crop
    from extractors.ocr.layout import _starts_with_minus, for_recognizer

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((20, 40), printed, fontname="china-s", fontsize=10.5)
    pix = page.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY, clip=pymupdf.Rect(10, 20, 80, 50))
    image = cv2.GaussianBlur(np.frombuffer(pix.samples, np.uint8).reshape(pix.h, pix.w), (0, 0), 0.8)
    assert _starts_with_minus(for_recognizer(tight_crop(image))) is minus
