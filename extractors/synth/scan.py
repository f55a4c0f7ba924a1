"""Scanned renderings of synthetic reports: what a portal's scanned PDF looks like.

Each page is rasterised (150–200 dpi, grayscale), turned by a small skew, blurred, given
sensor noise, and stored as JPEG in an image-only PDF, so the text layer is gone and only
OCR can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pymupdf


@dataclass(frozen=True)
class ScanStyle:
    dpi: int = 200
    skew: float = 0.0  # degrees, counter-clockwise
    blur: float = 0.0  # Gaussian sigma in pixels; 0 for none
    noise: float = 0.0  # standard deviation of the added noise, in grey levels
    jpeg_quality: int = 75
    upside_down: bool = False


def random_style(rng: np.random.Generator) -> ScanStyle:
    """The range the issue names: 150–200 dpi, skew up to 1.5°, noise, blur, JPEG artefacts."""
    return ScanStyle(dpi=int(rng.choice([150, 175, 200])), skew=float(rng.uniform(-1.5, 1.5)),
                     blur=float(rng.choice([0.0, 0.6, 0.9])), noise=float(rng.uniform(0, 12)),
                     jpeg_quality=int(rng.integers(45, 90)))


def scan_pdf(pdf: bytes, style: ScanStyle, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    src = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for page in src:
        pix = page.get_pixmap(dpi=style.dpi, colorspace=pymupdf.csGRAY)
        image = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width)
        image = degrade(image, style, rng)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, style.jpeg_quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        target = out.new_page(width=page.rect.width, height=page.rect.height)
        target.insert_image(target.rect, stream=jpeg.tobytes())
    return out.tobytes(garbage=3, deflate=True)


def degrade(image: np.ndarray, style: ScanStyle, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    if style.skew:
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), style.skew, 1.0)
        image = cv2.warpAffine(image, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    if style.upside_down:
        image = cv2.rotate(image, cv2.ROTATE_180)
    if style.blur:
        image = cv2.GaussianBlur(image, (0, 0), style.blur)
    if style.noise:
        noisy = image.astype(np.float32) + rng.normal(0, style.noise, image.shape)
        image = np.clip(noisy, 0, 255).astype(np.uint8)
    return image
