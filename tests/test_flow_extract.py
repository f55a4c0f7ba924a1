"""`nianbao extract` end to end (the shared run in conftest, and one rerun), and the pieces
of the flow as plain functions (no Prefect server)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from conftest import GOLD, run_cli
from extractors.pipeline import EXTRACTOR_VERSION
from extractors.result import DocumentResult, FieldProvenance, ReviewItem, RuleResult
from flows import extract, outputs


# -- end to end -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def rerun(extract_run):
    before = {p.name: p.stat().st_mtime_ns for p in outputs.document_json_paths(extract_run.out)}
    code, stdout = run_cli(["extract", str(extract_run.inputs), "--out", str(extract_run.out)])
    summary = json.loads((extract_run.out / outputs.SUMMARY).read_text())
    return code, stdout, summary, before


def test_every_input_has_a_valid_record(extract_run):
    files = extract_run.summary["files"]
    assert len(files) == 5 + 1 + 14  # seeds, the duplicate, bad inputs
    assert not any("hidden" in f["path"] or ".git" in f["path"] or "results" in f["path"]
                   for f in files)
    for f in files:
        result = DocumentResult.model_validate_json((extract_run.out / f["json"]).read_bytes())
        assert result.document == Path(f["path"]).name
        assert result.extractor_version == EXTRACTOR_VERSION
        assert result.status == f["status"]


def test_seeds_extracted(record):
    for seed in sorted(p.name for p in (Path(__file__).parents[1] / "eval" / "seeds").iterdir()):
        rec = record(seed)
        assert rec["status"] == "ok" and rec["template"] in ("2019", "2021")
        assert rec["fields"]


def test_same_name_in_two_folders_keeps_both(extract_run):
    names = [f["json"] for f in extract_run.summary["files"]
             if Path(f["path"]).name == "000_0fd88f05dde60c98.txt"]
    assert len(names) == 2 and len(set(names)) == 2
    assert all((extract_run.out / n).is_file() for n in names)


def test_csvs_match_the_records(extract_run):
    results = [r for _, r in outputs.iter_results(extract_run.out)]
    with open(extract_run.out / outputs.FIELDS_CSV, encoding="utf-8-sig", newline="") as fh:
        fields = list(csv.DictReader(fh))
    with open(extract_run.out / outputs.REVIEW_CSV, encoding="utf-8-sig", newline="") as fh:
        review = list(csv.DictReader(fh))
    assert list(fields[0]) == list(outputs.FIELDS_COLUMNS)
    assert len(fields) == sum(len(r.fields) for r in results)
    assert len(review) == sum(len(r.review) for r in results)
    assert {row["flagged"] for row in fields} <= {"true", "false"}
    assert sum(row["flagged"] == "true" for row in fields) == extract_run.summary["flagged"]


def test_summary_and_closing_lines(extract_run):
    s = extract_run.summary
    docs = s["documents"]
    assert docs["ok"] + docs["not_a_report"] + docs["error"] == docs["total"] == 20
    assert s["fields"] == sum(len(r.fields) for _, r in outputs.iter_results(extract_run.out))
    assert set(s["rule_failures"]) == {"source", "extraction"}
    assert "documents: 20" in extract_run.stdout
    assert "rule failures: source" in extract_run.stdout


def test_rerun_does_no_work(extract_run, rerun):
    code, stdout, summary, before = rerun
    assert code == 0
    assert summary["documents"]["extracted"] == 0
    assert summary["documents"]["skipped"] == summary["documents"]["total"] == 20
    assert summary["batches"] == 0
    after = {p.name: p.stat().st_mtime_ns for p in outputs.document_json_paths(extract_run.out)}
    assert after == before  # not one record rewritten
    assert summary["fields"] == extract_run.summary["fields"]
    assert "20 already done" in stdout


def test_eval_on_the_run(extract_run, tmp_path):
    code, stdout = run_cli(["eval", "--gold", str(GOLD), "--pred", str(extract_run.out),
                            "--json", str(tmp_path / "eval.json")])
    assert code == 0
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["documents"]["predicted"] == report["documents"]["gold"] == 5
    assert 0 <= report["accuracy"] <= 1
    assert "accuracy:" in stdout


def test_nonexistent_path_is_a_usage_error(tmp_path, capsys):
    code, _ = run_cli(["extract", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_ocr_engine_that_cannot_start_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NIANBAO_PADDLEOCR_MODELS", raising=False)
    monkeypatch.setenv("NIANBAO_OCR_ENGINE", "rapidocr")  # _choose_ocr changes it: restored after
    (tmp_path / "a.txt").write_text("x")
    code, _ = run_cli(["extract", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"),
                       "--ocr-engine", "paddleocr"])
    assert code == 2
    assert "--ocr-engine paddleocr" in capsys.readouterr().err  # no models or no package: said
    assert not (tmp_path / "out").exists()


# -- the pieces -------------------------------------------------------------------------

def test_review_rows_say_where_to_crop_the_evidence():
    prov = FieldProvenance(method="table", table="t1", row=3, col=2, page=2,
                           bbox=(10.5, 20.0, 40.25, 31.0), source="ocr", image="/word/media/image1.png")
    result = _result("a.docx", fields={"requests.new.total": 5}, confidence={"requests.new.total": 0.4},
                     provenance={"requests.new.total": prov},
                     review=[ReviewItem(field="requests.new.total", reason="low OCR score")])
    [row] = list(outputs.review_rows("a.docx", result))
    by_column = dict(zip(outputs.REVIEW_COLUMNS, row))
    assert by_column["page"] == "2" and by_column["source"] == "ocr"
    assert by_column["image"] == "/word/media/image1.png"
    assert by_column["bbox"] == "10.5 20 40.25 31"


def _result(name: str, **kw) -> DocumentResult:
    return DocumentResult(document=name, sha256="ab", extractor_version=EXTRACTOR_VERSION, **kw)


def test_atomic_open_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "a.json"
    outputs.write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with outputs.atomic_open(target, "w", encoding="utf-8") as fh:
            fh.write("half of the new")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_stale_temps_are_removed(tmp_path):
    (tmp_path / f".x.json.abc{outputs.TMP_SUFFIX}").write_text("half")
    (tmp_path / "keep.json").write_text("{}")
    assert outputs.remove_stale_temps(tmp_path) == [f".x.json.abc{outputs.TMP_SUFFIX}"]
    assert [p.name for p in tmp_path.iterdir()] == ["keep.json"]


def test_json_names_are_unique_and_stable(tmp_path):
    a, b, c = tmp_path / "x" / "r.pdf", tmp_path / "y" / "r.pdf", tmp_path / "y" / "s.pdf"
    summary_like = tmp_path / "summary"
    long = tmp_path / ("长" * 100 + ".pdf")
    names = outputs.json_names([a, b, c, summary_like, long])
    assert names[c] == "s.pdf.json"
    assert len(set(names.values())) == 5
    assert names[a].startswith("r.pdf~") and names[summary_like] != outputs.SUMMARY
    assert len(names[long].encode()) < 230
    assert outputs.json_names([b, c, a])[a] == names[a]  # order does not matter


def test_discover_skips_hidden_and_outputs(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / ".h.txt").write_text("x")
    (tmp_path / "gold.json").write_text("{}")
    (tmp_path / ".dir").mkdir()
    (tmp_path / ".dir" / "b.txt").write_text("x")
    old_out = tmp_path / "old_out"
    old_out.mkdir()
    outputs.mark_output_dir(old_out)
    (old_out / "a.txt.json").write_text("{}")
    os.mkfifo(tmp_path / "pipe")
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.txt").write_text("x")
    # a saved web page's pictures are read with the page; a _files folder of no page is not
    (tmp_path / "page.html").write_text("<p>x</p>")
    (tmp_path / "page_files").mkdir()
    (tmp_path / "page_files" / "t1.png").write_bytes(b"x")
    (tmp_path / "scans_files").mkdir()
    (tmp_path / "scans_files" / "s.png").write_bytes(b"x")
    found = extract.discover([str(tmp_path), str(tmp_path / "a.txt")], out)
    assert [p.name for p in found] == ["a.txt", "page.html", "s.png"]
    with pytest.raises(FileNotFoundError):
        extract.discover([str(tmp_path / "missing")], out)


def test_plan_resumes_only_current_records(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("same", "changed", "old_version", "crashed"):
        (src / name).write_text(name)
    out = tmp_path / "out"
    out.mkdir()
    names = outputs.json_names(sorted(src.iterdir()))
    sha = {p.name: extract.sha256_of(p) for p in names}
    records = {"same": dict(sha256=sha["same"]), "changed": dict(sha256="0" * 64),
               "old_version": dict(sha256=sha["old_version"], extractor_version="0.0.0"),
               "crashed": dict(sha256=sha["crashed"], status="error", error_code="internal")}
    for name, kw in records.items():
        record = {"document": name, "extractor_version": EXTRACTOR_VERSION, **kw}
        (out / f"{name}.json").write_text(json.dumps(record))
    todo, done = extract.plan(names, out, force=False)
    assert [Path(j.path).name for j in done] == ["same"]
    assert sorted(Path(j.path).name for j in todo) == ["changed", "crashed", "old_version"]
    todo, done = extract.plan(names, out, force=True)
    assert len(todo) == 4 and done == []


def test_a_page_whose_pictures_came_later_is_read_again(tmp_path):
    """A harvest that failed to fetch a page's picture gets it on a later run; the page's JSON
    was made without it, so the page, unchanged, is extracted again."""
    page = tmp_path / "page.html"
    page.write_text("<p>报告</p>", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    record = {"document": page.name, "extractor_version": EXTRACTOR_VERSION, "sha256": extract.sha256_of(page)}
    (out / "page.html.json").write_text(json.dumps(record))
    names = {page: "page.html.json"}
    assert extract.plan(names, out, force=False)[0] == []
    pictures = tmp_path / "page_files"
    pictures.mkdir()
    (pictures / "table3.png").write_bytes(b"\x89PNG")
    later = (out / "page.html.json").stat().st_mtime + 5
    os.utime(pictures, (later, later))
    assert [j.path for j in extract.plan(names, out, force=False)[0]] == [str(page)]


def test_oversized_file_is_never_read(tmp_path, monkeypatch):
    big = tmp_path / "big.pdf"
    with open(big, "wb") as fh:
        fh.truncate(extract.MAX_BYTES + 1)

    def must_not_read(*_):
        raise AssertionError("read a file over the size limit")

    import extractors.pipeline
    import extractors.readers

    monkeypatch.setattr(extract, "sha256_of", must_not_read)
    monkeypatch.setattr(extractors.pipeline, "sha256_of", must_not_read)
    monkeypatch.setattr(extractors.readers, "sniff_format", must_not_read)
    (job,), _ = extract.plan({big: "big.pdf.json"}, tmp_path, force=False)
    assert job.sha256 == ""
    extract.extract_one(job, tmp_path)
    rec = json.loads((tmp_path / "big.pdf.json").read_text())
    assert rec["error_code"] == "too_large" and rec["status"] == "error"


def test_extraction_crash_becomes_an_error_record(tmp_path, monkeypatch):
    def broken(path, sha256=None, mode="off"):
        raise KeyError("oops")

    monkeypatch.setattr(extract, "first_pass", broken)
    doc = tmp_path / "r.txt"
    doc.write_text("x")
    job = extract.Job(str(doc), "r.txt.json", 1, "ab")
    seconds = extract.extract_batch.fn([job], str(tmp_path))
    assert set(seconds) == {"r.txt.json"}
    rec = json.loads((tmp_path / "r.txt.json").read_text())
    assert rec["status"] == "error" and rec["error_code"] == "internal" and "KeyError" in rec["error"]


def test_batch_sizes():
    assert extract.batch_size_for(5, 2) == 2
    assert extract.batch_size_for(200, 2) == 50
    assert extract.batch_size_for(100_000, 2) == extract.MAX_BATCH
    assert [len(b) for b in extract.batches(list(range(7)), 3)] == [3, 3, 1]


def test_rebuild_tables(tmp_path):
    prov = FieldProvenance(method="table", table="t1", row=3, col=2, page=4)
    ok = _result("a.pdf", status="ok", template="2019", format="pdf",
                 fields={"requests.new.total": 7, "active.procurement.amount": 25.1, "text.other": None},
                 confidence={"requests.new.total": 0.4, "active.procurement.amount": 0.99},
                 provenance={"requests.new.total": prov},
                 review=[ReviewItem(field="requests.new.total", reason="R1 fails")],
                 rules=[RuleResult(rule="R1", scope="column total", status="fail", blame="source",
                                   fields=["requests.new.total"])])
    outputs.write_text_atomic(tmp_path / "a.pdf.json", ok.model_dump_json())
    outputs.write_text_atomic(tmp_path / "b.pdf.json", _result("b.pdf", status="error").model_dump_json())
    (tmp_path / "stray.json").write_text('{"x": 1}')
    stats, unreadable = outputs.rebuild_tables(tmp_path)
    assert unreadable == ["stray.json"]
    assert stats["a.pdf.json"] == {"status": "ok", "error_code": None, "fields": 3, "flagged": 1,
                                   "rule_failures": {"source": 1}, "warnings": 0, "llm_sections": {},
                                   "llm_requests": 0, "llm_tokens": 0, "group": None, "role": None}
    rows = {r["key"]: r for r in csv.DictReader((tmp_path / outputs.FIELDS_CSV).open(encoding="utf-8-sig"))}
    assert [rows["requests.new.total"][c] for c in ("document", "template", "value_num", "value_text",
                                                    "confidence", "flagged", "method", "origin")] == [
        "a.pdf", "2019", "7", "", "0.4", "true", "table", "table"]
    assert rows["active.procurement.amount"]["value_num"] == "25.1" and rows["text.other"]["value_text"] == ""
    assert len(rows) == 3
    review = list(csv.reader((tmp_path / outputs.REVIEW_CSV).open(encoding="utf-8-sig")))
    assert review[1][:9] == ["a.pdf", "requests.new.total", "7", "0.4", "R1 fails", "4", "t1", "3", "2"]
    assert review[1][9] == "native" and review[1][10] == ""  # text layer, not a picture


def test_task_runner_from_option_or_env(monkeypatch):
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    assert isinstance(extract.make_task_runner(None, 2), ProcessPoolTaskRunner)
    monkeypatch.setenv(extract.TASK_RUNNER_ENV, "thread")
    assert isinstance(extract.make_task_runner(None, 2), ThreadPoolTaskRunner)
    # any importable runner
    runner = extract.make_task_runner("prefect.task_runners:ThreadPoolTaskRunner", 2)
    assert isinstance(runner, ThreadPoolTaskRunner)
    assert extract.make_task_runner("dask://10.0.0.5:8786", 2).address == "tcp://10.0.0.5:8786"
    with pytest.raises(ValueError):
        extract.make_task_runner("slurm", 2)


def test_second_run_on_the_same_output_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("政府信息公开工作年度报告\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with outputs.exclusive(out):
        code, _ = run_cli(["extract", str(src), "--out", str(out)])
    assert code == 2
    assert "another nianbao run" in capsys.readouterr().err
    assert not list(out.glob("*.json"))


def test_a_file_named_in_gbk_bytes_given_directly_is_extracted(tmp_path):
    # The shell hands Python such a name as surrogate escapes, which a flow's JSON parameters
    # cannot carry: the path travels as its bytes and comes back exact.
    name = os.fsdecode("北京市年报.txt".encode("gbk"))
    assert extract.path_from_param(extract.path_param(name)) == name
    assert extract.path_param("/数据/a.txt") == "/数据/a.txt"
    path = os.path.join(os.fsencode(tmp_path), os.fsencode(name))
    with open(path, "wb") as fh:
        fh.write((GOLD.parent / "seeds" / sorted(os.listdir(GOLD.parent / "seeds"))[0]).read_bytes())
    out = tmp_path / "out"
    code, stdout = run_cli(["extract", os.fsdecode(path), "--out", str(out)])
    assert code == 0, stdout
    [entry] = json.loads((out / "summary.json").read_text(encoding="utf-8"))["files"]
    assert entry["status"] == "ok" and entry["json"] == "北京市年报.txt.json"


def test_the_run_leaves_the_dataset_an_analyst_opens(extract_run):
    """Issue 16: the tidy fields carry agency and year, the dictionary the Chinese labels,
    the workbook opens with its sheets; every CSV starts with a BOM."""
    import openpyxl

    out = extract_run.out
    with open(out / outputs.FIELDS_CSV, encoding="utf-8-sig", newline="") as fh:
        fields = list(csv.DictReader(fh))
    seed = [r for r in fields if r["document"] == "001_114e84585976705a.txt"]
    assert seed and {r["agency"] for r in seed} == {"威海市文登区人民政府"} and {r["year"] for r in seed} == {"2020"}
    assert all(r["sha256"] and r["section"] for r in seed)
    with open(out / outputs.DICTIONARY_CSV, encoding="utf-8-sig", newline="") as fh:
        dictionary = {r["key"]: r for r in csv.DictReader(fh)}
    assert dictionary["requests.new.total"]["row_label"] == "一、本年新收政府信息公开申请数量"
    for name in (outputs.FIELDS_CSV, outputs.REVIEW_CSV, "reports.csv", "rules.csv", outputs.DICTIONARY_CSV):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf"), name
    book = openpyxl.load_workbook(out / "nianbao.xlsx", read_only=True)
    assert book.sheetnames == ["reports", "fields", "rules", "dictionary", "rule_dictionary"]
    reports = list(book["reports"].values)
    assert reports[0][:2] == ("sha256", "document")
    wide = [r[1] for r in reports[1:]]
    assert len(wide) == len(set(wide))  # a row a document
    assert {p.name for p in (Path(__file__).parents[1] / "eval" / "seeds").iterdir()
            if p.name != "000_0fd88f05dde60c98.txt"} <= set(wide)  # (that one is in two folders: suffixed)
    book.close()
