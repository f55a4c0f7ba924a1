from extractors.result import FieldProvenance, Reading
from extractors.review import apply_rule_doubt, build_review
from extractors.rules import check_rules
from extractors.standard_model import field_keys


def _readings(values):
    return {k: Reading(key=k, value=values.get(k), confidence=0.99, prov=FieldProvenance(method="table"))
            for k in field_keys("2019")}


def _consistent():
    return {"requests.new.natural": 5, "requests.new.total": 5, "requests.granted.natural": 5,
            "requests.granted.total": 5, "requests.total.natural": 5, "requests.total.total": 5}


def test_misprint_breaking_a_row_and_a_column_flags_only_the_cell_where_they_cross():
    values = _consistent() | {"requests.granted.natural": 6}  # breaks R2 natural and R3 granted
    readings = _readings(values)
    flagged = {i.field for i in build_review(readings, check_rules(readings, "2019"))}
    assert flagged == {"requests.granted.natural"}


def test_single_failed_rule_flags_every_field_it_involves():
    values = _consistent() | {"review.total": 2, "review.upheld": 1}
    readings = _readings(values)
    flagged = {i.field for i in build_review(readings, check_rules(readings, "2019"))}
    assert flagged == {"review.total", "review.upheld", "review.corrected", "review.other", "review.pending"}


def test_low_confidence_field_is_flagged_with_its_reason():
    readings = _readings(_consistent())
    readings["requests.new.legal"].confidence = 0.2
    readings["requests.new.legal"].prov.note = "cell text is not a clean number: '1O'"
    items = build_review(readings, check_rules(readings, "2019"))
    assert [i.field for i in items] == ["requests.new.legal"]
    assert "not a clean number" in items[0].reason


def test_failure_blamed_on_extraction_lowers_confidence_of_its_fields():
    readings = _readings(_consistent() | {"review.total": 2})
    readings["review.upheld"].confidence = 0.4
    rules = check_rules(readings, "2019")
    apply_rule_doubt(readings, rules)
    assert readings["review.total"].confidence <= 0.5
