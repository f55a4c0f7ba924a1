"""`nianbao run` as one Prefect flow: harvest → extract → check → store, then export.

    OUT/raw/            the raw store (unless --raw names another): every file fetched
    OUT/documents/      per-document JSON, fields.csv, review.csv, summary.json (as `extract`)
    OUT/nianbao.sqlite  the database (unless --db names another, e.g. PostgreSQL)
    OUT/export/         the dataset: fields (tidy) and reports (wide), CSV and Parquet; and
                        coverage.csv: every manifest row's outcome (also the `coverage` table)
    OUT/run.json        this run's summary

Each stage resumes on its own: the harvest skips rows crawled before, extraction skips
documents whose JSON is current, and a report is saved to the database only when its JSON
differs from what the database holds. A run killed at any moment (kill -9) and run again
loses nothing, duplicates nothing, and redoes no finished document. A rerun after the
extractor changes re-extracts from the raw store and never goes back to the portals.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from extractors.llm.settings import Mode

from . import export as exports
from . import groups_db, outputs, store
from .extract import extract_documents, report_stage, start_worker
from .harvest import coverage as cover
from .harvest.raw_store import RawStore
from .harvest_flow import harvest_flow


@task(name="store-results", cache_policy=NO_CACHE, persist_result=False)
def store_results(db_url: str, documents: Path, reports: list[dict], names: dict[str, str],
                  run_id: int) -> dict[str, int]:
    """Save the reports whose JSON the database does not hold yet (by the JSON's hash)."""
    engine = store.connect(db_url)
    saved = store.saved_reports(engine)
    counts = {"saved": 0, "unchanged": 0, "missing": 0}
    for report in reports:
        try:
            data = (documents / names[report["path"]]).read_bytes()
        except FileNotFoundError:  # not extracted (a worker died): the next run does it
            counts["missing"] += 1
            continue
        source = {k: report.get(k) for k in ("agency", "year", "url", "final_url")} | {"raw_path": report["path"]}
        changed = store.save_if_changed(engine, data, report["sha256"], source, lambda: run_id, saved)
        counts["saved" if changed else "unchanged"] += 1
    engine.dispose()
    return counts


@flow(name="nianbao-run")
def run_flow(manifest: str, out: str, raw: str | None = None, db: str | None = None,
             allow_hosts: list[str] | None = None, refresh: bool = False, threads: int = 8,
             timeout: float = 30.0, per_host: int = 2, per_host_rpm: int = 120,
             workers: int = 2, llm_mode: Mode = "off", force: bool = False) -> dict:
    """Its task runner (`with_options`) extracts; the harvest is a subflow on threads."""
    logger = get_run_logger()
    clock = time.perf_counter()
    out_dir = Path(out).resolve()  # absolute: the database keeps raw paths for the review app
    out_dir.mkdir(parents=True, exist_ok=True)  # run as a deployment, no CLI has made it
    raw_dir = Path(raw).resolve() if raw else out_dir / "raw"
    documents = out_dir / "documents"
    db_url = store.database_url(db, out_dir)
    engine = store.connect(db_url)
    run_id = store.start_run(engine, {"command": "run", "manifest": str(manifest), "raw": str(raw_dir)})
    phases: dict[str, float] = {}
    warming = [start_worker.submit() for _ in range(workers)]  # the workers start during the harvest

    report_stage("harvest")
    harvested = harvest_flow.with_options(task_runner=ThreadPoolTaskRunner(max_workers=threads))(
        manifest, str(raw_dir), allow_hosts=allow_hosts, refresh=refresh, threads=threads, timeout=timeout,
        per_host=per_host, per_host_rpm=per_host_rpm)
    phases["harvest"] = time.perf_counter() - clock

    with_store = RawStore(raw_dir)
    reports = with_store.reports()
    with_store.close()
    paths = [r["path"] for r in reports]
    for future in warming:
        future.wait()
    report_stage("extract")
    extracted = extract_documents(paths, str(documents), force=force, workers=workers,
                                  llm_mode=llm_mode) if paths else None
    phases["extract"] = time.perf_counter() - clock - sum(phases.values())

    names = {str(p): n for p, n in outputs.json_names(map(Path, paths)).items()}
    report_stage("store")
    stored = store_results(db_url, documents, reports, names, run_id)
    grouped = groups_db.regroup(engine)  # the database's reports of one body and year
    entries = harvested["coverage"]
    cover.check_extracted(entries, _facts(documents, reports, names))
    store.save_coverage(engine, run_id, entries)
    (out_dir / "export").mkdir(exist_ok=True)  # coverage.csv first: the export's workbook takes it in
    cover.write_coverage(entries, out_dir / "export" / cover.COVERAGE_CSV)
    report_stage("export")
    files = exports.export(engine, out_dir / "export")
    phases["store"] = time.perf_counter() - clock - sum(phases.values())
    summary = {
        "generator": "nianbao run", "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - clock, 2),
        "phase_seconds": {k: round(v, 2) for k, v in phases.items()},
        "harvest": {k: v for k, v in harvested.items() if k not in ("crawl_details", "coverage")},
        "coverage_counts": cover.counts(entries), "coverage": entries,
        "extract": {k: extracted[k] for k in ("documents", "fields", "flagged", "rule_failures",
                                               "extract_seconds", "llm")} if extracted else None,
        "store": stored, "duplicates": grouped, "database": _redacted(db_url), "exports": [str(f) for f in files],
    }
    store.finish_run(engine, run_id, summary)
    engine.dispose()
    outputs.write_text_atomic(out_dir / "run.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    logger.info("run finished: %s reports stored", stored["saved"])
    return summary


def _facts(documents: Path, reports: list[dict], names: dict[str, str]) -> dict[str, dict]:
    """sha256 → what its extraction found: status (ok, not_a_report, error), and the year and
    agency the report states."""
    found = {}
    for report in reports:
        try:
            data = json.loads((documents / names[report["path"]]).read_bytes())
            fields = data.get("fields") or {}
            found[report["sha256"]] = {"status": data["status"], "year": fields.get("meta.year"),
                                       "agency": fields.get("meta.agency")}
        except (KeyError, OSError, ValueError, AttributeError, TypeError):  # not extracted, or damaged
            continue
    return found


def _redacted(url: str) -> str:
    """The database URL without its password, for the summary."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
