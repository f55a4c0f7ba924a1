from extractors.result import FieldProvenance, ProseFigure, Reading
from extractors.rules import check_rules
from extractors.standard_model import field_keys


def _readings(values: dict, confidence: float = 0.99, method: str = "table") -> dict:
    out = {}
    for key in field_keys("2019"):
        out[key] = Reading(key=key, value=values.get(key), confidence=confidence,
                           prov=FieldProvenance(method=method))
    return out


def _fails(results, rule):
    return [r for r in results if r.rule == rule and r.status == "fail"]


def test_r1_fails_with_source_blame_when_clean_cells_disagree():
    readings = _readings({"requests.new.natural": 33, "requests.total.natural": 31})
    failed = _fails(check_rules(readings, "2019"), "R1")
    assert [(r.scope, r.blame) for r in failed] == [("column natural", "source")]
    assert failed[0].detail == "33 + 0 ≠ 31 + 0"


def test_failure_involving_a_doubtful_reading_is_blamed_on_extraction():
    readings = _readings({"review.total": 3, "review.upheld": 1})
    readings["review.upheld"].confidence = 0.3
    failed = _fails(check_rules(readings, "2019"), "R4")
    assert failed and failed[0].blame == "extraction"


def test_null_counts_as_zero_in_sums():
    readings = _readings({"requests.new.natural": 2, "requests.total.natural": 2,
                          "requests.granted.natural": 2, "requests.new.total": 2,
                          "requests.total.total": 2, "requests.granted.total": 2})
    results = check_rules(readings, "2019")
    assert not [r for r in results if r.status == "fail"]


def test_r5_compares_prev_plus_change_with_the_printed_count():
    readings = _readings({"active.licensing.prev": 270, "active.licensing.change": -18})
    readings["active.licensing.change"].stated = 250
    failed = _fails(check_rules(readings, "2019"), "R5")
    assert failed and failed[0].fields == ["active.licensing.prev", "active.licensing.change"]


def test_r6_flags_negative_counts_but_not_negative_changes():
    readings = _readings({"active.fees.change": -26, "requests.new.legal": -1})
    failed = _fails(check_rules(readings, "2019"), "R6")
    assert [r.fields for r in failed] == [["requests.new.legal"]]


def test_x1_compares_prose_figure_with_the_sum_of_its_fields():
    readings = _readings({"requests.denied_safety.total": 3})
    figure = ProseFigure(fields=("requests.denied_safety.total", "requests.denied_law.total"),
                         value=4, text="不予公开的4件")
    failed = _fails(check_rules(readings, "2019", [figure]), "X1")
    assert failed and failed[0].blame == "source" and "prose says 4" in failed[0].detail


def test_a_table_the_report_does_not_print_is_not_checked():
    figure = ProseFigure(fields=("review.total",), value=2, text="行政复议2件")
    results = check_rules(_readings({}, method="absent"), "2019", [figure])
    assert not [r for r in results if r.rule in ("R1", "R2", "R3", "R4", "X1")]


def test_blank_cells_of_a_printed_table_count_as_zero_against_prose():
    figure = ProseFigure(fields=("review.total",), value=2, text="行政复议2件")
    failed = _fails(check_rules(_readings({}), "2019", [figure]), "X1")
    assert failed and failed[0].detail == "prose says 2, table says 0"
