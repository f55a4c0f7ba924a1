"""PaddleOCR as an engine, from models in a local folder: it never downloads.

The folder holds `det/` and `rec/`, each an exported inference model as PaddleOCR
publishes them (inference.json or .pdmodel, inference.pdiparams, inference.yml). PaddleOCR
3.x runs them through its TextDetection and TextRecognition modules, which check that the
model name given matches the one in inference.yml, so the name is read from there. PaddleOCR
2.x (`PaddleOCR(det_model_dir=…, rec_model_dir=…)`) is used where that is what is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ReadError
from .engines import DET_MAX_SIDE, OcrBox, recognize, scaled_for_detection

MODELS_ENV = "NIANBAO_PADDLEOCR_MODELS"


def _model_name(folder: Path) -> str:
    import yaml

    config = folder / "inference.yml"
    try:
        name = yaml.safe_load(config.read_text(encoding="utf-8"))["Global"]["model_name"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as err:
        raise ReadError("missing_tool", f"OCR engine paddleocr: cannot read the model name from "
                        f"{config} ({err})") from None
    return str(name)


class PaddleOcrEngine:
    """Text lines found by PaddleOCR's detection model and read by its recognition model."""

    name = "paddleocr"

    def __init__(self, model_dir: str | os.PathLike | None = None):
        model_dir = model_dir or os.environ.get(MODELS_ENV)
        # PaddleX probes its model hosters over the network unless told not to; we never
        # download, and an air-gapped machine would wait for the probe to time out
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        try:
            import paddleocr
        except ImportError:
            raise ReadError("missing_tool", "OCR engine paddleocr needs the packages paddleocr "
                            "and paddlepaddle (pip install 'nianbao[paddleocr]')") from None
        if not model_dir:
            raise ReadError("missing_tool", f"OCR engine paddleocr needs local models: set {MODELS_ENV} "
                            "to a folder with det/ and rec/ inference models")
        root = Path(model_dir)
        missing = [d for d in ("det", "rec") if not (root / d).is_dir()]
        if missing:
            raise ReadError("missing_tool", f"OCR engine paddleocr: no {' or '.join(missing)} model "
                            f"folder under {root}")
        major = int(paddleocr.__version__.split(".")[0])
        try:
            if major >= 3:
                self._det = paddleocr.TextDetection(model_name=_model_name(root / "det"),
                                                    model_dir=str(root / "det"), device="cpu")
                self._rec = paddleocr.TextRecognition(model_name=_model_name(root / "rec"),
                                                      model_dir=str(root / "rec"), device="cpu")
                self._v2 = None
            else:
                self._v2 = paddleocr.PaddleOCR(det_model_dir=str(root / "det"),
                                               rec_model_dir=str(root / "rec"),
                                               use_angle_cls=False, lang="ch", show_log=False)
        except ReadError:
            raise
        except Exception as err:  # noqa: BLE001 — PaddleX raises many kinds; all mean "cannot start"
            raise ReadError("missing_tool", f"OCR engine paddleocr could not load the models in "
                            f"{root}: {err}") from None

    def detect(self, image: np.ndarray, max_side: int = DET_MAX_SIDE) -> list[np.ndarray]:
        import cv2

        small, scale = scaled_for_detection(image, max_side)
        bgr = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        if self._v2 is not None:
            result = self._v2.ocr(bgr, det=True, rec=False, cls=False)
            quads = result[0] if result and result[0] else []
        else:
            [result] = self._det.predict(bgr)
            quads = result["dt_polys"]
        return [np.asarray(q, dtype=np.float32) / scale for q in quads]

    def recognize(self, image: np.ndarray) -> list[OcrBox]:
        return recognize(self, image)

    def read_lines(self, crops: list[np.ndarray], charset: str | None = None) -> list[tuple[str, float]]:
        """PaddleOCR gives no per-class probabilities: a reading outside `charset` is no reading."""
        import cv2

        if not crops:
            return []
        images = [cv2.cvtColor(c, cv2.COLOR_GRAY2BGR) for c in crops]
        if self._v2 is not None:
            reads = []
            for image in images:
                result = self._v2.ocr(image, det=False, rec=True, cls=False)
                reads.append(result[0][0] if result and result[0] else ("", 0.0))
        else:
            reads = [(r["rec_text"], r["rec_score"]) for r in self._rec.predict(images)]
        out = []
        for text, score in reads:
            if charset is not None and not set(text) <= set(charset):
                text, score = "", 0.0
            out.append((text, float(score)))
        return out
