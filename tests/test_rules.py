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


def _readings_2021(values: dict) -> dict:
    return {key: Reading(key=key, value=value, confidence=0.99, prov=FieldProvenance(method="table"))
            for key, value in values.items()}


def test_r2_sums_the_older_other_row_in_place_of_its_sub_rows():
    """A 2021 report printing （六）其他处理 as one row: R2 takes `other`, R3 checks its row."""
    values = {"requests.total.natural": 5, "requests.total.total": 5,
              "requests.granted.natural": 2, "requests.granted.total": 2,
              "requests.other.natural": 3, "requests.other.total": 3}
    results = check_rules(_readings_2021(values), "2021")
    r2 = [r for r in results if r.rule == "R2"]
    assert r2 and all(r.status == "pass" for r in r2)
    assert any("requests.other.total" in r.fields for r in r2)
    values["requests.other.total"] = 4  # the row's 总计 no longer adds up
    failed = _fails(check_rules(_readings_2021(values), "2021"), "R3")
    assert [r.scope for r in failed] == ["row other"]


def test_r2_of_a_2021_report_with_sub_rows_ignores_other():
    values = {"requests.total.natural": 3, "requests.total.total": 3,
              "requests.other_misc.natural": 3, "requests.other_misc.total": 3}
    results = check_rules(_readings_2021(values), "2021")
    assert not _fails(results, "R2")
    assert not any("requests.other.total" in r.fields for r in results)


def test_prose_figure_of_other_handling_is_checked_against_the_older_row():
    readings = _readings_2021({"requests.other.total": 4, "requests.total.total": 4})
    figure = ProseFigure(fields=("requests.other_no_correction.total", "requests.other_no_fee.total",
                                 "requests.other_misc.total"), value=3, text="其他处理3件")
    [failed] = _fails(check_rules(readings, "2021", [figure]), "X1")
    assert failed.fields[0] == "requests.other.total" and failed.blame == "source"
