"""Reports of one body and year (flows.duplicates): grouped, one primary, the others
duplicates (same figures) or conflicts (their differing fields flagged on both), and the
wide table holding the primary only. End to end on real files of the synthetic generator
through `nianbao extract`; the same reports in a real SQLite database (flows.groups_db), its
export and review queue; and the grouping itself on results built here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from conftest import run_cli
from extractors.result import DocumentResult, FieldProvenance, ReviewItem, RuleResult
from extractors.synth import generate
from flows import duplicates, groups_db, outputs, store
from flows import export as exports
from flows.duplicates import Member, place
from flows.review.queue import load_items

BODY, PARENT_NAMED = "松阳县卫生健康局", "丽水市松阳县卫生健康局"
CHANGED = "suit_direct.corrected"  # the figure the re-issue prints otherwise (R4's injected error)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# -- end to end: `nianbao extract` on a folder of real files ---------------------------------

@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """One report of 松阳县卫生健康局 2022 as a DOCX, as an HTML page and as a re-published
    text naming the body with its city (丽水市…); a re-issue of it with one figure changed;
    and another body's report."""
    inputs = tmp_path_factory.mktemp("dup-inputs")
    clean = generate(5, "2021", "txt")
    reissue = generate(5, "2021", "txt", errors=["R4"], name="reissue.txt")
    changed = {k for k, v in clean.gold["fields"].items()
               if not k.startswith("text.") and reissue.gold["fields"][k] != v}
    assert changed == {CHANGED}  # the generator changed the one figure
    generate(5, "2021", "docx", name="report.docx").write(inputs)
    generate(5, "2021", "html", name="report.html").write(inputs)
    copy = generate(5, "2021", "txt", name="copy.txt")
    assert BODY in copy.data.decode() and PARENT_NAMED not in copy.data.decode()
    (inputs / "copy.txt").write_bytes(copy.data.decode().replace(BODY, PARENT_NAMED).encode())
    reissue.write(inputs)
    generate(3, "2021", "docx", name="other.docx").write(inputs)
    out = tmp_path_factory.mktemp("dup-out")
    code, stdout = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "1"])
    assert code == 0, stdout
    return inputs, out, stdout, clean.gold["fields"][CHANGED], reissue.gold["fields"][CHANGED]


def test_extract_groups_the_copies_and_flags_the_reissue(extracted):
    _, out, stdout, clean_value, reissue_value = extracted
    rows = read_csv(out / "fields.csv")
    placed = {r["document"]: (r["group"], r["role"]) for r in rows}
    group = f"{PARENT_NAMED}/2022"  # the fullest form of the body's name in the folder
    # every copy ties on the reading (none flagged, no rule failure, no OCR): the name decides
    assert placed == {"copy.txt": (group, "primary"), "report.docx": (group, "duplicate"),
                      "report.html": (group, "duplicate"), "reissue.txt": (group, "conflict"),
                      "other.docx": ("白河市政府/2024", "primary")}

    review = read_csv(out / "review.csv")
    flagged = {(r["document"], r["field"]): r for r in review if "same body and year" in r["reason"]}
    assert set(flagged) == {("reissue.txt", CHANGED), ("copy.txt", CHANGED)}
    assert flagged[("reissue.txt", CHANGED)]["value"] == str(reissue_value)
    assert f"copy.txt prints {clean_value}" in flagged[("reissue.txt", CHANGED)]["reason"]
    assert f"reissue.txt prints {reissue_value}" in flagged[("copy.txt", CHANGED)]["reason"]
    tidy = {(r["document"], r["key"]): r["flagged"] for r in rows}
    assert tidy[("copy.txt", CHANGED)] == tidy[("reissue.txt", CHANGED)] == "true"
    assert tidy[("report.docx", CHANGED)] == "false"

    for wide in (read_csv(out / "reports.csv"), pq.read_table(out / "reports.parquet").to_pylist()):
        assert sorted((r["document"], r["role"]) for r in wide) == [("copy.txt", "primary"), ("other.docx", "primary")]

    summary = json.loads((out / "summary.json").read_text())
    assert summary["duplicates"] == {"groups": 2, "groups_with_duplicates": 1, "groups_with_conflicts": 1,
                                     "duplicates": 2, "conflicts": 1}
    assert "same body and year: 1 groups with duplicates (2 reports), 1 with conflicts (1 reports" in stdout


def test_a_rerun_with_nothing_to_do_counts_the_same(extracted):
    inputs, out = extracted[:2]
    before = json.loads((out / "summary.json").read_text())["duplicates"]
    code, _ = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "1"])
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["duplicates"] == before


# -- the database of `run` ------------------------------------------------------------------

def test_database_groups_exports_and_queues_the_differences(extracted, tmp_path):
    out = extracted[1]
    engine = store.connect(f"sqlite:///{tmp_path}/nianbao.sqlite")
    run_id = store.start_run(engine, {"command": "test"})
    for path, result in outputs.iter_results(out):
        # as `run` saves them: the manifest row's agency, shorter than the reports' own
        store.save_result(engine, result, {"agency": "松阳县卫生健康局", "year": 2022}, run_id)
    assert groups_db.regroup(engine) == groups_db.regroup(engine) == {  # made again, whole
        "groups": 2, "groups_with_duplicates": 1, "groups_with_conflicts": 1, "duplicates": 2, "conflicts": 1}
    with engine.connect() as conn:
        roles = dict(conn.execute(select(store.reports.c.document, store.report_groups.c.role)
                                  .join(store.report_groups, store.report_groups.c.report_id == store.reports.c.id)).all())
    assert roles == {"copy.txt": "primary", "report.docx": "duplicate", "report.html": "duplicate",
                     "reissue.txt": "conflict", "other.docx": "primary"}

    export_dir = tmp_path / "export"
    exports.export(engine, export_dir)
    wide = read_csv(export_dir / "reports.csv")
    assert sorted((r["document"], r["group"], r["role"]) for r in wide) == [
        ("copy.txt", f"{PARENT_NAMED}/2022", "primary"), ("other.docx", "白河市政府/2024", "primary")]
    assert pq.read_table(export_dir / "reports.parquet").num_rows == 2
    tidy = {(r["document"], r["key"]): r for r in read_csv(export_dir / "fields.csv")}
    assert tidy[("reissue.txt", CHANGED)]["role"] == "conflict"
    assert tidy[("reissue.txt", CHANGED)]["flagged"] == tidy[("copy.txt", CHANGED)]["flagged"] == "true"
    assert tidy[("report.docx", CHANGED)]["flagged"] == "false"
    assert {r["role"] for r in read_csv(export_dir / "rules.csv") if r["document"] == "reissue.txt"} == {"conflict"}

    items = {(i.document, i.field): i.reasons for i in load_items(engine) if "same body and year" in " ".join(i.reasons)}
    assert set(items) == {("reissue.txt", CHANGED), ("copy.txt", CHANGED)}
    engine.dispose()


# -- the grouping ------------------------------------------------------------------------

def result(document: str, agency: str | None = "洪泽区人民政府", year: int | None = 2023, *,
           figures: dict | None = None, flagged: tuple[str, ...] = (), failures: tuple[str, ...] = (),
           ocr: int = 0, status: str = "ok") -> DocumentResult:
    """A report's result as extraction writes it: `failures` the blame of each failing rule."""
    fields = {"meta.agency": agency, "meta.year": year, "meta.template": "2021",
              "requests.new.total": 12, "requests.granted.total": 7, "text.overview": f"{document} 的概述"}
    fields.update(figures or {})
    provenance = {k: FieldProvenance(method="table", source="ocr" if i < ocr else "native")
                  for i, k in enumerate(fields)}
    return DocumentResult(document=document, sha256=document.encode().hex(), status=status,
                          extractor_version="test", template="2021", fields=fields, provenance=provenance,
                          review=[ReviewItem(field=f, reason="doubt") for f in flagged],
                          rules=[RuleResult(rule="R1", scope="column total", status="fail", blame=b,
                                            fields=["requests.new.total"]) for b in failures])


def placed(*results: DocumentResult, aliases=None) -> dict[str, duplicates.Placement]:
    return place(filter(None, (Member.of(r.document, r) for r in results)), aliases)


def test_names_of_one_body_group_and_years_apart():
    p = placed(result("a.docx", "洪泽区人民政府"), result("b.pdf", "淮安市洪泽区人民政府"),
               result("c.pdf", "淮安市洪泽区政府", 2022), result("d.pdf", "盱眙县人民政府"))
    assert {d: (x.group, x.role) for d, x in p.items()} == {
        "a.docx": ("淮安市洪泽区政府/2023", "primary"), "b.pdf": ("淮安市洪泽区政府/2023", "duplicate"),
        "c.pdf": ("淮安市洪泽区政府/2022", "primary"), "d.pdf": ("盱眙县政府/2023", "primary")}
    assert p["b.pdf"].primary == "a.docx" and p["b.pdf"].size == 2 and not p["b.pdf"].differences


def test_alias_file_joins_what_the_rules_cannot():
    a, b = result("a.pdf", "洪泽区人民政府"), result("b.pdf", "洪泽区政务服务管理办公室")
    assert placed(a, b)["b.pdf"].role == "primary"
    assert placed(a, b, aliases={"洪泽区政务服务管理办公室": "洪泽区人民政府"})["b.pdf"].role == "duplicate"


def test_not_grouped_errors_non_reports_and_reports_of_unknown_body_or_year():
    assert Member.of("e.pdf", result("e.pdf", status="error")) is None
    assert Member.of("n.txt", result("n.txt", status="not_a_report")) is None
    assert Member.of("x.pdf", result("x.pdf", agency=None)) is None
    assert Member.of("y.pdf", result("y.pdf", year=None)) is None
    # what its source says stands in for what the report does not state
    member = Member.of("x.pdf", result("x.pdf", agency=None, year=None), agency="洪泽区人民政府", year=2023)
    assert (member.agency, member.year) == ("洪泽区人民政府", 2023)
    # the report's own year over its source's: a report filed under another year joins its own
    assert Member.of("z.pdf", result("z.pdf"), year=2022).year == 2023
    assert duplicates.in_wide_table(None)  # in no group: kept


@pytest.mark.parametrize("worse, better, why", [
    (result("a.pdf", failures=("extraction",)), result("z.pdf", flagged=("x", "y", "z")), "a misread figure"),
    (result("a.pdf", flagged=("x", "y")), result("z.pdf", flagged=("x",), failures=("source",)), "fewer flagged"),
    (result("a.pdf", ocr=3), result("z.docx", failures=("source",)), "a text layer over a scan"),
    (result("a.pdf", failures=("source",)), result("z.pdf"), "fewer printed errors"),
    (result("b.pdf"), result("a.pdf"), "the name"),
])
def test_primary_is_the_best_read(worse, better, why):
    p = placed(worse, better)
    assert p[worse.document].primary == better.document and p[better.document].role == "primary", why


def test_conflicts_list_each_differing_figure_on_both():
    primary = result("a.docx", figures={"requests.granted.total": 7})
    reissue = result("b.pdf", "淮安市洪泽区人民政府", flagged=("q",),
                     figures={"requests.granted.total": 8, "review.total": 2})
    same = result("c.html", flagged=("q", "r"), figures={"requests.new.total": 12.0, "text.overview": "其他"})
    p = placed(primary, reissue, same)
    assert p["c.html"].role == "duplicate"  # 12.0 is 12; text sections are not figures
    conflict = p["b.pdf"]
    assert conflict.role == "conflict"
    assert [(d.key, d.value, d.other, d.other_value) for d in conflict.differences] == [
        ("requests.granted.total", 8, "a.docx", 7), ("review.total", 2, "a.docx", None)]
    assert [(d.key, d.value, d.other, d.other_value) for d in p["a.docx"].differences] == [
        ("requests.granted.total", 7, "b.pdf", 8), ("review.total", None, "b.pdf", 2)]
    items = {i.field: i.reason for i in conflict.review_items()}
    assert set(items) == {"requests.granted.total", "review.total"}
    assert "prints 8" in items["requests.granted.total"] and "a.docx prints 7" in items["requests.granted.total"]
    assert "a.docx prints nothing (not stated)" in items["review.total"]

    flagged = duplicates.flag(primary, p["a.docx"])
    assert [i.field for i in flagged.review] == ["requests.granted.total", "review.total"]
    assert duplicates.counts((x.group, x.role) for x in p.values()) == {
        "groups": 1, "groups_with_duplicates": 1, "groups_with_conflicts": 1, "duplicates": 1, "conflicts": 1}
    assert not duplicates.in_wide_table(conflict.role) and duplicates.in_wide_table(p["a.docx"].role)


def test_two_conflicts_on_one_field_make_one_item_on_the_primary():
    p = placed(result("a.pdf"), result("b.pdf", figures={"requests.new.total": 13}),
               result("c.pdf", figures={"requests.new.total": 14}))
    items = p["a.pdf"].review_items()
    assert len(items) == 1 and "b.pdf prints 13" in items[0].reason and "c.pdf prints 14" in items[0].reason
