"""The `nianbao` command as a user meets it: --version, each subcommand's usage on its own
errors, exit codes that say whether any report was read, a run with nothing to do that
starts no Prefect, progress without a terminal, and Ctrl-C in a real terminal (a pty)."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from conftest import SEEDS, run_cli
from extractors.pipeline import EXTRACTOR_VERSION, sha256_of
from extractors.result import DocumentResult
from flows import outputs, progress

REPO = Path(__file__).resolve().parents[1]
# An API that nothing answers: a command that needed Prefect would fail on it.
NO_API = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}


def nianbao(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300, **kwargs)


def test_version_comes_from_the_package(capsys):
    code, stdout = run_cli(["--version"])
    assert code == 0 and stdout.strip() == f"nianbao {version('nianbao')}"


def test_a_misspelled_option_shows_the_subcommands_usage(tmp_path, capsys):
    code, _ = run_cli(["extract", str(tmp_path), "--out", str(tmp_path / "o"), "--wokers", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("usage: nianbao extract") and "--ocr-engine" in err
    assert "unrecognized arguments: --wokers 2" in err
    code, _ = run_cli(["eval", "--gold", str(tmp_path), "--pred", str(tmp_path), "--verbos"])
    assert code == 2 and capsys.readouterr().err.startswith("usage: nianbao eval")


def test_an_empty_folder_is_an_error_that_says_why(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "gold.json").write_text("{}")  # JSON is never an input
    done = nianbao("extract", str(tmp_path / "in"), "--out", str(tmp_path / "out"), env=NO_API)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"nianbao extract: no files to read in {tmp_path / 'in'} (hidden files, JSON files and "
        "nianbao's output folders are left out)"]
    assert not (tmp_path / "out").exists()


def _record(out: Path, source: Path, **kw) -> None:
    """A current per-document JSON for `source`, as a run of this extractor left it."""
    result = DocumentResult(document=source.name, sha256=sha256_of(source),
                            extractor_version=EXTRACTOR_VERSION, **kw)
    outputs.write_text_atomic(out / f"{source.name}.json", result.model_dump_json())


def test_nothing_to_do_starts_no_prefect_and_no_report_exits_non_zero(tmp_path):
    """Every input's JSON is current: the command plans, writes the summary and ends, with an
    API that answers nothing. No input a report: exit 1 and one line saying why."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    out.mkdir()
    (inputs / "notice.html").write_text("<p>关于开展安全生产检查的通知</p>", encoding="utf-8")
    (inputs / "locked.pdf").write_bytes(b"%PDF-1.7 encrypted")
    _record(out, inputs / "notice.html", status="not_a_report")
    _record(out, inputs / "locked.pdf", status="error", error_code="encrypted", error="locked.pdf: password")
    done = nianbao("extract", str(inputs), "--out", str(out), env=NO_API)
    assert done.returncode == 1, done.stderr
    assert "2 already done" in done.stdout and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "nianbao extract: no report among the 2 files (1 not a report, 1 could not be read): "
        "see summary.json and each file's JSON"]
    summary = json.loads((out / outputs.SUMMARY).read_text(encoding="utf-8"))
    assert summary["documents"]["skipped"] == 2 and summary["batches"] == 0
    assert (out / outputs.FIELDS_CSV).is_file()  # the tables were missing: written

    # a report among them: exit 0; the tables are current, so not written again
    shutil.copy(sorted(SEEDS.iterdir())[0], inputs / "report.txt")
    _record(out, inputs / "report.txt", status="ok", template="2019", fields={"meta.year": 2020})
    outputs.rebuild_tables(out)
    outputs.write_summary(out, {**summary, "csv_documents": 3, "unreadable_json": []})
    written = (out / outputs.FIELDS_CSV).stat().st_mtime_ns
    done = nianbao("extract", str(inputs), "--out", str(out), env=NO_API)
    assert done.returncode == 0, done.stderr
    assert "3 already done" in done.stdout and "ok 1, not_a_report 1, error 1" in done.stdout
    assert (out / outputs.FIELDS_CSV).stat().st_mtime_ns == written


def test_progress_lines_without_a_terminal(capsys):
    lines = progress.Lines("run", every=0)
    lines.stage("harvest")
    lines.update(0, 4)
    time.sleep(0.05)
    lines.update(2, 4)
    said = capsys.readouterr().err.splitlines()
    assert said[0] == "nianbao run: harvest…"
    assert said[1].startswith("nianbao run: extracting: 0/4 documents (elapsed 0:00:00")
    assert said[2].startswith("nianbao run: extracting: 2/4 documents (elapsed") and "left ~" in said[2]
    quiet = progress.Lines("extract")  # every 5 s: not again at once
    quiet.update(1, 4)
    quiet.update(2, 4)
    assert len(capsys.readouterr().err.splitlines()) <= 1


def _read_all(fd: int, until, timeout: float) -> bytes:
    """What the terminal shows, read until `until(bytes so far)` or end of file."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(got):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                return got
            if not chunk:
                return got
            got += chunk
    return got


def test_ctrl_c_in_a_terminal_one_line_cursor_back_and_a_rerun_resumes(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    seeds = sorted(SEEDS.iterdir())
    for i in range(40):  # enough for a process pool, and for work still under way
        (inputs / f"r{i:02d}.txt").write_bytes(seeds[i % len(seeds)].read_bytes() + f"\n{i}\n".encode())
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "extract", str(inputs), "--out", str(out),
                             "--workers", "2"], cwd=REPO, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    try:
        shown = _read_all(master, lambda _: any(out.glob("r*.txt.json")), 240)
        assert any(out.glob("r*.txt.json")), shown.decode(errors="replace")
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal sends Ctrl-C: to the whole group
        shown += _read_all(master, lambda _: False, 60)
        assert proc.wait(timeout=30) == 128 + signal.SIGINT
    finally:
        os.close(master)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = shown.decode("utf-8", "replace")
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert text.count("SIGINT; finished documents are kept, rerun to continue") == 1
    assert "\x1b[?25l" in text and text.rfind("\x1b[?25h") > text.rfind("\x1b[?25l")  # cursor shown again
    assert "elapsed" in text and " left " in text  # the bar's two times, labelled
    deadline = time.monotonic() + 10  # the workers and Prefect's server went with it
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("processes of the interrupted run are still there")

    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("r*.txt.json")}
    done = nianbao("extract", str(inputs), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"({40 - len(kept)} extracted, {len(kept)} already done)" in done.stdout
    assert all((out / name).stat().st_mtime_ns == mtime for name, mtime in kept.items())
    assert "Traceback" not in done.stderr


def test_run_reports_each_stage_and_the_documents(tmp_path):
    """What `nianbao run`'s progress display is told, from the flow itself."""
    from portal_server import Portal, write_manifest
    from test_run import serve_reports

    from flows.extract import showing
    from flows.prefect_api import ensure_api
    from flows.run_flow import run_flow

    stages, counts = [], []
    with Portal() as portal:
        manifest = write_manifest(tmp_path / "manifest.csv", serve_reports(portal, 2))
        ensure_api()
        with showing(lambda done, total: counts.append((done, total)), stages.append):
            run_flow(str(manifest), str(tmp_path / "out"), allow_hosts=[portal.address])
    assert stages == ["harvest", "extract", "store", "export"]
    assert counts[0] == (0, 2) and counts[-1] == (2, 2)
