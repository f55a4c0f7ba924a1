"""Doubtful readings the arithmetic pins down (extractors/template/confirm.py): confirmed
only by two equations that hold as read with every other term read clearly; never where an
equation fails, where a second term is in doubt, or for a cell OCR could not read."""

from __future__ import annotations

from extractors.rules import TRUSTED, check_rules
from extractors.template.confirm import CONF_CONFIRMED, confirm_by_arithmetic
from test_settle import SEVEN, TEMPLATE, table


def doubt(readings, key: str, raw: str, confidence: float = 0.45) -> None:
    readings[key].prov.raw = raw
    readings[key].confidence = confidence


def test_a_faint_zero_and_a_thin_slash_are_confirmed_by_their_row_and_column():
    readings = table(SEVEN)
    doubt(readings, "requests.new.commercial", "0")
    readings["requests.granted.legal"].value = None
    doubt(readings, "requests.granted.legal", "/")
    confirm_by_arithmetic(readings, TEMPLATE)
    for key in ("requests.new.commercial", "requests.granted.legal"):
        assert readings[key].confidence == CONF_CONFIRMED
        assert "confirmed by" in readings[key].prov.note
    assert "R3 (row new)" in readings["requests.new.commercial"].prov.note
    assert readings["requests.granted.legal"].value is None  # the value is never changed


def test_zeros_in_doubt_on_one_side_are_each_pinned_since_counts_are_never_negative():
    readings = table(SEVEN)
    for column in ("commercial", "research", "social"):
        doubt(readings, f"requests.granted.{column}", "0")
    confirm_by_arithmetic(readings, TEMPLATE)
    assert all(readings[f"requests.granted.{c}"].confidence == CONF_CONFIRMED
               for c in ("commercial", "research", "social"))


def test_nothing_is_confirmed_by_a_failing_equation_or_beside_a_second_doubt():
    readings = table(SEVEN)
    # the row's total is in doubt too: R3 holds, but the two doubts could move together
    doubt(readings, "requests.new.commercial", "0")
    doubt(readings, "requests.new.total", "7")
    confirm_by_arithmetic(readings, TEMPLATE)
    assert readings["requests.new.commercial"].confidence < TRUSTED

    readings = table(SEVEN)
    readings["requests.granted.natural"].value = 6  # printed so: R2 and R3 fail in that cell
    doubt(readings, "requests.granted.commercial", "0")
    confirm_by_arithmetic(readings, TEMPLATE)
    assert readings["requests.granted.commercial"].confidence < TRUSTED
    assert any(r.status == "fail" for r in check_rules(readings, TEMPLATE))


def test_a_cell_ocr_could_not_read_is_not_confirmed():
    readings = table(SEVEN)
    readings["requests.new.commercial"].value = None
    doubt(readings, "requests.new.commercial", "", confidence=0.0)  # ink read as nothing
    readings["requests.new.social"].value = None
    doubt(readings, "requests.new.social", "□", confidence=0.2)  # garbled
    confirm_by_arithmetic(readings, TEMPLATE)
    assert readings["requests.new.commercial"].confidence == 0.0
    assert readings["requests.new.social"].confidence == 0.2
