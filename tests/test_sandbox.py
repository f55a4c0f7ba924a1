"""The per-document sandbox (flows.sandbox): a document over its time or memory, or whose
process dies, costs that document; the others of the batch are done, in order."""

from __future__ import annotations

import faulthandler
import json
import os
import shutil
import signal
import time
from pathlib import Path

from flows.sandbox import Limits, run_each

LIMITS = Limits(seconds=2.0, memory=300 * 2**20)


def _touched(size: int) -> bytearray:
    """`size` bytes, every page of them written: resident, not just mapped."""
    buf = bytearray(size)
    buf[::4096] = b"y" * len(range(0, size, 4096))
    return buf


def _failed(item, code, message):
    return ("failed", item, code, message)


def test_results_come_back_in_order_from_the_child():
    parent = os.getpid()
    assert run_each([1, 2, 3], lambda n: (n * n, os.getpid() != parent), _failed, LIMITS) == \
        [(1, True), (4, True), (9, True)]


def test_a_document_past_its_deadline_is_stopped_and_the_batch_goes_on():
    def work(n):
        if n == 2:
            time.sleep(60)
        return n

    start = time.monotonic()
    results = run_each([1, 2, 3], work, _failed, Limits(seconds=0.5, memory=LIMITS.memory),
                       name=lambda n: f"doc{n}.pdf")
    assert time.monotonic() - start < 10
    assert results[0] == 1 and results[2] == 3
    assert results[1][:3] == ("failed", 2, "timeout")
    assert "doc2.pdf" in results[1][3] and "NIANBAO_DOC_TIMEOUT" in results[1][3]


def test_a_document_growing_past_its_memory_is_stopped():
    def work(n):
        if n == 2:
            hoard = []
            for _ in range(200):  # 20 MB a step, each page touched: resident, not just mapped
                hoard.append(_touched(20 * 2**20))
                time.sleep(0.01)
        return n

    results = run_each([1, 2, 3], work, _failed, LIMITS)
    assert results[0] == 1 and results[2] == 3
    assert results[1][:3] == ("failed", 2, "over_memory")
    assert "NIANBAO_DOC_MEMORY_MB" in results[1][3]


def test_one_huge_allocation_fails_inside_the_child_instead_of_taking_the_machine():
    def work(n):
        try:
            bytearray(64 * 2**30)  # refused by the child's address-space cap, not overcommitted
        except MemoryError:
            return "refused"
        return "allocated"

    assert run_each([1], work, _failed, LIMITS) == ["refused"]


def test_a_child_that_dies_costs_its_document_only():
    def work(n):
        if n == 2:
            faulthandler.disable()  # pytest's, inherited: no traceback of the child's crash
            os.kill(os.getpid(), signal.SIGSEGV)
        return n

    results = run_each([1, 2, 3], work, _failed, LIMITS)
    assert results[0] == 1 and results[2] == 3
    assert results[1][:3] == ("failed", 2, "crashed") and "SIGSEGV" in results[1][3]


def test_an_error_outside_the_work_is_a_crash_of_that_item():
    # work() raising is a bug in the caller's wrapper: the child exits non-zero on that item
    def work(n):
        if n == 1:
            raise ValueError("boom")
        return n

    results = run_each([0, 1, 2], work, _failed, LIMITS)
    assert results[0] == 0 and results[2] == 2
    assert results[1][:3] == ("failed", 1, "crashed")


def test_a_child_that_leaves_early_hands_the_rest_to_a_fresh_one():
    # Each item keeps 80 MB alive in its child, over half the budget: the child leaves after
    # each, and every item is still done by a fresh one, none blamed for the others' memory.
    keep = []

    def work(n):
        keep.append(_touched(80 * 2**20))
        return os.getpid()

    results = run_each([0, 1, 2], work, _failed, Limits(seconds=10, memory=150 * 2**20))
    assert all(isinstance(r, int) for r in results)
    assert len(set(results)) == 3


def test_extract_records_a_document_over_its_deadline_and_does_not_retry_it(tmp_path, monkeypatch):
    """Through `nianbao extract` on Prefect's process pool: a scan (seconds of OCR) under a
    1 s limit gets a `timeout` record, the report beside it is read, and a rerun with no
    limit leaves the timed-out file alone."""
    from conftest import REPO, run_cli

    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(REPO / "eval" / "scans" / "scan000.pdf", inputs)
    shutil.copy(REPO / "eval" / "seeds" / sorted(os.listdir(REPO / "eval" / "seeds"))[0], inputs)
    out = tmp_path / "out"
    monkeypatch.setenv("NIANBAO_DOC_TIMEOUT", "1")
    code, stdout = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "1"])
    assert code == 0, stdout
    records = {p.name: json.loads(p.read_text()) for p in out.glob("*.json") if p.name != "summary.json"}
    scan = records.pop("scan000.pdf.json")
    assert scan["status"] == "error" and scan["error_code"] == "timeout", scan
    assert "scan000.pdf" in scan["error"] and scan["sha256"]
    [seed] = records.values()
    assert seed["status"] == "ok" and seed["fields"]

    monkeypatch.delenv("NIANBAO_DOC_TIMEOUT")
    code, stdout = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "1"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["documents"]["skipped"] == 2 and summary["documents"]["extracted"] == 0


def test_a_child_dies_with_its_worker(tmp_path):
    """A worker killed outright (kill -9) takes its sandboxed child with it."""
    import subprocess
    import sys

    pid_file = tmp_path / "child.pid"
    script = f"""
import os, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from flows.sandbox import Limits, run_each
def work(n):
    open({str(pid_file)!r}, "w").write(str(os.getpid()))
    time.sleep(60)
run_each([1], work, lambda *a: a, Limits(seconds=120, memory=2**30))
"""
    worker = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.05)
    child = int(pid_file.read_text())
    worker.kill()
    worker.wait()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{child}") and "Z" not in _state(child):
        assert time.monotonic() < deadline, "the child outlived its worker"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
