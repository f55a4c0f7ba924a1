"""OCR candidates settled by the template's arithmetic (issue 13): hand-made candidate sets
on a consistent 三/四 table, and a scan with an injected source error end to end."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.document import Cell, Provenance
from extractors.result import FieldProvenance, Reading
from extractors.rules import TRUSTED, check_rules
from extractors.standard_model import APPEAL_GROUPS, APPEAL_PARTS, OLDER_OTHER_KEYS, OTHER_SUBROWS
from extractors.template.requests_table import request_keys
from extractors.template.settle import settle_by_rules
from extractors.template.values import parse_value

TEMPLATE = "2021"
APPEAL_KEYS = [f"{g}.{p}" for g in APPEAL_GROUPS for p in (*APPEAL_PARTS, "total")]


def table(values: dict[str, int]) -> dict[str, Reading]:
    """Every 三 and 四 field read cleanly from a table printing `values` (others 0)."""
    readings = {}
    for row, key in enumerate(request_keys(TEMPLATE) + APPEAL_KEYS):
        value = values.get(key, 0)
        readings[key] = Reading(key=key, value=value, confidence=0.99, prov=FieldProvenance(
            method="table", table="t1", row=row, col=1, raw=str(value), source="ocr"))
    return readings


def misread(readings: dict[str, Reading], key: str, shown: str, candidates: list[tuple[str, float]],
            score: float | None = None) -> Cell:
    """What OCR made of the cell of `key`: it shows `shown`, with these candidates."""
    reading = readings[key]
    score = candidates[0][1] if score is None else score
    parsed = parse_value(shown)
    reading.value, reading.prov.raw = parsed.value, shown
    reading.confidence = min(0.2 if parsed.status == "garbled" else 0.99, score)
    return Cell(text=shown, row=reading.prov.row, col=1,
                prov=Provenance(source="ocr", score=score, candidates=candidates))


def failures(readings: dict[str, Reading]) -> list:
    return [r for r in check_rules(readings, TEMPLATE) if r.status == "fail"]


# new = total = granted = 7 for natural persons, and in the totals column
SEVEN = {"requests.new.natural": 7, "requests.new.total": 7, "requests.total.natural": 7,
         "requests.total.total": 7, "requests.granted.natural": 7, "requests.granted.total": 7}


def test_a_7_read_as_slash_is_settled_to_7_by_r3():
    readings = table(SEVEN)
    # the recogniser read "1", the slant test put "/" beside it at the same score (shown, in
    # doubt); the 7 came second
    cell = misread(readings, "requests.new.natural", "/", [("/", 0.62), ("1", 0.62), ("7", 0.31)],
                   score=0.6)
    assert failures(readings)
    settle_by_rules(readings, {"requests.new.natural": cell}, TEMPLATE)
    reading = readings["requests.new.natural"]
    assert reading.value == 7
    assert reading.prov.note.startswith("settled by") and "R3 (row new)" in reading.prov.note
    assert "'/' (0.62)" in reading.prov.note and "'7' (0.31)" in reading.prov.note
    # the margin shows: 7 scored half the best reading, so less sure than a clean read
    assert TRUSTED <= reading.confidence < 0.9
    assert not failures(readings)


def test_a_report_printing_the_older_other_row_is_settled_with_it_in_r2():
    readings = table({k.replace("granted", "other"): v for k, v in SEVEN.items()})
    for key in [k for k in readings if k.split(".")[1] in OTHER_SUBROWS]:
        del readings[key]  # the report prints （六）其他处理 as one row, without 1.–3.
    for row, key in enumerate(OLDER_OTHER_KEYS):
        value = 7 if key.endswith((".natural", ".total")) else 0
        readings[key] = Reading(key=key, value=value, confidence=0.99, prov=FieldProvenance(
            method="table", table="t1", row=100 + row, col=1, raw=str(value), source="ocr"))
    cell = misread(readings, "requests.other.natural", "1", [("1", 0.55), ("7", 0.3)])
    settle_by_rules(readings, {"requests.other.natural": cell}, TEMPLATE)
    reading = readings["requests.other.natural"]
    assert reading.value == 7 and "R2 (column natural)" in reading.prov.note


def test_a_dropped_digit_is_restored_by_r1_and_r2():
    values = {k.replace("natural", "commercial"): 15 if v == 7 else v for k, v in SEVEN.items()}
    readings = table(values)
    cell = misread(readings, "requests.total.commercial", "1", [("1", 0.55), ("15", 0.3), ("11", 0.2)])
    settle_by_rules(readings, {"requests.total.commercial": cell}, TEMPLATE)
    reading = readings["requests.total.commercial"]
    assert reading.value == 15
    assert "R1 (column commercial)" in reading.prov.note and "R2 (column commercial)" in reading.prov.note
    assert not failures(readings)


def test_a_garbled_cell_is_read_by_the_arithmetic():
    readings = table(SEVEN)
    cell = misread(readings, "requests.granted.natural", "D", [("D", 0.8), ("7", 0.25), ("0", 0.1)])
    assert readings["requests.granted.natural"].value is None
    settle_by_rules(readings, {"requests.granted.natural": cell}, TEMPLATE)
    assert readings["requests.granted.natural"].value == 7
    assert "not a clean number" not in readings["requests.granted.natural"].prov.note


def test_a_source_error_stays_a_source_error():
    """granted.total prints 8 where its row sums to 7: read cleanly, its runner-up that would
    make R2 and R3 hold scores far below the reading, so it is never taken."""
    readings = table(SEVEN)
    cell = misread(readings, "requests.granted.total", "8", [("8", 0.97), ("7", 0.05)])
    settle_by_rules(readings, {"requests.granted.total": cell}, TEMPLATE)
    assert readings["requests.granted.total"].value == 8
    assert readings["requests.granted.total"].prov.note is None
    failed = failures(readings)
    assert {(r.rule, r.scope) for r in failed} == {("R2", "column total"), ("R3", "row granted")}
    assert all(r.blame == "source" for r in failed)


def test_a_doubtful_cell_does_not_explain_away_a_source_error_elsewhere():
    """A doubtful 0 in the row of a misprinted total: no candidate makes R2 and R3 both
    hold, so nothing is settled and the failures stay."""
    readings = table(SEVEN)
    cells = {"requests.granted.commercial": misread(readings, "requests.granted.commercial", "0",
                                                    [("0", 0.5), ("1", 0.4)])}
    readings["requests.granted.total"].value = 8  # printed so, read cleanly
    settle_by_rules(readings, cells, TEMPLATE)
    assert readings["requests.granted.commercial"].value == 0
    assert readings["requests.granted.commercial"].confidence < TRUSTED


def test_two_equally_good_assignments_stay_flagged():
    readings = table({"review.upheld": 1, "review.total": 1})
    cells = {"review.upheld": misread(readings, "review.upheld", "/", [("/", 0.6), ("1", 0.6)]),
             "review.corrected": misread(readings, "review.corrected", "1", [("1", 0.6), ("/", 0.6)])}
    settle_by_rules(readings, cells, TEMPLATE)
    for key, shown in (("review.upheld", None), ("review.corrected", 1)):
        assert readings[key].value == shown
        assert readings[key].confidence < TRUSTED
        assert "the arithmetic cannot choose" in readings[key].prov.note


def test_a_misread_appeals_total_is_settled_by_r4():
    readings = table({"review.upheld": 2, "review.corrected": 1, "review.total": 3})
    cell = misread(readings, "review.total", "8", [("8", 0.55), ("3", 0.4), ("6", 0.1)])
    settle_by_rules(readings, {"review.total": cell}, TEMPLATE)
    reading = readings["review.total"]
    assert reading.value == 3 and "settled by R4 (group review)" in reading.prov.note
    assert reading.confidence == pytest.approx(0.6 + 0.3 * 0.4 / 0.55)


def test_a_reading_only_the_arithmetic_confirms_says_so():
    readings = table(SEVEN)
    cell = misread(readings, "requests.granted.natural", "7", [("7", 0.5), ("1", 0.4)])
    settle_by_rules(readings, {"requests.granted.natural": cell}, TEMPLATE)
    reading = readings["requests.granted.natural"]
    assert reading.value == 7 and reading.confidence == pytest.approx(0.9)
    assert reading.prov.note.startswith("confirmed by R2 (column natural), R3 (row granted)")


def test_a_blank_or_zero_is_never_made_sure_by_a_sum():
    """A sum holds as well with 0 as with a blank (or with a figure lost in another cell)."""
    readings = table(SEVEN)
    cells = {"requests.carried.legal": misread(readings, "requests.carried.legal", "/",
                                               [("/", 0.6), ("1", 0.6)]),
             "requests.partial.legal": misread(readings, "requests.partial.legal", "□",
                                               [("□", 0.5), ("0", 0.3)])}
    settle_by_rules(readings, cells, TEMPLATE)
    assert readings["requests.carried.legal"].value is None
    assert readings["requests.partial.legal"].value == 0
    for key in cells:
        assert readings[key].confidence < TRUSTED
        assert "cannot tell 0 from blank" in readings[key].prov.note


def test_a_clean_reading_is_left_alone():
    readings = table(SEVEN)
    cell = misread(readings, "requests.new.natural", "7", [("7", 0.98), ("1", 0.01)])
    settle_by_rules(readings, {"requests.new.natural": cell}, TEMPLATE)
    assert readings["requests.new.natural"].prov.note is None
    assert readings["requests.new.natural"].confidence == 0.98


@pytest.fixture(scope="module")
def scanned_r3_error(tmp_path_factory):
    pytest.importorskip("rapidocr_onnxruntime")
    from extractors.pipeline import extract_file
    from extractors.synth import generate
    from extractors.synth.scan import random_style, scan_pdf

    synthetic = generate(5, TEMPLATE, "pdf", errors=["R3"])
    path = tmp_path_factory.mktemp("settle") / "r3_error_scan.pdf"
    path.write_bytes(scan_pdf(synthetic.data, random_style(np.random.default_rng(5)), seed=5))
    return synthetic, extract_file(path)


def test_a_scanned_report_with_an_injected_r3_error_keeps_it_a_source_error(scanned_r3_error):
    synthetic, result = scanned_r3_error
    assert result.status == "ok", result.error
    injected = [e for e in synthetic.gold["source_errors"] if e["rule"] == "R3"]
    assert injected
    failed = {(r.rule, tuple(r.fields)) for r in result.rules if r.status == "fail" and r.blame == "source"}
    for error in injected:
        assert any(rule == "R3" and set(error["fields"]) <= set(fields) for rule, fields in failed)
        for key in error["fields"]:  # the misprinted figure is reported as printed
            assert result.fields[key] == synthetic.gold["fields"][key]
            assert "settled by" not in (result.provenance[key].note or "")
    wrong = [k for k in synthetic.gold["fields"] if k.startswith(("requests.", "review.", "suit_"))
             and result.fields.get(k) != synthetic.gold["fields"][k]]
    assert not wrong


def test_last_years_figure_is_settled_by_r5():
    """二 (2019) prints this year's count beside the change, 252（减18）: prev + change is 252."""
    readings = {
        "active.penalty.prev": Reading(key="active.penalty.prev", value=None, confidence=0.99,
                                       prov=FieldProvenance(method="table", table="t2", row=5, col=1)),
        "active.penalty.change": Reading(key="active.penalty.change", value=-18, confidence=0.99,
                                         stated=252, prov=FieldProvenance(
                                             method="table", table="t2", row=5, col=2,
                                             raw="252（减18）")),
    }
    cell = misread(readings, "active.penalty.prev", "210", [("210", 0.5), ("270", 0.3), ("276", 0.1)])
    settle_by_rules(readings, {"active.penalty.prev": cell}, "2019")
    reading = readings["active.penalty.prev"]
    assert reading.value == 270 and "settled by R5 (item penalty)" in reading.prov.note
