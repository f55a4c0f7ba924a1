"""Issue 17, hostile files from portals: absurd numbers, file names that are not UTF-8, and
text that a spreadsheet would run as a formula. None may take down a run; each is read,
flagged or neutralised where it is."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from extractors.pipeline import finish, first_pass
from extractors.result import DocumentResult, FieldProvenance
from extractors.readers.text_dump import parse_text_dump
from extractors.synth import generate
from extractors.template import extract_fields
from extractors.template.prose import prose_figures
from extractors.template.values import MAX_DIGITS, parse_value
from flows import export, store
from flows.review.queue import BadValue
from flows.review.queue import parse_value as typed_value

# A synthetic 2021 report as a text dump: its first figure of table 三 (new applications from
# natural persons, 553), its fees (0 万元) and a prose total (703) are replaced below.
REPORT = generate(3, "2021", "txt").data.decode("utf-8")
NEW_NATURAL = "\t553\n\t150"
FEES = "\t行政事业性收费\n\t0"
PROSE_TOTAL = "申请703宗"


def _with(old: str, new: str) -> str:
    assert REPORT.count(old) >= 1
    return REPORT.replace(old, new, 1)


def _extract(tmp_path, text: str):
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    return finish(first_pass(path))


# -- absurd numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("digits", [30, 400, 5000])
def test_a_count_too_large_for_the_dataset_is_a_flagged_garbled_cell(tmp_path, digits):
    result = _extract(tmp_path, _with(NEW_NATURAL, f"\t{'9' * digits}\n\t150"))
    key = "requests.new.natural"
    assert result.status == "ok"
    assert result.fields[key] is None and result.confidence[key] < 0.7
    assert result.provenance[key].note == f"a count of {digits} digits: the dataset holds at most {MAX_DIGITS}"
    assert key in {item.field for item in result.review}
    # the row kept its shape: the cell beside it is read where it was
    assert result.fields["requests.new.commercial"] == 150
    result.model_dump_json()


@pytest.mark.parametrize("printed", ["9" * 400, "9" * 5000 + "元", "99999999999999亿元"])
def test_an_amount_too_large_for_the_dataset_is_flagged_not_infinite(tmp_path, printed):
    result = _extract(tmp_path, _with(FEES, f"\t行政事业性收费\n\t{printed}"))
    key = "active.fees.amount"
    assert result.status == "ok" and result.fields[key] is None
    assert "the dataset holds at most" in result.provenance[key].note
    assert key in {item.field for item in result.review}


def test_the_largest_figure_the_dataset_holds_is_read():
    assert parse_value("9" * MAX_DIGITS).value == 10 ** MAX_DIGITS - 1
    assert parse_value("-" + "9" * MAX_DIGITS).value == -(10 ** MAX_DIGITS - 1)
    assert parse_value("9" * (MAX_DIGITS + 1)).status == "garbled"
    assert parse_value("252（减" + "1" * 16 + "）", "change").status == "garbled"
    assert parse_value("1" * 16 + "（减18）", "change").status == "garbled"


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_figure_too_long_in_the_prose_is_not_read_and_the_report_is(tmp_path, digits):
    result = _extract(tmp_path, _with(PROSE_TOTAL, f"申请{'9' * digits}宗"))
    assert result.status == "ok"
    assert not any(r.rule == "X1" and "requests.new.total" in r.fields and r.status == "fail"
                   for r in result.rules)
    assert prose_figures([f"共收到政府信息公开申请{'9' * digits}件，其中予以公开8件。"], "2021") == []


def test_unicode_digits_beside_a_split_number_do_not_crash_the_table():
    # '①'.isdigit() is true and int() refuses it: a row of eight "digit" cells where seven
    # are expected went into the split-number repair with it.
    title = "某某县人民政府\n2021年政府信息公开工作年度报告\n一、总体情况\n本年度，我县……。\n"
    row = "\t一、本年新收政府信息公开申请数量\n\t①\n\t2\n\t0\n\t0\n\t0\n\t0\n\t0\n\t12"
    doc = parse_text_dump(title + "三、收到和处理政府信息公开申请情况\n" + row + "\n\n\t（七）总计\n" + "\t0\n" * 7)
    readings = extract_fields(doc).readings
    assert readings["requests.new.total"].value == 12


def test_numbers_the_dataset_cannot_hold_from_elsewhere_are_stored_null_and_flagged(tmp_path):
    # An LLM's answer or a JSON of an earlier version may hold what the template refuses.
    values = {"requests.new.natural": 10 ** 29, "requests.new.commercial": 10 ** 400,
              "active.fees.amount": float("inf"), "requests.new.total": 7}
    result = DocumentResult(document="r.txt", sha256="a" * 64, extractor_version="test", template="2021",
                            fields=values, confidence=dict.fromkeys(values, 0.6),
                            provenance={k: FieldProvenance("llm", note="read by the LLM") for k in values})
    engine = store.connect(store.database_url(None, tmp_path))
    store.save_result(engine, result, {}, store.start_run(engine, {}))
    export.export(engine, tmp_path / "dataset")
    rows = {r["field"]: r for r in pq.read_table(tmp_path / "dataset" / "fields.parquet").to_pylist()}
    for key in ("requests.new.natural", "requests.new.commercial", "active.fees.amount"):
        assert rows[key]["value_num"] is None and rows[key]["flagged"], key
    assert rows["requests.new.total"]["value_num"] == 7 and not rows["requests.new.total"]["flagged"]
    wide = pq.read_table(tmp_path / "dataset" / "reports.parquet").to_pylist()[0]
    assert wide["requests.new.natural"] is None and wide["requests.new.total"] == 7
    with engine.connect() as conn:
        reasons = dict(conn.execute(select(store.review_items.c.field, store.review_items.c.reason)).tuples().all())
        note = conn.execute(select(store.fields.c.note).where(store.fields.c.key == "requests.new.natural")).scalar()
    assert set(reasons) == {"requests.new.natural", "requests.new.commercial", "active.fees.amount"}
    assert "cannot hold" in reasons["requests.new.natural"] and note.startswith("read by the LLM; ")
    engine.dispose()


def test_a_reviewer_cannot_type_a_number_the_dataset_cannot_hold():
    assert typed_value("requests.new.total", "9" * MAX_DIGITS) == 10 ** MAX_DIGITS - 1
    for text in ("9" * 30, "1e20"):
        with pytest.raises(BadValue, match="more than the dataset holds"):
            typed_value("requests.new.total", text)
    with pytest.raises(BadValue):
        typed_value("active.fees.amount", "9" * 30)
