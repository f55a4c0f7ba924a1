"""OCR engines behind one small interface, chosen by name.

An engine does two things: find and read every text line of an image (`recognize`), and
read crops already known to hold one line each (`read_lines`), which is how table cells
are read once the ruling lines have told us where they are. Engines load their models
once per process: `get_engine` keeps one instance per name.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ReadError

DEFAULT_ENGINE = "rapidocr"
# Text detection runs on the page scaled down to this longest side: at 200 dpi an A4 page is
# 2339 px high and detection costs ~4× less at 1400 px, while table-sized text (9 pt) is
# still ~14 px high there. Recognition reads crops of the full-resolution page. (1200 or 1024
# would save only 0.04 or 0.10 s a page now, and change readings of lines.)
DET_MAX_SIDE = 1400
REC_MIN_WIDTH = 128  # every crop is padded to at least this input width (see __init__)
REC_BATCH_PIXELS = 640  # summed input width of one recognition batch (see read_lines)
# Characters an alternative reading of a number cell may put in place of another: digits and
# the marks of a blank cell. Candidates are cheap (edits of the greedy path), and only those
# for number cells are kept.
ALTERNATIVE_CHARS = "0123456789/-"
MIN_ALTERNATIVE = 0.01  # an alternative under this share of the reading's score is noise


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

    # An engine may also offer read_alternatives(crops, k): read_lines's readings, each with
    # its k likeliest readings and their scores (RapidOCR does; ocr.layout uses it if there).

    def recognize(self, image: np.ndarray) -> list[OcrBox]:
        """Every text line of a grayscale image: where it is, what it says, how sure."""


def recognize(engine: OcrEngine, image: np.ndarray) -> list[OcrBox]:
    """Detection, then recognition of each line from the full-resolution image."""
    quads = detect_inked(engine, image)
    read = engine.read_lines([_crop(image, q) for q in quads])
    return [OcrBox(q, text, score) for q, (text, score) in zip(quads, read) if text.strip()]


BAND_GAP = 150  # blank rows (full resolution) that split the image into bands
BAND_MARGIN = 40  # white kept around a band's ink, so the detector sees the text whole


def detect_inked(engine: OcrEngine, image: np.ndarray) -> list[np.ndarray]:
    """engine.detect on the bands of the image that hold ink, at the scale the whole image
    would be detected at. Detection costs by area, and outside tables a page is mostly blank:
    its margins, and the tables erased (measured on the eval scans: 24% of the page area
    detected, body detection 0.30 → 0.07 s a page; same fields, same flags)."""
    h, w = image.shape
    scale = min(1.0, DET_MAX_SIDE / max(h, w))
    ink = image < 128
    rows = np.flatnonzero(ink.sum(axis=1) >= 2)
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > BAND_GAP)
    quads = []
    for a, b in zip(np.append(rows[0], rows[breaks + 1]), np.append(rows[breaks], rows[-1]) + 1):
        y0, y1 = max(0, a - BAND_MARGIN), min(h, b + BAND_MARGIN)
        cols = np.flatnonzero(ink[y0:y1].sum(axis=0) >= 2)
        if cols.size == 0:
            continue
        x0, x1 = max(0, cols[0] - BAND_MARGIN), min(w, cols[-1] + 1 + BAND_MARGIN)
        band = image[y0:y1, x0:x1]
        found = engine.detect(band, max_side=max(32, round(scale * max(band.shape))))
        quads += [q + np.array([x0, y0], np.float32) for q in found]
    return quads


def scaled_for_detection(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The image shrunk to `max_side` at most, and the factor it was shrunk by."""
    import cv2

    scale = min(1.0, max_side / max(image.shape))
    if scale == 1.0:
        return image, scale
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


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
        # same text; at 48 or 64 the scores of lone digits sag below 0.9; at 96, 19 more cells
        # of the eval scans score under 0.7).
        self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1,
                             rec_img_shape=[3, 48, REC_MIN_WIDTH], rec_batch_num=REC_BATCH_PIXELS)
        self.model_paths = _rapidocr_model_paths()
        det, _, rec = self.model_paths
        # our own sessions of the same models, ~20% faster each (see _session)
        self._ocr.text_det.infer.session = _session(str(det), threads)
        self._ocr.text_rec.session.session = _session(str(rec), threads)

    def detect(self, image: np.ndarray, max_side: int = DET_MAX_SIDE) -> list[np.ndarray]:
        import cv2

        small, scale = scaled_for_detection(image, max_side)
        h, w = small.shape
        # the network wants sides in multiples of 32; RapidOCR's own preprocessing would also
        # blow up a small image to 736 px on its short side and normalise 3 channels in float64
        size = (max(32, round(w / 32) * 32), max(32, round(h / 32) * 32))
        net = small if size == (w, h) else cv2.resize(small, size)
        x = np.empty((1, 3, size[1], size[0]), np.float32)
        x[0] = net * np.float32(2 / 255) - np.float32(1)
        det = self._ocr.text_det
        quads, _ = det.postprocess_op(det.infer(x)[0], (h, w))
        quads = det.filter_tag_det_res(quads, (h, w))
        return [np.asarray(q, dtype=np.float32) / scale for q in quads]

    def recognize(self, image: np.ndarray) -> list[OcrBox]:
        return recognize(self, image)

    def read_lines(self, crops: list[np.ndarray], charset: str | None = None) -> list[tuple[str, float]]:
        return [(text, score) for text, score, _ in self._read(crops, charset, 0)]

    def read_alternatives(self, crops: list[np.ndarray],
                          k: int = 4) -> list[tuple[str, float, list[tuple[str, float]]]]:
        """As read_lines, each reading with up to `k` candidates from the same network output
        (see `alternatives`), best first, the greedy reading among them."""
        return self._read(crops, None, k)

    def _read(self, crops: list[np.ndarray], charset: str | None, k: int):
        """Crops go to the recognizer in batches of similar width holding at most
        REC_BATCH_PIXELS of input width: batching narrow crops saves per-call overhead (~7%
        for 8 of width 128), but wide inputs run slower per line in a batch than alone (×1.2
        for 4 of 640, ×1.5 for 4 of 1800), so lines wider than 320 go one at a time."""
        rec = self._ocr.text_rec
        columns = None if charset is None else self._columns(charset)
        widths = [48 * c.shape[1] / max(1, c.shape[0]) for c in crops]
        order = sorted(range(len(crops)), key=widths.__getitem__)
        out: list = [("", 0.0, [])] * len(crops)
        alt_columns = self._columns(ALTERNATIVE_CHARS) if k else None
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and \
                    (end - start + 1) * max(REC_MIN_WIDTH, widths[order[end]]) <= REC_BATCH_PIXELS:
                end += 1
            batch = order[start:end]
            probs = rec.session(self._rec_input([crops[i] for i in batch]))[0]
            for i, p in zip(batch, probs):
                text, score = self._decode(p, columns)
                alts = alternatives(p, alt_columns, rec.postprocess_op.character, k) if k else []
                out[i] = (text, score, alts)
            start = end
        return out

    def _rec_input(self, crops: list[np.ndarray]) -> np.ndarray:
        """RapidOCR's resize_norm_img on grayscale: each crop scaled to 48 px high, normalised
        to [-1, 1] and padded with 0 to the widest; the gray copied into the 3 channels."""
        import cv2

        _, height, min_width = self._ocr.text_rec.rec_image_shape
        ratio = max(min_width / height, *(c.shape[1] / c.shape[0] for c in crops))
        width = int(height * ratio)
        x = np.zeros((len(crops), 3, height, width), np.float32)
        for k, crop in enumerate(crops):
            w = min(width, math.ceil(height * crop.shape[1] / crop.shape[0]))
            x[k, :, :, :w] = cv2.resize(crop, (w, height)) * np.float32(2 / 255) - np.float32(1)
        return x

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


def alternatives(probs: np.ndarray, columns: np.ndarray, chars: list[str], k: int) -> list[tuple[str, float]]:
    """The `k` likeliest readings of one line among the greedy CTC path and its edits by one
    or two characters of `columns` (column 0: the CTC blank), scored as the product of the
    probabilities of the frames' choices: a character swapped for the runner-up at its peak
    frame, dropped (the blank's probability there), or a digit put in a blank stretch where
    it came close (the "dropped digit"). Greedy decoding keeps the best per frame and forgets
    the rest; this keeps what came second, which is where a misread figure's ink still shows."""
    best = probs.argmax(axis=1)
    # runs of one class; a non-blank run that follows another class is a character
    starts = np.flatnonzero(np.append(True, best[1:] != best[:-1]))
    ends = np.append(starts[1:], len(best))
    path: list[list] = []  # [char id, probability, edits as (ratio, replacement id or None)]
    sub = probs[:, columns]
    for a, b in zip(starts, ends):
        cls = int(best[a])
        t = a + int(probs[a:b, cls].argmax())
        p = float(probs[t, cls])
        if cls == 0:
            digit = int(sub[a:b, 1:].max(axis=0).argmax()) + 1
            tq = a + int(sub[a:b, digit].argmax())
            ratio = float(sub[tq, digit]) / max(float(sub[tq, 0]), 1e-6)
            path.append([None, 1.0, [(ratio, int(columns[digit]))]])
            continue
        edits = [(float(sub[t, 0]) / p, None)]
        edits += [(float(sub[t, j]) / p, int(columns[j])) for j in range(1, len(columns))
                  if columns[j] != cls]
        path.append([cls, p, edits])
    joint = float(np.prod([slot[1] for slot in path]))
    # single edits, then pairs of the best singles
    singles = sorted(((ratio, i, rep) for i, slot in enumerate(path) for ratio, rep in slot[2]
                      if ratio >= MIN_ALTERNATIVE), reverse=True)[:2 * k]
    options = [(1.0, ())] + [(r, ((i, rep),)) for r, i, rep in singles]
    options += [(r1 * r2, ((i1, p1), (i2, p2))) for n, (r1, i1, p1) in enumerate(singles)
                for r2, i2, p2 in singles[n + 1:] if i1 != i2 and r1 * r2 >= MIN_ALTERNATIVE]
    found: dict[str, float] = {}
    for ratio, edits in sorted(options, key=lambda o: -o[0]):
        chosen = dict(edits)
        text = "".join(chars[chosen.get(i, slot[0])] for i, slot in enumerate(path)
                       if chosen.get(i, slot[0]) is not None)
        if text not in found:
            found[text] = round(joint * ratio, 4)
        if len(found) == k:
            break
    return list(found.items())


def _rapidocr_model_paths() -> tuple[Path, Path, Path]:
    """The detection, line-classifier and recognition models RapidOCR's own config names:
    all inside the installed package."""
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH, read_yaml, update_model_path

    config = update_model_path(read_yaml(str(DEFAULT_CFG_PATH)))
    return tuple(Path(config[part]["model_path"]) for part in ("Det", "Cls", "Rec"))


def _session(model_path: str, threads: int):
    """An onnxruntime session of the model with the memory arena on: RapidOCR turns it off,
    and with it detection runs ~20% faster (a page-sized input's buffers are reused, not
    reallocated)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_path, sess_options=opts, providers=["CPUExecutionProvider"])


def _paddleocr() -> OcrEngine:
    from .paddle import PaddleOcrEngine  # imports this module: loaded only when asked for

    return PaddleOcrEngine()


_ENGINES = {"rapidocr": RapidOcrEngine, "paddleocr": _paddleocr}
_LOADED: dict[str, OcrEngine] = {}


def get_engine(name: str | None = None) -> OcrEngine:
    """The engine named (default: NIANBAO_OCR_ENGINE, else rapidocr), loaded once per process."""
    name = (name or os.environ.get("NIANBAO_OCR_ENGINE") or DEFAULT_ENGINE).strip().lower()
    if name not in _ENGINES:
        raise ReadError("missing_tool", f"unknown OCR engine {name!r}; known: {', '.join(_ENGINES)}")
    if name not in _LOADED:
        _LOADED[name] = _ENGINES[name]()
    return _LOADED[name]
