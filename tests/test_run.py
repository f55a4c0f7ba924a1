"""`nianbao run`: manifest → harvest → extract → check → database → exports, on SQLite and
on PostgreSQL (where NIANBAO_TEST_POSTGRES names one), and killed with SIGKILL at any stage
then run again: nothing lost, nothing duplicated, no finished document redone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from extractors.synth import generate
from flows.store import database_url
from portal_server import Portal, Route, write_manifest

REPO = Path(__file__).resolve().parents[1]
FORMATS = ("txt", "html", "docx", "pdf")
POSTGRES = os.environ.get("NIANBAO_TEST_POSTGRES")
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES, reason="NIANBAO_TEST_POSTGRES not set (scripts/postgres.sh starts one)"))]


def serve_reports(portal: Portal, count: int) -> list[tuple[str, int, str]]:
    """`count` synthetic reports, one URL each, in every format; the manifest's rows."""
    rows = []
    for i in range(count):
        report = generate(100 + i, ("2019", "2021")[i % 2], FORMATS[i % len(FORMATS)])
        path = f"/reports/{i}.{FORMATS[i % len(FORMATS)]}"
        portal.routes[path] = Route(report.data)
        rows.append((report.gold["fields"]["meta.agency"], report.gold["fields"]["meta.year"], portal.url(path)))
    return rows


def _db_arg(kind: str) -> list[str]:
    """No --db for SQLite (the default file in --out); for PostgreSQL a fresh schema of its own
    (first on the search path), so that the reruns of a test see only their own rows."""
    if kind == "sqlite":
        return []
    from sqlalchemy.engine import make_url

    schema = f"t{uuid.uuid4().hex[:12]}"
    url = make_url(database_url(POSTGRES, Path(".")))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return ["--db", url.update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)]


def nianbao(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_HOME": str(Path(kwargs.pop("home")) / "prefect")}
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **kwargs)


def _counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("reports", "fields", "review_items")}
        counts["distinct"] = conn.execute(text("SELECT count(DISTINCT sha256) FROM reports")).scalar()
    engine.dispose()
    return counts


@pytest.mark.parametrize("kind", DATABASES)
def test_killed_at_any_stage_then_rerun(tmp_path, kind):
    with Portal() as portal:
        rows = serve_reports(portal, 12)
        manifest = write_manifest(tmp_path / "manifest.csv", rows)
        out = tmp_path / "out"
        db = _db_arg(kind)
        argv = ["run", str(manifest), "--out", str(out), "--allow-host", portal.address, "--workers", "2", *db]
        db_url = database_url(db[1] if db else None, out)

        # kill -9 the whole run (its workers and Prefect's server too) at three moments
        for stage, ready in (("harvest", lambda: any((out / "raw" / "objects").rglob("*.pdf"))),
                             ("extract", lambda: len(list((out / "documents").glob("*.json"))) >= 3),
                             ("store", lambda: _counts(db_url)["reports"] >= 1)):
            proc = nianbao(*argv, home=tmp_path)
            deadline = time.monotonic() + 120
            while not _safe(ready) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

        done_before = {p.name: p.stat().st_mtime_ns for p in (out / "documents").glob("*.json")
                       if p.name not in ("summary.json",)}
        requests_before = len(portal.requests)
        proc = nianbao(*argv, home=tmp_path)
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output

        counts = _counts(db_url)
        assert counts["reports"] == counts["distinct"] == 12  # all there, none twice
        assert counts["fields"] >= 12 * 150
        # finished documents not redone; the portals asked only for what was never fetched
        for name, mtime in done_before.items():
            assert (out / "documents" / name).stat().st_mtime_ns == mtime, name
        assert len(portal.requests) - requests_before <= 12
        assert not [p for p in out.rglob("*") if p.name.endswith((".part", ".nianbao-tmp"))]

        # and once more: nothing to do
        requests_before = len(portal.requests)
        proc = nianbao(*argv, home=tmp_path)
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output
        assert len(portal.requests) == requests_before
        assert "0 extracted" in output and "0 reports saved" in output
        assert _counts(db_url) == counts

        # re-extraction (what a new extractor version causes) works from the raw store alone
        proc = nianbao(*argv, "--force", home=tmp_path)
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output
        assert len(portal.requests) == requests_before and "12 extracted" in output
        assert _counts(db_url)["reports"] == 12


def _safe(check) -> bool:
    try:
        return bool(check())
    except (OSError, SQLAlchemyError):  # not there yet
        return False


def test_run_flow_as_a_deployment_calls_it(tmp_path):
    """A Prefect worker calls the flow with its parameters only: no CLI has made the output
    folder or chosen a task runner."""
    from flows.prefect_api import ensure_api
    from flows.run_flow import run_flow

    with Portal() as portal:
        manifest = write_manifest(tmp_path / "manifest.csv", serve_reports(portal, 2))
        out = tmp_path / "not" / "made" / "yet"
        ensure_api()
        summary = run_flow(str(manifest), str(out), allow_hosts=[portal.address])
    assert summary["store"]["saved"] == 2 and (out / "export" / "reports.parquet").exists()


def test_flows_on_the_local_api_send_no_heartbeats():
    """The local server runs no services, so nothing reads heartbeats; with them, every
    flow's end waits for the heartbeat thread's next tick. A server of the user's keeps them."""
    from prefect.settings import get_current_settings

    from flows import prefect_api

    default = get_current_settings().flows.heartbeat_frequency
    with prefect_api.api_for_runs():
        inside = get_current_settings().flows.heartbeat_frequency
        local = prefect_api._api is not None
    assert inside is None if local else inside == default
    assert default is not None and get_current_settings().flows.heartbeat_frequency == default
