"""`nianbao extract` with an LLM endpoint, end to end through the Prefect flow (worker
processes draft, the flow's threads ask): a broken endpoint loses nothing, a rerun asks again
only what was left unanswered, and a rerun after that asks nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import SEEDS, run_cli
from extractors.standard_model import section_of
from llm_cases import SEED_GOLD, unlabelled_requests_table
from llm_server import LlmServer, Reply, nested, section_of_request


def _env(monkeypatch, server, cache):
    monkeypatch.setenv("NIANBAO_LLM_MODEL", "test-model")
    monkeypatch.setenv("NIANBAO_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("NIANBAO_LLM_CACHE", str(cache))
    monkeypatch.setenv("NIANBAO_LLM_HTTP_RETRIES", "1")


def test_broken_endpoint_then_rerun(tmp_path, monkeypatch):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(SEEDS / "000_0fd88f05dde60c98.txt", inputs)  # read fully by the tables
    unlabelled_requests_table(inputs)  # table 三 needs the LLM
    (inputs / "broken.pdf").write_bytes(b"%PDF-1.7 cut short")
    out = tmp_path / "out"

    with LlmServer(lambda body: Reply(status=500, headers={"Retry-After": "0"})) as down:
        _env(monkeypatch, down, tmp_path / "cache")
        code, stdout = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "2"])
    assert code == 0 and "LLM (fallback, test-model" in stdout
    records = {p.name: json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "summary.json"}
    assert len(records) == 3  # nothing lost: the broken file has its error record
    unlabelled = records["unlabelled.txt.json"]
    assert [a["status"] for a in unlabelled["llm"]["answers"]] == ["error"]
    flagged = {i["field"] for i in unlabelled["review"]}
    assert {k for k in SEED_GOLD if section_of(k) == "requests"} <= flagged
    summary = json.loads((out / "summary.json").read_text())
    assert summary["llm"]["errors"] == 1 and summary["llm"]["requests"] == 2  # one retry of the 500

    with LlmServer(lambda body: Reply(answer=nested(SEED_GOLD, section_of_request(body)))) as up:
        _env(monkeypatch, up, tmp_path / "cache")
        code, stdout = run_cli(["extract", str(inputs), "--out", str(out)])
        assert code == 0 and len(up.requests) == 1  # only the section left unanswered
        summary = json.loads((out / "summary.json").read_text())
        assert summary["documents"]["extracted"] == 1 and summary["llm"]["answered"] == 1
        assert summary["llm"]["prompt_tokens"] > 0 and summary["llm"]["sections"] == {"answered": 1}
        record = json.loads((out / "unlabelled.txt.json").read_text())
        assert record["llm"]["requests"] == 1 and record["llm"]["prompt_tokens"] > 0
        assert all(record["fields"][k] == SEED_GOLD[k] for k in SEED_GOLD if section_of(k) == "requests")

        code, _ = run_cli(["extract", str(inputs), "--out", str(out), "--force"])
        assert code == 0 and len(up.requests) == 1  # redone from scratch: answered from the cache
        summary = json.loads((out / "summary.json").read_text())
        assert summary["llm"]["cached"] == 1 and summary["llm"]["requests"] == 0


def test_llm_mode_without_a_model_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NIANBAO_LLM_MODEL", raising=False)
    monkeypatch.delenv("NIANBAO_LLM_CONFIG", raising=False)
    (tmp_path / "a.txt").write_text("x")
    code, _ = run_cli(["extract", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"), "--llm", "verify"])
    assert code == 2 and "no LLM configured" in capsys.readouterr().err


def test_adding_an_endpoint_redoes_only_documents_with_something_to_ask(tmp_path):
    from flows import extract

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(SEEDS / "000_0fd88f05dde60c98.txt", inputs)
    unlabelled_requests_table(inputs)
    out = tmp_path / "out"
    out.mkdir()
    names = {p: p.name + ".json" for p in sorted(inputs.iterdir())}
    todo, _ = extract.plan(names, out, force=False)
    for job in todo:
        extract.extract_one(job, out)  # a run without an LLM
    assert extract.plan(names, out, force=False)[0] == []
    todo, done = extract.plan(names, out, force=False, mode="fallback", reader="test-model|tools|v1")
    assert [Path(j.path).name for j in todo] == ["unlabelled.txt"]
    assert len(done) == 1
    todo, _ = extract.plan(names, out, force=False, mode="verify", reader="test-model|tools|v1")
    assert len(todo) == 2  # verify reads every table again
