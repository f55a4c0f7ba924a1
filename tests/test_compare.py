"""`nianbao compare`: pairing, X2/X3 with blame, reuse, changes, measures and the outputs,
from per-document JSON folders and from databases (SQLite; PostgreSQL where
NIANBAO_TEST_POSTGRES names one)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from compare_cases import result, series, write
from extractors.standard_model import APPLICANT_COLUMNS
from flows import store
from flows.cli import main
from flows.compare import tables
from flows.compare.reuse import section_reuse

BODY = "淮安市洪泽区人民政府"


def run_compare(source, out: Path, *extra: str) -> dict[str, list[dict]]:
    assert main(["compare", str(source), "--out", str(out), *extra]) == 0
    return {name: read_csv(out / f"{name}.csv")
            for name in ("pairs", "checks", "review", "reuse", "changes", "measures")}


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def failures(checks: list[dict]) -> dict[str, str]:
    return {f"{c['rule']} {c['scope']}": c["blame"] for c in checks if c["status"] == "fail"}


# -- X2 and X3 ----------------------------------------------------------------------------

def test_x2_passes_and_fails_on_the_source(tmp_path):
    years = series(BODY, [2022, 2023])
    years[2022]["requests.carry_forward.natural"] = 4
    years[2023]["requests.carried.natural"] = 4  # arrives as carried forward: passes
    years[2022]["requests.carry_forward.legal"] = 2
    years[2023]["requests.carried.legal"] = 5  # the reports disagree, both read cleanly
    folder = write(tmp_path / "docs", [result(BODY, y, f) for y, f in years.items()])
    out = run_compare(folder, tmp_path / "out")
    x2 = [c for c in out["checks"] if c["rule"] == "X2"]
    assert len(x2) == 7 and all(c["year"] == "2023" and c["previous_year"] == "2022" for c in x2)
    assert failures(out["checks"]) == {"X2 column legal": "source"}
    legal = next(c for c in x2 if c["scope"] == "column legal")
    assert legal["detail"] == "5 (2023) ≠ 2 (2022)"
    assert out["review"] == []  # a source error is data, not a doubt


@pytest.mark.parametrize("doubt", ["confidence", "flagged"])
def test_x2_fails_on_extraction_and_the_doubtful_field_goes_to_review(tmp_path, doubt):
    years = series(BODY, [2022, 2023])
    years[2023]["requests.carried.total"] = (years[2022]["requests.carry_forward.total"] or 0) + 30
    key = "requests.carried.total"
    docs = [result(BODY, 2022, years[2022]),
            result(BODY, 2023, years[2023], doubtful=(key,) if doubt == "confidence" else (),
                   flagged=(key,) if doubt == "flagged" else ())]
    out = run_compare(write(tmp_path / "docs", docs), tmp_path / "out")
    assert failures(out["checks"]) == {"X2 column total": "extraction"}
    assert [(r["year"], r["field"]) for r in out["review"]] == [("2023", key)]
    assert "X2 column total" in out["review"][0]["reason"]


def test_x3_passes_and_fails_with_both_blames(tmp_path):
    years = series(BODY, [2019, 2020, 2021])
    years[2020]["active.penalty.prev"] += 7  # 2020's 上一年项目数量 is not 2019's count
    docs = [result(BODY, 2019, years[2019], doubtful=("active.coercion.change",)),
            result(BODY, 2020, years[2020]), result(BODY, 2021, years[2021])]
    years[2020]["active.coercion.prev"] += 1  # and 2019's change of coercion is in doubt
    docs[1] = result(BODY, 2020, years[2020])
    out = run_compare(write(tmp_path / "docs", docs), tmp_path / "out")
    x3 = [c for c in out["checks"] if c["rule"] == "X3"]
    assert {c["year"] for c in x3} == {"2020"}  # template 2019 on both sides only
    assert len(x3) == 5
    assert failures(out["checks"]) == {"X3 item penalty": "source", "X3 item coercion": "extraction"}
    assert [(r["year"], r["field"]) for r in out["review"]] == [("2019", "active.coercion.change")]


# -- pairing --------------------------------------------------------------------------------

def test_pairing_across_name_variants_and_an_alias_file(tmp_path):
    names = {2021: "淮安市洪泽区人民政府", 2022: "洪泽区 政府", 2023: "洪泽县人民政府"}
    years = series(BODY, list(names))
    folder = write(tmp_path / "docs", [result(names[y], y, f) for y, f in years.items()])
    out = run_compare(folder, tmp_path / "plain")
    paired = [(p["agency"], p["year"], p["previous_year"]) for p in out["pairs"] if p["status"] == "paired"]
    assert paired == [(BODY, "2022", "2021")]  # 洪泽县 is another name: only the alias says so
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("name,canonical\n洪泽县人民政府,淮安市洪泽区人民政府\n", encoding="utf-8")
    out = run_compare(folder, tmp_path / "aliased", "--aliases", str(aliases))
    paired = [(p["year"], p["previous_year"]) for p in out["pairs"] if p["status"] == "paired"]
    assert paired == [("2022", "2021"), ("2023", "2022")]
    assert {c["agency"] for c in out["checks"]} == {BODY}  # shown by its fullest name
    assert not failures(out["checks"])


def test_no_pair_across_a_missing_year(tmp_path):
    years = series(BODY, [2020, 2021, 2023])
    years[2023]["requests.carried.total"] = 999  # would fail X2 against 2021: must not be checked
    out = run_compare(write(tmp_path / "docs", [result(BODY, y, f) for y, f in years.items()]), tmp_path / "out")
    status = {(p["year"], p["status"]): p for p in out["pairs"]}
    assert set(status) == {("2020", "first"), ("2021", "paired"), ("2023", "gap")}
    assert status[("2023", "gap")]["detail"] == "no report of 2022: 2023 is not compared with 2021"
    assert {c["year"] for c in out["checks"]} == {"2021"}
    assert {r["year"] for r in out["reuse"]} == {"2021"}
    assert {r["year"] for r in out["changes"]} == {"2021"}


def test_two_reports_of_one_year_keep_the_better_read_and_say_so(tmp_path):
    years = series(BODY, [2022, 2023])
    docs = [result(BODY, 2022, years[2022]), result(BODY, 2023, years[2023], document="a.pdf"),
            result("洪泽区人民政府", 2023, years[2023], doubtful=("requests.new.total",), document="b.pdf")]
    out = run_compare(write(tmp_path / "docs", docs), tmp_path / "out")
    duplicate = [p for p in out["pairs"] if p["status"] == "duplicate"]
    assert [(p["document"], p["year"]) for p in duplicate] == [("b.pdf", "2023")]
    assert "a.pdf" in duplicate[0]["detail"]


# -- copied text ----------------------------------------------------------------------------

OVERVIEW = ("2023年，区政府办公室深入贯彻落实《中华人民共和国政府信息公开条例》，全年主动公开政府信息1,234条，"
            "收到政府信息公开申请17件，办结17件。\n二〇二三年我区聚焦重点领域信息公开，围绕乡村振兴、教育医疗、"
            "生态环境等事项发布解读材料56篇。")


def test_reuse_of_identical_disjoint_and_year_changed_texts():
    assert section_reuse("s", OVERVIEW, OVERVIEW).reuse == 1.0
    changed = (OVERVIEW.replace("2023", "2024").replace("二〇二三", "二〇二四").replace("1,234", "987")
               .replace("17", "21").replace("56", "8"))
    assert section_reuse("s", changed, OVERVIEW).reuse >= 0.9
    disjoint = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    assert section_reuse("s", disjoint, OVERVIEW).reuse < 0.05
    half = OVERVIEW + "\n" + disjoint  # last year's text kept whole, as much again added
    assert 0.3 < section_reuse("s", half, OVERVIEW).reuse < 0.7
    assert section_reuse("s", None, OVERVIEW).reuse is None
    assert section_reuse("s", OVERVIEW, None).reuse == 0.0


def test_reuse_csv_per_section_and_per_report(tmp_path):
    years = series(BODY, [2022, 2023])  # texts copied but for the year
    years[2023]["text.other"] = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
    out = run_compare(write(tmp_path / "docs", [result(BODY, y, f) for y, f in years.items()]), tmp_path / "out")
    reuse = {r["section"]: float(r["reuse"]) for r in out["reuse"]}
    assert reuse["text.overview"] == reuse["text.problems"] == 1.0
    assert reuse["text.other"] == 0.0
    assert 0.5 < reuse["report"] < 1.0


# -- changes and measures --------------------------------------------------------------------

def test_changes_and_the_moves_worth_a_look(tmp_path):
    years = series(BODY, [2022, 2023])
    a, b = years[2022], years[2023]
    a["active.penalty.decisions"], b["active.penalty.decisions"] = 30, 3000  # two orders of magnitude
    a["active.licensing.decisions"], b["active.licensing.decisions"] = 0, 4500  # 0 → thousands
    a["active.coercion.decisions"], b["active.coercion.decisions"] = 8, 12
    a["review.total"], a["review.upheld"] = 9, 9  # the total falls while its parts rise
    b["review.total"], b["review.upheld"], b["review.corrected"] = 7, 9, 2
    out = run_compare(write(tmp_path / "docs", [result(BODY, y, f) for y, f in years.items()]), tmp_path / "out")
    rows = {r["field"]: r for r in out["changes"]}
    assert rows["active.penalty.decisions"]["flag"] == "magnitude"
    assert rows["active.penalty.decisions"]["change"] == "2970"
    assert float(rows["active.penalty.decisions"]["relative_change"]) == 99
    assert rows["active.licensing.decisions"]["flag"] == "from_zero"
    assert rows["active.licensing.decisions"]["relative_change"] == ""  # no base to divide by
    assert rows["active.coercion.decisions"] | {} == rows["active.coercion.decisions"]
    assert rows["active.coercion.decisions"]["flag"] == "" and float(rows["active.coercion.decisions"]["relative_change"]) == 0.5
    assert rows["review.total"]["flag"] == "total_falls"
    assert not any(k.startswith(("text.", "meta.")) for k in rows)


def test_derived_measures(tmp_path):
    years = series(BODY, [2023])
    f = years[2023]
    f.update({"requests.total.total": 40, "requests.granted.total": 10, "requests.partial.total": 6,
              "requests.unable_not_held.total": 8, "requests.denied_secret.total": 1,
              "requests.denied_process.total": 3, "review.corrected": 1, "review.total": 4,
              "suit_direct.corrected": 0, "suit_direct.total": 2, "suit_after_review.corrected": 1,
              "suit_after_review.total": 3, "requests.new.total": 45, "requests.carried.total": 5,
              "requests.carry_forward.total": 10})
    f.update({f"requests.denied_{r}.total": 0 for r in ("law", "safety", "third_party", "internal",
                                                        "enforcement", "query")})
    out = run_compare(write(tmp_path / "docs", [result(BODY, 2023, f)]), tmp_path / "out")
    (row,) = out["measures"]
    got = {k: float(v) for k, v in row.items() if k not in ("agency", "year", "document")}
    assert got == pytest.approx({"share_granted": 0.4, "share_not_held": 0.2, "share_denied": 0.1,
                                 "review_correction_rate": 0.25, "suit_correction_rate": 0.2,
                                 "carried_forward_share": 0.2})
    f.update({"review.total": 0, "review.corrected": 0})
    out = run_compare(write(tmp_path / "docs2", [result(BODY, 2023, f)]), tmp_path / "out2")
    assert out["measures"][0]["review_correction_rate"] == ""  # no appeals: no rate


def test_parquet_holds_what_the_csv_holds(tmp_path):
    years = series(BODY, [2019, 2020, 2021])
    out = run_compare(write(tmp_path / "docs", [result(BODY, y, f) for y, f in years.items()]), tmp_path / "out")
    for name, rows in out.items():
        table = pq.read_table(tmp_path / "out" / f"{name}.parquet")
        assert table.num_rows == len(rows), name
    changes = pq.read_table(tmp_path / "out" / "changes.parquet").to_pylist()
    assert changes[0]["year"] == 2020 and isinstance(changes[0]["change"], (float, type(None)))


def test_the_html_loads_nothing_from_outside(tmp_path):
    years = series(BODY, [2022, 2023])
    run_compare(write(tmp_path / "docs", [result(BODY, y, f) for y, f in years.items()]), tmp_path / "out")
    pages = [tmp_path / "out" / "index.html", *(tmp_path / "out" / "bodies").glob("*.html")]
    assert len(pages) == 2
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<svg" in html and "default-src 'none'" in html
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html), page
        assert not re.search(r"@import|url\(", html)
    body = pages[1].read_text(encoding="utf-8")
    assert "<mark>" in body and "../index.html" in body


# -- sources --------------------------------------------------------------------------------

def test_reports_read_by_the_extractor(tmp_path):
    """Real extraction of a synthetic report, and the next year's made from it by changing its
    year and name: its 上年结转 is this year's, which X2 compares with this year's 结转下年度."""
    from extractors.pipeline import extract_file
    from extractors.synth import generate

    doc = generate(1, "2021", "txt")  # carries forward other figures than it received in two columns
    gold, year, name = doc.gold["fields"], doc.gold["fields"]["meta.year"], doc.gold["fields"]["meta.agency"]
    assert name
    first = tmp_path / "reports" / "first.txt"
    first.parent.mkdir()
    first.write_bytes(doc.data)
    second = tmp_path / "reports" / "second.txt"
    second.write_text(doc.data.decode("utf-8").replace(str(year), str(year + 1)), encoding="utf-8")
    docs = [extract_file(p) for p in (first, second)]
    assert [d.fields["meta.year"] for d in docs] == [year, year + 1]
    out = run_compare(write(tmp_path / "docs", docs), tmp_path / "out")
    expected = {f"X2 column {c}" for c in APPLICANT_COLUMNS
                if (gold[f"requests.carried.{c}"] or 0) != (gold[f"requests.carry_forward.{c}"] or 0)}
    assert len(expected) == 2 and set(failures(out["checks"])) == expected
    assert len([c for c in out["checks"] if c["rule"] == "X2"]) == 7
    reuse = {r["section"]: float(r["reuse"]) for r in out["reuse"]}
    assert reuse["report"] >= 0.9


def test_a_database_source_gets_the_results_too(tmp_path, db_url):
    years = series(BODY, [2021, 2022, 2023])
    years[2023]["requests.carried.social"] = 3
    engine = store.connect(db_url)
    run_id = store.start_run(engine, {"command": "test"})
    for y, f in years.items():
        store.save_result(engine, result("洪泽区人民政府" if y == 2022 else BODY, y, f), {}, run_id)
    store.save_result(engine, result(BODY, 2020, years[2021], document="x.pdf").model_copy(
        update={"status": "error", "fields": {}}), {}, run_id)
    source = str(tmp_path) if db_url.startswith("sqlite") else db_url  # a run folder, or the URL
    for attempt in range(2):  # a second run replaces the first one's rows
        out = run_compare(source, tmp_path / f"out{attempt}")
        assert failures(out["checks"]) == {"X2 column social": "source"}
        with engine.connect() as conn:
            for name, rows in out.items():
                assert conn.execute(select(func.count()).select_from(tables.tables[name])).scalar_one() == len(rows)
            stored = conn.execute(select(tables.tables["checks"]).where(
                tables.tables["checks"].c.status == "fail")).mappings().one()
    assert (stored["agency"], stored["year"], stored["previous_year"], stored["scope"]) == (BODY, 2023, 2022,
                                                                                          "column social")
    assert [p["detail"] for p in out["pairs"] if p["status"] == "not compared"] == ["status error"]
    assert sorted((p["year"], p["previous_year"]) for p in out["pairs"] if p["status"] == "paired") == [
        ("2022", "2021"), ("2023", "2022")]
    engine.dispose()


def test_a_reviewers_decision_stands_for_the_reading(tmp_path):
    years = series(BODY, [2022, 2023])
    years[2023]["requests.carried.natural"] = (years[2022]["requests.carry_forward.natural"] or 0) + 1
    url = store.database_url(None, tmp_path)
    engine = store.connect(url)
    run_id = store.start_run(engine, {})
    for y, f in years.items():
        store.save_result(engine, result(BODY, y, f, doubtful=("requests.carried.natural",) if y == 2023 else ()),
                          {}, run_id)
    db = tmp_path / store.SQLITE_NAME
    out = run_compare(db, tmp_path / "before")
    assert failures(out["checks"]) == {"X2 column natural": "extraction"}
    with store.writing(engine) as conn:
        rid = conn.execute(select(store.reports.c.id).where(store.reports.c.year == 2023)).scalar_one()
        conn.execute(store.decisions.insert().values(
            report_id=rid, field="requests.carried.natural", action="accept",
            value_num=years[2023]["requests.carried.natural"], reviewer="t",
            decided_at=store._now()))
    out = run_compare(f"sqlite:///{db}", tmp_path / "after")
    assert failures(out["checks"]) == {"X2 column natural": "source"}  # now a confident reading
    engine.dispose()


def test_bad_sources_are_usage_errors(tmp_path, capsys):
    for source, message in ((tmp_path / "nothing", "no such file or folder"),
                            (Path(__file__), "not a SQLite database"),
                            (tmp_path, "no per-document JSON")):
        with pytest.raises(SystemExit) as exit_:
            main(["compare", str(source), "--out", str(tmp_path / "out")])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
    (tmp_path / "aliases.csv").write_text("only one column\n", encoding="utf-8")
    write(tmp_path / "docs", [result(BODY, 2023, series(BODY, [2023])[2023])])
    with pytest.raises(SystemExit):
        main(["compare", str(tmp_path / "docs"), "--out", str(tmp_path / "out"), "--aliases",
              str(tmp_path / "aliases.csv")])
    assert "expected `name, canonical name`" in capsys.readouterr().err


def test_csv_cells_a_spreadsheet_would_run_are_quoted(tmp_path):
    name = "=HYPERLINK(\"x\")县人民政府"
    years = series(name, [2022, 2023])
    out = run_compare(write(tmp_path / "docs", [result(name, y, f, document=f"d{y}.pdf") for y, f in years.items()]),
                      tmp_path / "out")
    assert {r["agency"] for r in out["checks"]} == {"'" + name}
    assert pq.read_table(tmp_path / "out" / "checks.parquet").column("agency")[0].as_py() == name
    assert any(r["change"].startswith("-") for r in out["changes"])  # numbers stay numbers
