"""OCR engines behind one small interface, chosen by name.

An engine does two things: find and read every text line of an image (`recognize`), and
read crops already known to hold one line each (`read_lines`), which is how table cells
are read once the ruling lines have told us where they are. Engines load their models
once per process: `get_engine` keeps one instance per name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ReadError

DEFAULT_ENGINE = "rapidocr"
# Text detection runs on the page scaled down to this longest side: at 200 dpi an A4 page is
# 2339 px high and detection costs ~4× less at 1400 px, while table-sized text (9 pt) is
# still ~14 px high there. Recognition reads crops of the full-resolution page.
DET_MAX_SIDE = 1400
REC_BATCH_PIXELS = 1280  # summed input width of one recognition batch (see read_lines)


@dataclass(slots=True)
class OcrBox:
    quad: np.ndarray  # 4×2 corners in image pixels, clockwise from top-left
    text: str
    score: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        x0, y0 = self.quad.min(axis=0)
        x1, y1 = self.quad.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


class OcrEngine(Protocol):
    name: str

    def detect(self, image: np.ndarray, max_side: int = DET_MAX_SIDE) -> list[np.ndarray]:
        """Quads (4×2, image pixels) of the text lines of a grayscale image, found on the
        image scaled down to `max_side`."""

    def read_lines(self, crops: list[np.ndarray], charset: str | None = None) -> list[tuple[str, float]]:
        """Text and score of grayscale crops that each hold one line of text; with `charset`,
        the best reading made of those characters only."""

    def recognize(self, image: np.ndarray) -> list[OcrBox]:
        """Every text line of a grayscale image: where it is, what it says, how sure."""


def recognize(engine: OcrEngine, image: np.ndarray) -> list[OcrBox]:
    """Detection, then recognition of each line from the full-resolution image."""
    quads = engine.detect(image)
    read = engine.read_lines([_crop(image, q) for q in quads])
    return [OcrBox(q, text, score) for q, (text, score) in zip(quads, read) if text.strip()]


def _crop(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The axis-aligned crop around a detected box, tightened to its ink: recognition reads
    a lone digit far better when the glyph fills the crop's height (a loose "0" reads as "o")."""
    h, w = image.shape
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    return tight_crop(image[max(0, y0):min(h, y1), max(0, x0):min(w, x1)])


def tight_crop(crop: np.ndarray, threshold: int = 160) -> np.ndarray:
    """The crop cut to its ink with a white margin of a tenth of the ink's height."""
    ink = crop < threshold
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return crop
    part = crop[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    margin = max(2, round(0.1 * part.shape[0]))
    return np.pad(part, margin, constant_values=255)


class RapidOcrEngine:
    """RapidOCR (PP-OCRv4 detection and recognition as ONNX) with the models shipped inside
    the rapidocr-onnxruntime wheel; it has no download code, so it never reaches the network.

    Uses the detector and recognizer objects of RapidOCR 1.4.x directly rather than its
    one-call pipeline: that pipeline reads crops of the downscaled detection image and runs
    the 0/180° line classifier, which turns lone digits upside down (6 ↔ 9).
    """

    name = "rapidocr"

    def __init__(self, threads: int | None = None):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as err:
            raise ReadError("missing_tool", "OCR engine rapidocr needs the package "
                            f"rapidocr-onnxruntime ({err})") from None
        threads = threads or int(os.environ.get("NIANBAO_OCR_THREADS", "1"))
        # rec_img_shape width 128 instead of 320: every crop is padded to at least that width,
        # and most table cells hold one or two digits (measured: 8 ms a digit instead of 23,
        # same text; at 48 or 64 the scores of lone digits sag below 0.9).
        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1,
                             rec_img_shape=[3, 48, 128], rec_batch_num=REC_BATCH_PIXELS)
        self.model_paths = _rapidocr_model_paths()

    def detect(self, image: np.ndarray, max_side: int = DET_MAX_SIDE) -> list[np.ndarray]:
        import cv2

        scale = min(1.0, max_side / max(image.shape))
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                      interpolation=cv2.INTER_AREA)
        quads, _ = self._ocr.text_det(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))
        if quads is None:
            return []
        return [np.asarray(q, dtype=np.float32) / scale for q in quads]

    def recognize(self, image: np.ndarray) -> list[OcrBox]:
        return recognize(self, image)

    def read_lines(self, crops: list[np.ndarray], charset: str | None = None) -> list[tuple[str, float]]:
        """Crops go to the recognizer in batches of similar width holding at most
        REC_BATCH_PIXELS of input width: batching narrow crops saves per-call overhead, but a
        batch of long lines runs ~1.5× slower per line than one line at a time."""
        import cv2

        rec = self._ocr.text_rec
        columns = None if charset is None else self._columns(charset)
        widths = [48 * c.shape[1] / max(1, c.shape[0]) for c in crops]
        order = sorted(range(len(crops)), key=widths.__getitem__)
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * max(128, widths[order[end]]) <= REC_BATCH_PIXELS:
                end += 1
            batch = order[start:end]
            images = [cv2.cvtColor(crops[i], cv2.COLOR_GRAY2BGR) for i in batch]
            ratio = max(rec.rec_image_shape[2] / rec.rec_image_shape[1],
                        *(im.shape[1] / im.shape[0] for im in images))
            probs = rec.session(np.stack([rec.resize_norm_img(im, ratio) for im in images]))[0]
            for i, p in zip(batch, probs):
                out[i] = self._decode(p, columns)
            start = end
        return out

    def _columns(self, charset: str) -> np.ndarray:
        """Output classes of the recognizer for the CTC blank and each character of `charset`."""
        index = {c: i for i, c in enumerate(self._ocr.text_rec.postprocess_op.character)}
        return np.array([0] + [index[c] for c in charset if c in index])

    def _decode(self, probs: np.ndarray, columns: np.ndarray | None) -> tuple[str, float]:
        """Greedy CTC decoding (RapidOCR's own: repeats collapsed, blanks dropped, score the mean
        probability of the characters kept). Restricted to `columns`, the probabilities are
        renormalised over them: the reading given that the line holds only those characters."""
        chars = self._ocr.text_rec.postprocess_op.character
        if columns is not None:
            probs = probs[:, columns]
            probs = probs / probs.sum(axis=1, keepdims=True)
        best = probs.argmax(axis=1)
        keep = np.append(True, best[1:] != best[:-1]) & (best != 0)
        if not keep.any():
            return "", 0.0
        ids = best[keep] if columns is None else columns[best[keep]]
        return "".join(chars[i] for i in ids), float(probs.max(axis=1)[keep].mean())


def _rapidocr_model_paths() -> list[Path]:
    """The ONNX files RapidOCR loads: all inside the installed package."""
    import rapidocr_onnxruntime

    root = Path(rapidocr_onnxruntime.__file__).parent
    return sorted((root / "models").glob("*.onnx"))


class PaddleOcrEngine:
    """PaddleOCR (2.x API) with models from a local folder: det/ and rec/ inference models,
    from the argument or NIANBAO_PADDLEOCR_MODELS. It never downloads: without both folders
    it refuses to start."""

    name = "paddleocr"

    def __init__(self, model_dir: str | os.PathLike | None = None):
        model_dir = model_dir or os.environ.get("NIANBAO_PADDLEOCR_MODELS")
        try:
            from paddleocr import PaddleOCR
        except ImportError:
            raise ReadError("missing_tool", "OCR engine paddleocr needs the packages paddleocr "
                            "and paddlepaddle (pip install paddleocr paddlepaddle)") from None
        if not model_dir:
            raise ReadError("missing_tool", "OCR engine paddleocr needs local models: set "
                            "NIANBAO_PADDLEOCR_MODELS to a folder with det/ and rec/ inference models")
        root = Path(model_dir)
        missing = [d for d in ("det", "rec") if not (root / d).is_dir()]
        if missing:
            raise ReadError("missing_tool", f"OCR engine paddleocr: no {' or '.join(missing)} model "
                            f"folder under {root}")
        self._ocr = PaddleOCR(det_model_dir=str(root / "det"), rec_model_dir=str(root / "rec"),
                              use_angle_cls=False, lang="ch", show_log=False)

    def detect(self, image: np.ndarray, max_side: int = DET_MAX_SIDE) -> list[np.ndarray]:
        import cv2

        scale = min(1.0, max_side / max(image.shape))
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                      interpolation=cv2.INTER_AREA)
        result = self._ocr.ocr(small, det=True, rec=False, cls=False)
        quads = result[0] if result and result[0] else []
        return [np.asarray(q, dtype=np.float32) / scale for q in quads]

    def recognize(self, image: np.ndarray) -> list[OcrBox]:
        return recognize(self, image)

    def read_lines(self, crops: list[np.ndarray], charset: str | None = None) -> list[tuple[str, float]]:
        """PaddleOCR gives no per-class probabilities: a reading outside `charset` is no reading."""
        out = []
        for crop in crops:
            result = self._ocr.ocr(crop, det=False, rec=True, cls=False)
            text, score = result[0][0] if result and result[0] else ("", 0.0)
            if charset is not None and not set(text) <= set(charset):
                text, score = "", 0.0
            out.append((text, float(score)))
        return out


_ENGINES = {"rapidocr": RapidOcrEngine, "paddleocr": PaddleOcrEngine}
_LOADED: dict[str, OcrEngine] = {}


def get_engine(name: str | None = None) -> OcrEngine:
    """The engine named (default: NIANBAO_OCR_ENGINE, else rapidocr), loaded once per process."""
    name = (name or os.environ.get("NIANBAO_OCR_ENGINE") or DEFAULT_ENGINE).strip().lower()
    if name not in _ENGINES:
        raise ReadError("missing_tool", f"unknown OCR engine {name!r}; known: {', '.join(_ENGINES)}")
    if name not in _LOADED:
        _LOADED[name] = _ENGINES[name]()
    return _LOADED[name]
