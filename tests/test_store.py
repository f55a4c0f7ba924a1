"""The results database and the dataset files, on real databases: SQLite always, PostgreSQL
when NIANBAO_TEST_POSTGRES holds a URL (`bash scripts/postgres.sh` sets one up and prints
it). Each PostgreSQL test gets a schema of its own, dropped afterwards."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Row, create_engine, func, inspect, select

from conftest import REPO, SEEDS
from extractors.pipeline import extract_file
from extractors.result import (DocumentResult, FieldProvenance, LlmAnswer, LlmRecord, ReviewItem,
                               RuleResult)
from extractors.standard_model import field_keys, is_numeric_key
from flows import export, outputs, store
from flows.store import fields, reports, review_items, rule_results

TABLES = {"runs", "reports", "fields", "rule_results", "review_items", "decisions"}


@pytest.fixture
def url(db_url) -> str:
    return db_url


@pytest.fixture
def engine(url):
    engine = store.connect(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def seeds() -> list[DocumentResult]:
    """The real reports of eval/seeds, extracted (fast: they are text dumps)."""
    results = [extract_file(p) for p in sorted(SEEDS.glob("*.txt"))]
    assert [r.status for r in results] == ["ok"] * 5 and results[0].review and results[0].rules
    return results


def report_2021() -> DocumentResult:
    keys = field_keys("2021")
    values = {k: (7 if is_numeric_key(k) else "正文") for k in keys}
    values |= {"meta.year": 2022, "meta.template": "2021", "active.fees.amount": 1.25}
    return DocumentResult(
        document="2021.docx", sha256="b" * 64, format="docx", extractor_version="test",
        template="2021", fields=values, confidence={k: 0.9 for k in keys},
        provenance={k: FieldProvenance("table", table="t1", row=1, col=2, page=3) for k in keys},
        rules=[RuleResult(rule="R1", scope="column natural", status="fail", blame="source",
                          fields=["requests.new.natural"], detail="7 ≠ 6")],
        review=[ReviewItem(field="requests.new.natural", reason="rule R1 fails")])


def error_record(sha256: str = "e" * 64) -> DocumentResult:
    return DocumentResult(document="broken.pdf", sha256=sha256, status="error",
                          error_code="corrupt", error="not a PDF", extractor_version="test")


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def stored_fields(engine, sha256: str) -> dict[str, Row]:
    query = select(fields).join(reports).where(reports.c.sha256 == sha256)
    with engine.connect() as conn:
        return {r.key: r for r in conn.execute(query)}


def report_row(engine, sha256: str):
    with engine.connect() as conn:
        return conn.execute(select(reports).where(reports.c.sha256 == sha256)).one()


def test_database_url():
    out = Path("/data/out")
    assert store.database_url(None, out) == "sqlite:////data/out/nianbao.sqlite"
    assert store.database_url("postgresql://u:p@h:5432/d", out) == "postgresql+psycopg://u:p@h:5432/d"
    assert store.database_url("postgres://u@h/d", out) == "postgresql+psycopg://u@h/d"
    assert store.database_url("sqlite:///x.db", out) == "sqlite:///x.db"


def test_tables_created(engine):
    inspector = inspect(engine)
    assert TABLES <= set(inspector.get_table_names())
    assert {tuple(i["column_names"]) for i in inspector.get_indexes("fields")} >= {("key",)}
    assert {tuple(i["column_names"]) for i in inspector.get_indexes("review_items")} >= {("report_id",)}
    assert inspector.get_pk_constraint("fields")["constrained_columns"] == ["report_id", "key"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    store.connect(engine.url.render_as_string(hide_password=False)).dispose()  # again: no error


def test_save_and_read_back(engine, seeds):
    run_id = store.start_run(engine, {"command": ["extract", "eval/seeds"]})
    source = {"agency": "某市人民政府办公室", "year": "2020", "url": "https://example.gov.cn/a",
              "raw_path": "raw/a.txt"}
    for i, result in enumerate(seeds):
        store.save_result(engine, result, source if i == 0 else {}, run_id)
    store.finish_run(engine, run_id, {"documents": 5})

    assert count(engine, reports) == 5
    first, second = report_row(engine, seeds[0].sha256), report_row(engine, seeds[1].sha256)
    assert (first.agency, first.year, first.url, first.final_url, first.raw_path) == (
        "某市人民政府办公室", 2020, "https://example.gov.cn/a", None, "raw/a.txt")
    # no source: agency and year as the report states them
    assert (second.agency, second.year) == (seeds[1].fields["meta.agency"], seeds[1].fields["meta.year"])
    assert (first.status, first.template, first.format, first.run_id) == ("ok", "2019", "txt", run_id)
    for result in seeds:
        saved = stored_fields(engine, result.sha256)
        assert list(result.fields) == sorted(saved, key=list(result.fields).index)
        flagged = {i.field for i in result.review}
        for key, value in result.fields.items():
            row = saved[key]
            assert (row.value_text if isinstance(value, str) else row.value_num) == value
            assert row.flagged == (key in flagged)
            assert row.confidence == result.confidence[key]
            prov = result.provenance[key]
            assert (row.method, row.page, row.table_id, row.row, row.col, row.raw, row.label, row.image,
                    row.source, row.note) == (prov.method, prov.page, prov.table, prov.row, prov.col,
                                              prov.raw, prov.label, prov.image, prov.source, prov.note)
            assert (json.loads(row.bbox) if row.bbox else None) == (list(prov.bbox) if prov.bbox else None)
    first_id = first.id
    with engine.connect() as conn:
        rules = conn.execute(select(rule_results).where(rule_results.c.report_id == first_id)).all()
        review = conn.execute(select(review_items).where(review_items.c.report_id == first_id)).all()
        run = conn.execute(select(store.runs).where(store.runs.c.id == run_id)).one()
    assert [(r.rule, r.scope, r.status, r.blame, json.loads(r.fields), r.detail) for r in rules] == [
        (r.rule, r.scope, r.status, r.blame, r.fields, r.detail) for r in seeds[0].rules]
    assert sorted((r.field, r.reason) for r in review) == sorted(
        (i.field, i.reason) for i in seeds[0].review)
    assert json.loads(run.info) == {"command": ["extract", "eval/seeds"]}
    assert json.loads(run.summary) == {"documents": 5} and run.finished_at is not None


def test_saving_twice_keeps_one_copy(engine, seeds):
    first_run, second_run = store.start_run(engine, {}), store.start_run(engine, {})
    result = seeds[0]
    store.save_result(engine, result, {}, first_run)
    changed = result.model_copy(deep=True)
    changed.fields["requests.new.total"] = 999
    changed.review = changed.review[:1]
    store.save_result(engine, changed, {}, second_run)
    store.save_result(engine, changed, {}, second_run)

    assert count(engine, reports) == 1
    report = report_row(engine, result.sha256)
    assert report.run_id == second_run
    assert count(engine, fields) == len(result.fields)
    assert count(engine, rule_results) == len(result.rules)
    assert count(engine, review_items) == 1
    assert stored_fields(engine, result.sha256)["requests.new.total"].value_num == 999


def test_error_record_is_stored_without_fields(engine, seeds):
    run_id = store.start_run(engine, {})
    store.save_result(engine, error_record(), {"url": "https://example.gov.cn/b.pdf"}, run_id)
    report = report_row(engine, "e" * 64)
    assert (report.status, report.error_code, report.error, report.url) == (
        "error", "corrupt", "not a PDF", "https://example.gov.cn/b.pdf")
    assert count(engine, fields) == 0
    # a report that later fails to read loses its earlier fields
    store.save_result(engine, seeds[0], {}, run_id)
    store.save_result(engine, error_record(seeds[0].sha256), {}, run_id)
    assert count(engine, reports) == 2
    assert count(engine, fields) == count(engine, rule_results) == count(engine, review_items) == 0


def test_saved_reports_for_resume(engine, seeds, tmp_path):
    answer = LlmAnswer(section="requests", status="answered", values={"requests.new.total": 5},
                       requests=2, prompt_tokens=1000, completion_tokens=50)
    answers = [answer, LlmAnswer(section="appeals", status="budget")]
    asked = seeds[1].model_copy(update={"llm": LlmRecord(
        mode="fallback", reader="model|json|v1", answers=answers,
        requests=2, prompt_tokens=1000, completion_tokens=50)})
    run_id = store.start_run(engine, {})
    for result in (seeds[0], asked, error_record()):
        store.save_result(engine, result, {}, run_id)

    saved = store.saved_reports(engine)
    assert set(saved) == {seeds[0].sha256, seeds[1].sha256, "e" * 64}
    # the same as what resume reads from a per-document JSON, less the answers' values
    for result in (seeds[0], asked, error_record()):
        path = tmp_path / f"{result.sha256}.json"
        path.write_text(result.model_dump_json())
        header = outputs.read_record_header(path)
        for a in (header["llm"] or {}).get("answers", []):
            del a["values"]
        assert {k: v for k, v in saved[result.sha256].items() if k != "result_sha256"} == header
    assert saved["e" * 64]["status"] == "error" and saved["e" * 64]["error_code"] == "corrupt"
    assert [a["status"] for a in saved[seeds[1].sha256]["llm"]["answers"]] == ["answered", "budget"]
    report = report_row(engine, seeds[1].sha256)
    assert (report.llm_requests, report.llm_tokens) == (2, 1050)


def test_failed_save_leaves_the_previous_version(engine, seeds, monkeypatch):
    run_id = store.start_run(engine, {})
    result = seeds[0]
    store.save_result(engine, result, {"url": "https://example.gov.cn/old"}, run_id)
    changed = result.model_copy(deep=True)
    changed.fields = {k: 1 for k in changed.fields}
    # the last insert of the transaction breaks a NOT NULL: the database refuses it
    monkeypatch.setattr(store, "_review_rows", lambda report_id, _: [
        {"report_id": report_id, "field": None, "reason": None}])
    with pytest.raises(Exception, match="(?i)null"):
        store.save_result(engine, changed, {"url": "https://example.gov.cn/new"}, run_id)

    assert report_row(engine, result.sha256).url == "https://example.gov.cn/old"
    saved = stored_fields(engine, result.sha256)
    assert {k: r.value_text if isinstance(result.fields[k], str) else r.value_num
            for k, r in saved.items()} == result.fields
    assert count(engine, review_items) == len(result.review)
    assert count(engine, rule_results) == len(result.rules)


# A child that saves one report over and over, each version with every number set to its
# version, until it is killed.
_SAVE_FOREVER = """
import sys
from extractors.result import DocumentResult
from extractors.standard_model import field_keys
from flows import store
engine = store.connect(sys.argv[1])
run_id = store.start_run(engine, {})
version = 0
while True:
    version += 1
    store.save_result(engine, DocumentResult(
        document=f"v{version}", sha256="k" * 64, extractor_version="test", template="2019",
        fields={k: version for k in field_keys("2019")}), {}, run_id)
"""


def test_sigkill_mid_save_leaves_a_whole_report(url):
    keys = field_keys("2019")
    for attempt in range(3):  # killed at a different moment each time
        child = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, url], cwd=REPO)
        try:
            engine = store.connect(url)
            deadline = time.monotonic() + 60
            while count(engine, reports) == 0:
                assert time.monotonic() < deadline and child.poll() is None, "child saved nothing"
                time.sleep(0.05)
            time.sleep(0.1 + 0.13 * attempt)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        report = report_row(engine, "k" * 64)
        version = int(report.document[1:])
        saved = stored_fields(engine, "k" * 64)
        assert set(saved) == set(keys) and {r.value_num for r in saved.values()} == {version}
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        engine.dispose()


# A worker that waits for the others (so all create the tables at once), then saves its own
# reports and rewrites a shared one.
_SAVE_MANY = """
import sys, time
from pathlib import Path
from extractors.result import DocumentResult
from extractors.standard_model import field_keys
from flows import store
url, worker, n, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
(gate / f"ready-{worker}").touch()
while not (gate / "go").exists():
    time.sleep(0.005)
engine = store.connect(url)
run_id = store.start_run(engine, {"worker": worker})
for i in range(n):
    for sha in (f"{worker}-{i}", "shared"):  # every worker also rewrites one report
        store.save_result(engine, DocumentResult(
            document=f"{worker}-{i}", sha256=sha, extractor_version="test", template="2019",
            fields={k: i for k in field_keys("2019")}), {}, run_id)
store.finish_run(engine, run_id, {"saved": n})
"""


def test_processes_write_at_once(url, tmp_path):
    workers, n, gate = 4, 10, tmp_path / "gate"
    gate.mkdir()
    children = [subprocess.Popen([sys.executable, "-c", _SAVE_MANY, url, str(w), str(n), str(gate)],
                                 cwd=REPO) for w in range(workers)]
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    assert [c.wait(timeout=300) for c in children] == [0] * workers
    engine = store.connect(url)
    assert count(engine, reports) == workers * n + 1
    assert count(engine, fields) == (workers * n + 1) * len(field_keys("2019"))
    assert count(engine, store.runs) == workers
    engine.dispose()


# -- export -----------------------------------------------------------------------------

@pytest.fixture
def exported(engine, seeds, tmp_path):
    run_id = store.start_run(engine, {})
    results = [*seeds, report_2021(), error_record()]
    for result in results:
        store.save_result(engine, result, {"url": f"https://example.gov.cn/{result.document}"}, run_id)
    folder = tmp_path / "dataset"
    return export.export(engine, folder), folder, results


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:  # the dataset's CSVs have a BOM
        return list(csv.DictReader(fh))


def csv_form(value) -> str:
    """A value as the dataset's CSVs write it: whole numbers without '.0', text on one line."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\\", "\\\\").replace("\n", "\\n")


def test_export_tidy(exported):
    paths, folder, results = exported
    assert paths == [folder / n for n in ("fields.csv", "fields.parquet", "reports.csv", "reports.parquet",
                                          "rules.csv", "rules.parquet", "dictionary.csv", "rules_dictionary.csv",
                                          "nianbao.xlsx")]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)  # no temp files
    table = pq.read_table(folder / "fields.parquet")
    assert table.schema.field("value_num").type == pa.float64()
    assert table.schema.field("flagged").type == pa.bool_()
    assert table.schema.field("year").type == pa.int64()
    rows = table.to_pylist()
    csv_rows = read_csv(folder / "fields.csv")
    assert len(rows) == len(csv_rows) == sum(len(r.fields) for r in results)
    by_result = {r.sha256: r for r in results}
    for row, csv_row in zip(rows, csv_rows):
        result = by_result[row["sha256"]]
        value = result.fields[row["key"]]
        assert row["document"] == csv_row["document"] == result.document
        assert (row["value_text"] if isinstance(value, str) else row["value_num"]) == value
        assert csv_row["value_num" if isinstance(value, (int, float)) else "value_text"] == csv_form(value)
        assert row["flagged"] == (row["key"] in {i.field for i in result.review})
        assert csv_row["flagged"] == ("true" if row["flagged"] else "false")
        assert row["method"] == result.provenance[row["key"]].method
        assert row["decision"] is row["reviewer"] is None and csv_row["decision"] == ""  # none reviewed
    # each report's fields in the spec's order
    first = [r["key"] for r in rows if r["sha256"] == results[0].sha256]
    assert first == list(field_keys("2019"))


def test_export_wide(exported):
    _, folder, results = exported
    table = pq.read_table(folder / "reports.parquet")
    csv_rows = read_csv(folder / "reports.csv")
    keys_2019 = field_keys("2019")
    only_2021 = [k for k in field_keys("2021") if k not in keys_2019]
    assert table.column_names[:3] == ["sha256", "document", "agency"]
    assert table.column_names[-len(keys_2019) - len(only_2021):] == [*keys_2019, *only_2021]
    assert list(csv_rows[0]) == table.column_names
    assert table.num_rows == len(csv_rows) == len(results)
    types = table.schema
    assert types.field("requests.new.total").type == pa.int64()
    assert types.field("active.fees.amount").type == pa.float64()
    assert types.field("text.overview").type == pa.string()
    assert types.field("meta.year").type == pa.int64()
    assert types.field("extracted_at").type == pa.timestamp("us", tz="UTC")
    rows = {r["sha256"]: r for r in table.to_pylist()}
    csv_by_sha = {r["sha256"]: r for r in csv_rows}
    for result in results:
        row, csv_row = rows[result.sha256], csv_by_sha[result.sha256]
        assert (row["status"], row["template"], row["url"]) == (
            result.status, result.template, f"https://example.gov.cn/{result.document}")
        for key in (*keys_2019, *only_2021):
            value = result.fields.get(key)
            assert row[key] == value, key
            assert isinstance(row[key], type(value)), key  # ints as ints, money as floats
            assert csv_row[key] == csv_form(value), key
    assert rows["b" * 64]["active.fees.amount"] == 1.25
    assert csv_by_sha["b" * 64]["active.fees.amount"] == "1.25"
    assert all(rows["e" * 64][k] is None for k in keys_2019)  # the error record: no fields


def test_failed_export_leaves_the_previous_files(exported, engine, monkeypatch):
    paths, folder, _ = exported
    before = {p.name: p.read_bytes() for p in paths}

    def broken(values, type_):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outputs, "parquet_array", broken)  # fails at the first Parquet batch
    with pytest.raises(RuntimeError, match="disk full"):
        export.export(engine, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_database_of_an_earlier_version_is_named_as_such(tmp_path):
    """Tables that lack columns this version writes: a clear error, not a failed INSERT later."""
    path = tmp_path / "old.sqlite"
    old = create_engine(f"sqlite:///{path}")
    with old.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE fields (report_id INTEGER, key TEXT, value_num FLOAT)")
    old.dispose()
    with pytest.raises(store.OldSchema, match="table fields has no column .*value_text.*earlier nianbao"):
        store.connect(f"sqlite:///{path}")
