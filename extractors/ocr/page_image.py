"""A PDF page as a grayscale image ready for OCR: rendered, turned upright, deskewed, and
with the transform back to PDF points kept so that every box read can be cropped from the
page as evidence."""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import pymupdf

from ..errors import ReadError
from .engines import OcrEngine, tight_crop

DPI = 200
# A4 at 300 dpi is 8.7 Mpx; anything past this is a decompression bomb or an absurd page,
# refused before MuPDF decodes it.
MAX_PIXELS = int(os.environ.get("NIANBAO_OCR_MAX_PIXELS", 60_000_000))
LINE_RATIO = 2.5  # a detected box this many times longer than high is a line of text
# A page is turned on the evidence of at least this many lines, one way reading better than
# the other by this mean recognizer score (upright and flipped differ by ≥ 0.63 on the eval pages)
MIN_TURN_LINES = 3
TURN_MARGIN = 0.2
MAX_SKEW = 3.0  # degrees searched either way; scanners feed within a degree or two


@dataclass
class PageImage:
    image: np.ndarray  # grayscale, upright and deskewed
    to_points: np.ndarray  # 2×3 affine: processed-image pixels → PDF points of the page
    rotation: int = 0  # quarter turns applied, degrees clockwise
    skew: float = 0.0  # degrees the image was turned to straighten it

    def bbox(self, rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A pixel rectangle of the processed image as a PDF-point bbox on the page."""
        x0, y0, x1, y1 = rect
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], dtype=np.float64)
        pts = corners @ self.to_points.T
        (a, b), (c, d) = pts.min(axis=0), pts.max(axis=0)
        return round(float(a), 2), round(float(b), 2), round(float(c), 2), round(float(d), 2)


def check_pixels(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise ReadError("too_large", f"{what}: {width}×{height} pixels is over the {MAX_PIXELS}-pixel "
                        "limit for OCR (set NIANBAO_OCR_MAX_PIXELS to raise it)")


def render(page: pymupdf.Page, dpi: int = DPI) -> np.ndarray:
    """The page in grayscale at `dpi`; refuses pages or embedded pictures too large to decode."""
    for info in page.get_image_info():  # inline images too; sizes from their dictionaries
        check_pixels(info["width"], info["height"], f"page {page.number + 1}: embedded image")
    zoom = dpi / 72
    check_pixels(round(page.rect.width * zoom), round(page.rect.height * zoom),
                 f"page {page.number + 1} at {dpi} dpi")
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.h, pix.stride)[:, :pix.w].copy()


def flatten(gray: np.ndarray, dpi: int) -> np.ndarray:
    """The page divided by its own background, so that uneven light (the shadow along a
    book's fold, a dim corner, tinted paper) becomes white paper. Left in, a shadow band is
    ink to every threshold downstream: Otsu takes it for a long straight run, i.e. a rule,
    and a cell crop inside it is dark all over. The background is the page with every dark
    mark narrower than 1/6 inch closed over (strokes, rules; a shadow is wider), estimated
    at quarter size since it varies slowly."""
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    k = max(3, dpi // 24)  # 1/6 inch at quarter size
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.resize(background, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, np.maximum(background, 1), scale=255)


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Ink as 255 on 0: Otsu on the whole (flattened) page, which scanned print separates
    cleanly."""
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask


def estimate_skew(gray: np.ndarray) -> float:
    """Degrees the content is turned (counter-clockwise positive), from the sharpness of the
    row profile: text lines and rules give the sharpest profile when level. Measured on a
    quarter-size image, coarse then fine."""
    small = cv2.resize(ink_mask(gray), None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rows = cv2.warpAffine(small, m, (w, h), flags=cv2.INTER_NEAREST).sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(rows)).sum())

    coarse = max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.25), key=sharpness)
    fine = max(np.arange(coarse - 0.25, coarse + 0.25 + 1e-9, 0.05), key=sharpness)
    return -float(fine)


def _quarter_turns(gray: np.ndarray, engine: OcrEngine) -> int:
    """Clockwise quarter turns that make the page upright (0–3). Text lines lie along the
    reading direction, so tall detected lines mean a 90° turn; which of the two directions is
    right, the recognizer's confidence on the longest lines tells. A page stays as it is
    unless the evidence is clear: a few lines at least, one direction reading better by a
    margin (a table of narrow columns, its labels stacked a character or two a line, gives a
    tall box or two on an upright page, and garbage read two ways tells nothing)."""
    quads = engine.detect(gray, max_side=800)
    if not quads:
        return 0
    sizes = [(q.max(axis=0) - q.min(axis=0)) for q in quads]
    # Only boxes clearly longer than high count, by their length: a lone digit in a table
    # cell is taller than wide, and a table picture has hundreds of them.
    wide = [i for i, (w, h) in enumerate(sizes) if w > LINE_RATIO * h]
    tall = [i for i, (w, h) in enumerate(sizes) if h > LINE_RATIO * w]
    turned = sum(sizes[i][1] for i in tall) > sum(sizes[i][0] for i in wide)
    lines = tall if turned else wide
    if len(lines) < MIN_TURN_LINES:
        return 0
    crops = []
    for i in sorted(lines, key=lambda i: -max(sizes[i]))[:4]:
        x0, y0 = np.floor(quads[i].min(axis=0)).astype(int).clip(0)
        x1, y1 = np.ceil(quads[i].max(axis=0)).astype(int)
        crop = np.rot90(gray[y0:y1, x0:x1], -int(turned))  # k < 0 turns clockwise
        # a few glyphs from the middle of the line are enough, and recognition cost grows
        # with the width read: 4 line-heights (measured on the eval pages in all 4 turns: the
        # mean-score gap between upright and flipped stays ≥ 0.63, as with 8, at 2/3 the cost)
        h, w = crop.shape
        if w > 4 * h:
            crop = crop[:, w // 2 - 2 * h:w // 2 + 2 * h]
        if crop.size:
            crops.append(crop)
    if not crops:
        return 0
    reads = engine.read_lines([tight_crop(np.ascontiguousarray(np.rot90(c, k)))
                               for k in (0, 2) for c in crops])  # one call: fewer batches
    as_is = sum(s for _, s in reads[:len(crops)]) / len(crops)
    flipped = sum(s for _, s in reads[len(crops):]) / len(crops)
    if abs(as_is - flipped) < TURN_MARGIN:
        return 0
    return int(turned) + (2 if flipped > as_is else 0)


def prepare(page: pymupdf.Page, engine: OcrEngine, dpi: int = DPI) -> PageImage:
    """Render, even out the light, turn upright, deskew."""
    gray = flatten(render(page, dpi), dpi)
    # pixel → point of the rendered page, then each processing step composes onto it
    to_points = np.array([[72 / dpi, 0, page.rect.x0], [0, 72 / dpi, page.rect.y0], [0, 0, 1]])
    turns = _quarter_turns(gray, engine)
    if turns:
        h, w = gray.shape
        gray = np.ascontiguousarray(np.rot90(gray, -turns))
        to_points = to_points @ _undo_quarter_turns(turns, w, h)
    gray, skew, turn = level(gray)
    to_points = to_points @ np.linalg.inv(np.vstack([turn, [0, 0, 1]]))
    return PageImage(gray, to_points[:2], rotation=90 * turns, skew=skew)


def level(gray: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """The image turned level, its skew in degrees, and the 2×3 turn applied (identity
    under a tenth of a degree, which is left alone)."""
    skew = estimate_skew(gray)
    h, w = gray.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), -skew if abs(skew) >= 0.1 else 0.0, 1.0)
    if abs(skew) >= 0.1:
        gray = cv2.warpAffine(gray, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    return gray, skew, turn


def _undo_quarter_turns(turns: int, w: int, h: int) -> np.ndarray:
    """3×3 map from pixels of the image turned `turns` × 90° clockwise back to the original
    (w × h) image's pixels."""
    if turns == 1:  # turned (x, y) came from (y, h - 1 - x)
        return np.array([[0, 1, 0], [-1, 0, h - 1], [0, 0, 1]], dtype=np.float64)
    if turns == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=np.float64)
    return np.array([[0, -1, w - 1], [1, 0, 0], [0, 0, 1]], dtype=np.float64)  # 3 turns
