"""Scanned renderings of synthetic reports: what a portal's scanned PDF looks like.

Each page is rasterised, turned by a small skew, blurred, given sensor noise, and stored as
JPEG in an image-only PDF, so the text layer is gone and only OCR can read it. eval/scans
draws its styles from random_style (150–200 dpi grey, skew ≤1.5°); varied_style draws from
what real scans vary over (150–300 dpi, skew ±2°, JPEG 50–90, grey or colour on tinted
paper, a shadow at the fold) for eval/unseen.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pymupdf

WHITE = (255, 255, 255)
FOLDS = ("left", "right", "middle")  # a bound report's spine at either edge; a sheet folded
_FOLD_WIDTH = {"left": 0.06, "right": 0.06, "middle": 0.03}  # share of the page width


@dataclass(frozen=True)
class ScanStyle:
    dpi: int = 200
    skew: float = 0.0  # degrees, counter-clockwise
    blur: float = 0.0  # Gaussian sigma in pixels; 0 for none
    noise: float = 0.0  # standard deviation of the added noise, in grey levels
    jpeg_quality: int = 75
    upside_down: bool = False
    colour: bool = False  # an RGB scan and a colour JPEG; else grey
    paper: tuple[int, int, int] = WHITE  # RGB of the paper; a grey scan keeps its brightness
    shadow: float = 0.0  # share of brightness lost at the darkest of the fold's shadow
    fold: str = "left"  # where that shadow falls (FOLDS)


def random_style(rng: np.random.Generator) -> ScanStyle:
    """The range the issue names: 150–200 dpi, skew up to 1.5°, noise, blur, JPEG artefacts."""
    return ScanStyle(dpi=int(rng.choice([150, 175, 200])), skew=float(rng.uniform(-1.5, 1.5)),
                     blur=float(rng.choice([0.0, 0.6, 0.9])), noise=float(rng.uniform(0, 12)),
                     jpeg_quality=int(rng.integers(45, 90)))


def varied_style(rng: np.random.Generator) -> ScanStyle:
    """What real scans vary (issue 13): 150–300 dpi, skew ±2°, JPEG 50–90, grey or colour,
    white or tinted paper, a shadow at a fold on some."""
    paper = WHITE
    if rng.random() < 0.5:  # recycled, yellowed or grey paper: blue fades first
        red = int(rng.integers(228, 256))
        green = red - int(rng.integers(0, 8))
        paper = (red, green, green - int(rng.integers(0, 20)))
    shadow = float(rng.uniform(0.2, 0.6)) if rng.random() < 0.4 else 0.0
    return ScanStyle(dpi=int(rng.choice([150, 200, 240, 300])), skew=float(rng.uniform(-2, 2)),
                     blur=float(rng.choice([0.0, 0.6, 0.9])), noise=float(rng.uniform(0, 4)),
                     jpeg_quality=int(rng.integers(50, 91)), colour=bool(rng.random() < 0.5),
                     paper=paper, shadow=shadow, fold=str(rng.choice(FOLDS)))


def scan_pdf(pdf: bytes, style: ScanStyle, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    src = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for page in src:
        image = _rasterise(page, style)
        image = degrade(image, style, rng)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, style.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        target = out.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, stream=jpeg.tobytes())
    return out.tobytes(garbage=3, deflate=True, no_new_id=True)  # same seed, same bytes


def _rasterise(page: pymupdf.Page, style: ScanStyle) -> np.ndarray:
    """Grey (h, w) or, for a colour scan, BGR (h, w, 3) as OpenCV takes it."""
    if not style.colour:
        pix = page.get_pixmap(dpi=style.dpi, colorspace=pymupdf.csGRAY)
        return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
    pix = page.get_pixmap(dpi=style.dpi, colorspace=pymupdf.csRGB, alpha=False)
    rgb = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def degrade(image: np.ndarray, style: ScanStyle, rng: np.random.Generator) -> np.ndarray:
    """A grey or BGR page image as the scanner gives it back. Paper and shadow belong to the
    page, so they turn with it; blur and noise belong to the scanner."""
    h, w = image.shape[:2]
    paper = _paper(style, image.ndim)
    if style.paper != WHITE or style.shadow:
        light = np.ones(w, np.float32) if not style.shadow else _shadow(w, style)
        light = light[None, :, None] * (np.array(paper, np.float32) / 255)
        lit = np.rint(image.reshape(h, w, -1) * light)
        image = np.clip(lit, 0, 255).astype(np.uint8).reshape(image.shape)
    if style.skew:
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), style.skew, 1.0)
        image = cv2.warpAffine(image, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=paper)
    if style.upside_down:
        image = cv2.rotate(image, cv2.ROTATE_180)
    if style.blur:
        image = cv2.GaussianBlur(image, (0, 0), style.blur)
    if style.noise:
        noisy = image.astype(np.float32) + rng.normal(0, style.noise, image.shape)
        image = np.clip(noisy, 0, 255).astype(np.uint8)
    return image


def _paper(style: ScanStyle, ndim: int) -> int | tuple[int, int, int]:
    """The paper as the image holds it: a grey level (its luma), or BGR."""
    red, green, blue = style.paper
    if ndim == 2:
        return round(0.299 * red + 0.587 * green + 0.114 * blue)
    return (blue, green, red)


def _shadow(width: int, style: ScanStyle) -> np.ndarray:
    """Brightness across the page: 1 − shadow at the fold, back to ~1 a few fold widths away."""
    if style.fold not in FOLDS:
        raise ValueError(f"fold must be one of {FOLDS}")
    x = np.arange(width, dtype=np.float32)
    at = {"left": 0.0, "right": width - 1.0, "middle": (width - 1) / 2}[style.fold]
    return 1 - style.shadow * np.exp(-np.abs(x - at) / (_FOLD_WIDTH[style.fold] * width))
