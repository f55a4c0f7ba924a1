"""The dataset in an analyst's hands (issue 16, points 1–3): the tidy, wide and rules tables
that `extract` and `run` both write, CSVs with a BOM and one record per line, the data
dictionary in Chinese, and the Excel workbook. Real files, a real SQLite database, read back
with csv, pyarrow and openpyxl."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors.dictionary import all_keys
from extractors.pipeline import EXTRACTOR_VERSION
from extractors.result import DocumentResult, FieldProvenance, ReviewItem, RuleResult
from extractors.standard_model import field_keys
from flows import export, outputs, store, workbook
from flows.review.queue import record

BOM = b"\xef\xbb\xbf"
TEXT = "第一段。\n第二段，路径 C:\\报告\t有制表符。"  # a newline, a backslash and a tab
AGENCY = "=HYPERLINK(\"http://x\")某市人民政府"  # text a spreadsheet would run as a formula


def report() -> DocumentResult:
    table = FieldProvenance("table", table="t1", row=1, col=2, page=1)
    scan = FieldProvenance("table", table="t2", row=1, col=1, page=2, source="ocr")
    return DocumentResult(
        document="a.pdf", sha256="a" * 64, format="pdf", extractor_version=EXTRACTOR_VERSION,
        template="2019",
        fields={"meta.agency": AGENCY, "meta.year": 2020, "meta.template": "2019",
                "requests.new.total": 17, "requests.granted.total": 8, "review.total": 2,
                "active.procurement.amount": 182.32, "active.fees.change": -3, "text.overview": TEXT,
                "requests.carried.total": None},
        confidence={"requests.new.total": 0.95, "requests.granted.total": 0.4},
        provenance={"requests.new.total": table, "requests.granted.total": scan,
                    "text.overview": FieldProvenance("prose"), "review.total": FieldProvenance("llm"),
                    "meta.agency": FieldProvenance("title"),
                    "requests.carried.total": FieldProvenance("absent")},
        review=[ReviewItem(field="requests.granted.total", reason="low OCR score")],
        rules=[RuleResult(rule="R1", scope="column total", status="fail", blame="extraction",
                          fields=["requests.new.total", "requests.total.total"], detail="17 + 0 ≠ 8 + 0"),
               RuleResult(rule="R4", scope="group review", status="pass", fields=["review.total"])])


@pytest.fixture
def folder(tmp_path) -> Path:
    outputs.write_text_atomic(tmp_path / "a.pdf.json", report().model_dump_json())
    error = DocumentResult(document="b.pdf", sha256="b" * 64, status="error", error_code="corrupt",
                           error="b.pdf: not a PDF\nat byte 0", extractor_version=EXTRACTOR_VERSION)
    outputs.write_text_atomic(tmp_path / "b.pdf.json", error.model_dump_json())
    outputs.rebuild_tables(tmp_path, {"a.pdf.json": "/data/in/a.pdf"})
    return tmp_path


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_csv_has_a_bom_and_one_line_per_record(folder):
    for name in ("fields", "reports", "rules", "review", "dictionary", "rules_dictionary"):
        data = (folder / f"{name}.csv").read_bytes()
        assert data.startswith(BOM), name
        lines = data.decode("utf-8-sig").splitlines()
        assert len(lines) == 1 + len(read_csv(folder / f"{name}.csv")), name  # no record spans lines
    overview = next(r for r in read_csv(folder / "fields.csv") if r["key"] == "text.overview")
    assert overview["value_text"] == "第一段。\\n第二段，路径 C:\\\\报告\\t有制表符。"
    unescaped = overview["value_text"].encode().decode("unicode_escape").encode("latin-1").decode()
    assert unescaped == TEXT  # the escapes undo
    wide = {r["document"]: r for r in read_csv(folder / "reports.csv")}
    assert wide["b.pdf"]["error"] == "b.pdf: not a PDF\\nat byte 0"


def test_tidy_fields_carry_agency_year_and_typed_values(folder):
    rows = read_csv(folder / "fields.csv")
    wanted = ["agency", "year", "template", "document", "sha256", "key", "section", "value_num", "value_text",
              "confidence", "flagged", "method", "origin", "decision", "reviewer"]
    assert [c for c in rows[0] if c in wanted] == wanted  # in this order, whatever else comes between
    by_key = {r["key"]: r for r in rows}
    new = by_key["requests.new.total"]
    assert (new["agency"], new["year"], new["template"], new["document"], new["sha256"]) == (
        "'" + AGENCY, "2020", "2019", "a.pdf", "a" * 64)  # the formula stays text
    assert (new["section"], new["value_num"], new["value_text"], new["origin"]) == ("requests", "17", "", "table")
    assert by_key["requests.granted.total"]["origin"] == "ocr" and by_key["requests.granted.total"]["flagged"] == "true"
    assert by_key["text.overview"]["origin"] == "prose" and by_key["review.total"]["origin"] == "llm"
    assert (by_key["meta.agency"]["method"], by_key["meta.agency"]["origin"]) == ("title", "prose")
    assert by_key["requests.carried.total"]["origin"] == "absent"
    assert by_key["meta.year"]["origin"] == "" and by_key["meta.template"]["origin"] == ""  # no provenance
    assert by_key["requests.carried.total"]["value_num"] == by_key["requests.carried.total"]["value_text"] == ""
    assert by_key["active.fees.change"]["value_num"] == "-3"  # a number, not a formula

    table = pq.read_table(folder / "fields.parquet")
    assert table.schema.field("value_num").type == pa.float64() and table.schema.field("year").type == pa.int64()
    parquet = {r["key"]: r for r in table.to_pylist()}
    assert parquet["meta.agency"]["value_text"] == AGENCY  # Parquet keeps the raw text
    assert parquet["text.overview"]["value_text"] == TEXT
    assert parquet["active.procurement.amount"]["value_num"] == 182.32
    assert len(table) == len(rows) == 10  # the error record has no fields


def test_wide_reports_one_row_per_report_numbers_typed(folder):
    table = pq.read_table(folder / "reports.parquet")
    assert table.num_rows == 2
    assert table.column_names[-len(all_keys()):] == list(all_keys())
    types = table.schema
    assert types.field("requests.new.total").type == pa.int64()
    assert types.field("active.procurement.amount").type == pa.float64()
    assert types.field("meta.year").type == pa.int64() and types.field("text.overview").type == pa.string()
    rows = {r["document"]: r for r in table.to_pylist()}
    a = rows["a.pdf"]
    assert a["requests.new.total"] == 17 and isinstance(a["requests.new.total"], int)
    assert a["active.fees.change"] == -3 and a["active.procurement.amount"] == 182.32
    assert a["requests.carried.total"] is None and a["requests.other_misc.total"] is None  # 2021 only
    assert (a["agency"], a["year"], a["path"], a["status"]) == (AGENCY, 2020, "/data/in/a.pdf", "ok")
    assert rows["b.pdf"]["status"] == "error" and rows["b.pdf"]["path"] is None  # not given this run
    wide_csv = {r["document"]: r for r in read_csv(folder / "reports.csv")}
    assert list(wide_csv["a.pdf"]) == table.column_names
    assert wide_csv["a.pdf"]["requests.new.total"] == "17" and wide_csv["a.pdf"]["active.procurement.amount"] == "182.32"


def test_rules_table_is_the_report_quality_audit(folder):
    rows = read_csv(folder / "rules.csv")
    assert [(r["document"], r["rule"], r["scope"], r["status"], r["blame"]) for r in rows] == [
        ("a.pdf", "R1", "column total", "fail", "extraction"), ("a.pdf", "R4", "group review", "pass", "")]
    assert rows[0]["fields"] == "requests.new.total requests.total.total" and rows[0]["year"] == "2020"
    table = pq.read_table(folder / "rules.parquet")
    assert table.to_pylist()[0]["fields"] == ["requests.new.total", "requests.total.total"]
    assert table.to_pylist()[0]["detail"] == "17 + 0 ≠ 8 + 0"


def test_dictionary_names_every_key_in_the_templates_chinese(folder):
    rows = read_csv(folder / "dictionary.csv")
    by_key = {r["key"]: r for r in rows}
    assert set(by_key) == set(field_keys("2019")) | set(field_keys("2021"))
    assert all(r["row_label"] for r in rows)
    assert all(r["column_label"] for r in rows if r["type"] in ("integer", "decimal") and r["section"] != "meta")
    granted = by_key["requests.granted.commercial"]
    assert (granted["section_label"], granted["row_label"], granted["column_label"]) == (
        "三、收到和处理政府信息公开申请情况", "三（一）予以公开", "法人或其他组织·商业企业")
    assert by_key["review.total"]["row_label"] == "行政复议" and "行政复议" in by_key["review.total"]["note"]
    assert "nianbao review" in by_key["review.upheld"]["note"]  # not the review queue
    assert by_key["active.procurement.amount"]["unit"].startswith("万元")
    assert by_key["active.licensing.decisions"]["column_label"] == "处理决定数量（2019）；本年处理决定数量（2021）"
    assert by_key["active.normative.issued"]["row_label"] == "行政规范性文件"
    assert by_key["requests.other_no_fee.total"]["templates"] == "2021"
    assert "never 0" in by_key["requests.new.total"]["null_means"]
    assert "template without this key" in by_key["active.fees.prev"]["null_means"]  # 2019 only
    rules = {r["rule"]: r for r in read_csv(folder / "rules_dictionary.csv")}
    assert list(rules) == ["R1", "R2", "R3", "R4", "R5", "R6", "X1", "X2", "X3"]
    assert "结转下年度继续办理" in rules["R1"]["rule_zh"] and rules["R5"]["templates"] == "2019"


def test_workbook_opens_with_its_sheets_typed_and_escaped(folder):
    book = openpyxl.load_workbook(folder / workbook.NAME, read_only=True)
    assert book.sheetnames == ["reports", "fields", "rules", "dictionary", "rule_dictionary"]
    reports = list(book["reports"].values)
    header = reports[0]
    a = dict(zip(header, next(r for r in reports[1:] if r[header.index("document")] == "a.pdf")))
    assert a["requests.new.total"] == 17 and a["active.procurement.amount"] == 182.32  # numbers, not text
    assert a["agency"] == "'" + AGENCY  # a formula stays text, escaped as in the CSVs
    assert a["text.overview"] == TEXT  # the cell keeps the line breaks
    fields = list(book["fields"].values)
    assert len(fields) == 1 + 10 and fields[0][:3] == ("agency", "year", "template")
    assert [r[0] for r in book["dictionary"].values][1:] == list(all_keys())
    rules = list(book["rules"].values)
    first = dict(zip(rules[0], rules[1]))
    assert (first["rule"], first["scope"], first["fields"]) == ("R1", "column total", "requests.new.total requests.total.total")
    book.close()


def test_workbook_has_the_coverage_sheet_where_the_folder_has_one(folder):
    with open(folder / workbook.COVERAGE_CSV, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([["agency", "year", "reports", "code"], ["某市", "2020", "3", "0012"]])
    outputs.write_workbook(folder)
    book = openpyxl.load_workbook(folder / workbook.NAME, read_only=True)
    assert book.sheetnames[-1] == "coverage"
    assert list(book["coverage"].values) == [("agency", "year", "reports", "code"), ("某市", 2020, 3, "0012")]
    book.close()


def test_a_table_longer_than_a_sheet_goes_on_in_the_next_and_long_text_is_cut(tmp_path):
    long = report().model_copy(update={"fields": {**report().fields, "text.other": "长" * 40_000}})
    outputs.write_text_atomic(tmp_path / "a.pdf.json", long.model_dump_json())
    outputs.rebuild_tables(tmp_path)
    with open(tmp_path / "small.xlsx", "wb") as fh:
        names = workbook.write_workbook(fh, tmp_path, max_rows=5)
    assert names[:5] == ["reports", "fields", "fields (2)", "fields (3)", "rules"]
    book = openpyxl.load_workbook(tmp_path / "small.xlsx", read_only=True)
    header = list(book["fields"].values)[0]
    rows = [dict(zip(header, r)) for name in ("fields", "fields (2)", "fields (3)") for r in list(book[name].values)[1:]]
    assert len(rows) == 11 and all(list(book[n].values)[0] == header for n in names[1:4])
    text = next(r["value_text"] for r in rows if r["key"] == "text.other")
    assert len(text) == workbook.MAX_CHARS and text.startswith("长" * 100) and "Parquet" in text
    book.close()
    full = {r["key"]: r for r in pq.read_table(tmp_path / "fields.parquet").to_pylist()}
    assert full["text.other"]["value_text"] == "长" * 40_000


def test_export_from_the_database_has_the_same_tables_and_the_decisions(tmp_path):
    engine = store.connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    run = store.start_run(engine, {})
    store.save_result(engine, report(), {"agency": "某市人民政府", "year": 2020, "url": "https://x.gov.cn/a.pdf"}, run)
    with engine.connect() as conn:
        report_id = conn.execute(store.reports.select()).one().id
    record(engine, report_id, "requests.granted.total", "correct", "tester", 9)
    record(engine, report_id, "requests.new.total", "source_error", "tester")
    files = export.export(engine, tmp_path / "export")
    engine.dispose()
    assert {p.name for p in files} == {p.name for p in (tmp_path / "export").iterdir()} == {
        "fields.csv", "fields.parquet", "reports.csv", "reports.parquet", "rules.csv", "rules.parquet",
        "dictionary.csv", "rules_dictionary.csv", "nianbao.xlsx"}
    folder = tmp_path / "export"
    extract_columns = pq.read_table(extract_fields_parquet(tmp_path)).column_names
    assert pq.read_table(folder / "fields.parquet").column_names == extract_columns  # one shape for both
    fields = {r["key"]: r for r in read_csv(folder / "fields.csv")}
    granted, new = fields["requests.granted.total"], fields["requests.new.total"]
    assert (granted["value_num"], granted["decision"], granted["origin"], granted["reviewer"]) == (
        "9", "corrected", "reviewer", "tester")
    assert (new["value_num"], new["decision"], new["origin"]) == ("17", "source_error", "table")
    assert fields["meta.agency"]["agency"] == "某市人民政府"  # the manifest's name for the body
    assert fields["requests.carried.total"]["decision"] == ""
    wide = pq.read_table(folder / "reports.parquet").to_pylist()[0]
    assert wide["requests.granted.total"] == 9 and wide["url"] == "https://x.gov.cn/a.pdf"
    rules = read_csv(folder / "rules.csv")
    assert [(r["agency"], r["rule"], r["status"], r["fields"]) for r in rules] == [
        ("某市人民政府", "R1", "fail", "requests.new.total requests.total.total"),
        ("某市人民政府", "R4", "pass", "review.total")]
    assert (folder / "dictionary.csv").read_bytes().startswith(BOM)
    book = openpyxl.load_workbook(folder / workbook.NAME, read_only=True)
    assert book.sheetnames == ["reports", "fields", "rules", "dictionary", "rule_dictionary"]
    book.close()


def extract_fields_parquet(tmp_path: Path) -> Path:
    """fields.parquet of an extract folder holding the same report."""
    folder = tmp_path / "extract"
    folder.mkdir()
    outputs.write_text_atomic(folder / "a.pdf.json", report().model_dump_json())
    outputs.rebuild_tables(folder)
    return folder / "fields.parquet"


def test_numbers_a_column_cannot_hold_are_null_there_and_the_tables_are_still_written(tmp_path):
    """A JSON from elsewhere (an LLM's answer, an earlier version) may hold a 30-digit count,
    a count that is not whole, an amount past 15 digits or text under a numeric key."""
    odd = {"requests.new.natural": 10 ** 29, "requests.new.total": 3.5, "active.fees.amount": 10.0 ** 20,
           "requests.new.legal": "七", "requests.new.social": 4}
    result = DocumentResult(document="r.txt", sha256="c" * 64, extractor_version="test", template="2021",
                            fields=odd, confidence=dict.fromkeys(odd, 0.6))
    outputs.write_text_atomic(tmp_path / "r.txt.json", result.model_dump_json())
    stats, unreadable = outputs.rebuild_tables(tmp_path)
    assert list(stats) == ["r.txt.json"] and unreadable == []
    tidy = {r["key"]: r for r in pq.read_table(tmp_path / "fields.parquet").to_pylist()}
    assert tidy["requests.new.natural"]["value_num"] is None and tidy["requests.new.natural"]["flagged"]
    assert tidy["active.fees.amount"]["value_num"] is None and tidy["active.fees.amount"]["flagged"]
    assert tidy["requests.new.total"]["value_num"] == 3.5 and tidy["requests.new.legal"]["value_text"] == "七"
    wide = pq.read_table(tmp_path / "reports.parquet").to_pylist()[0]
    assert [wide[k] for k in odd] == [None, None, None, None, 4]
