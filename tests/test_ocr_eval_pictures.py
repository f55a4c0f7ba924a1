"""Issue 3's bar on eval/pictables: DOCX and HTML reports whose template tables (三 always)
are pasted as pictures — clean screenshots and degraded photos, inline, as data: URIs and as
files beside the page (made by `eval/make_cases.py --pictables`), scored against their gold."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.evaluate import evaluate, load_gold
from extractors.pipeline import extract_file
from extractors.standard_model import is_numeric_key

pytest.importorskip("rapidocr_onnxruntime")

PICTABLES = Path(__file__).parent.parent / "eval" / "pictables"


@pytest.fixture(scope="module")
def report():
    gold = load_gold(PICTABLES / "gold")
    results = {name: extract_file(PICTABLES / name) for name in gold}
    return gold, results, evaluate(gold, results)


def test_picture_tables_are_read_from_the_pictures(report):
    _, results, _ = report
    for name, result in results.items():
        assert result.status == "ok", (name, result.error)
        ocr_fields = [p for p in result.provenance.values() if p.source == "ocr"]
        assert ocr_fields, name
        assert all(p.image and p.bbox for p in ocr_fields if p.method == "table"), name


def test_numbers_in_picture_tables_are_read(report):
    gold, _, result = report
    total = sum(is_numeric_key(k) for g in gold.values() for k in g["fields"])
    wrong = [w for d in result["per_document"].values() for w in d["wrong"] if is_numeric_key(w["key"])]
    assert 1 - len(wrong) / total >= 0.98, wrong


def test_every_wrong_number_is_flagged_for_review(report):
    _, _, result = report
    unflagged = [(name, w["key"], w["gold"], w["pred"]) for name, d in result["per_document"].items()
                 for w in d["wrong"] if is_numeric_key(w["key"]) and not w["flagged"]]
    assert not unflagged


def test_review_burden_stays_low(report):
    _, _, result = report
    assert result["review_burden"] <= 0.10
