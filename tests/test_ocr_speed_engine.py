"""What makes OCR fast must not change what it reads: detection on the inked bands finds boxes
where the whole page would, and the cheaper orientation check still finds every quarter turn,
on pages of text and on pictures that hold only a table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymupdf
import pytest

pytest.importorskip("rapidocr_onnxruntime")

from extractors.ocr.engines import DET_MAX_SIDE, detect_inked  # noqa: E402

SCANS = Path(__file__).resolve().parent.parent / "eval" / "scans"


class _RecordingEngine:
    def __init__(self):
        self.calls = []

    def detect(self, image, max_side=DET_MAX_SIDE):
        self.calls.append((image.shape, max_side))
        ys, xs = np.nonzero(image < 128)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
        return [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)]


def test_detection_runs_on_the_inked_bands_at_the_page_scale():
    page = np.full((2339, 1654), 255, np.uint8)
    page[300:340, 200:900] = 0  # a line near the top
    page[1800:1830, 400:1400] = 0  # and one far below it
    engine = _RecordingEngine()
    quads = detect_inked(engine, page)
    assert len(engine.calls) == 2
    scale = DET_MAX_SIDE / 2339
    for (h, w), max_side in engine.calls:
        assert h < 200 and abs(max_side / max(h, w) - scale) < 0.01
    boxes = sorted((q.min(axis=0).tolist(), q.max(axis=0).tolist()) for q in quads)
    assert boxes == [([200, 300], [899, 339]), ([400, 1800], [1399, 1829])]
    assert detect_inked(engine, np.full((500, 400), 255, np.uint8)) == []


@pytest.mark.parametrize("k", [1, 2, 3])
def test_quarter_turns_are_found_in_every_direction(k):
    from extractors.ocr import get_engine
    from extractors.ocr.page_image import _quarter_turns, render

    with pymupdf.open(SCANS / "scan000.pdf") as pdf:
        upright = render(pdf[0])
    turned = np.ascontiguousarray(np.rot90(upright, k))  # k turns counter-clockwise
    assert _quarter_turns(turned, get_engine()) == k  # so k turns clockwise right it


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_quarter_turns_of_a_picture_holding_only_a_table(k):
    """Lone digits in table cells are taller than wide: they must not pass for lines of
    text set vertically."""
    from extractors.ocr import get_engine
    from extractors.ocr.page_image import _quarter_turns, render
    from extractors.readers.pictures import picture_pages

    data = (SCANS.parent / "pictables" / "pictable005_files" / "table2.png").read_bytes()
    with picture_pages(data, "table2.png") as pdf:
        upright = render(pdf[0])
    turned = np.ascontiguousarray(np.rot90(upright, k))
    assert _quarter_turns(turned, get_engine()) == k
