"""`nianbao harvest` as a Prefect flow: the manifest's rows in batches, on threads (the work
waits on portals, not on the CPU), each row crawled to its report files in the raw store.

Its summary holds the coverage (flows.harvest.coverage): every manifest row's outcome, also
written to RAW/coverage.csv.

Per-host politeness is kept by the one Fetcher all threads share; a killed harvest loses
only what was in flight (objects are renamed into place before their rows are committed).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from .harvest import coverage as cover
from .harvest.crawl import Crawl, Crawler, Row
from .harvest.fetch import Fetcher, FetchSettings
from .harvest.guard import HostPolicy
from .harvest.manifest import read_manifest
from .harvest.raw_store import RawStore
from .prefect_api import api_for_runs

MAX_BATCH = 25


@task(name="harvest-batch", cache_policy=NO_CACHE, persist_result=False)
def harvest_batch(rows: list[Row], crawler: Crawler) -> list[Crawl]:
    return [crawler.harvest(row) for row in rows]


@flow(name="nianbao-harvest")
def harvest_flow(manifest: str, raw: str, allow_hosts: list[str] | None = None,
                 refresh: bool = False, threads: int = 8, timeout: float = 30.0,
                 per_host: int = 2, per_host_rpm: int = 120) -> dict:
    """Crawl every row of `manifest` into the raw store `raw`; returns the harvest summary."""
    logger = get_run_logger()
    rows = read_manifest(Path(manifest))
    store = RawStore(Path(raw))
    settings = FetchSettings(timeout=timeout, per_host=per_host, per_host_rpm=per_host_rpm,
                             policy=HostPolicy(frozenset(h.lower() for h in allow_hosts or ())))
    fetcher = Fetcher(settings, store.workdir)
    crawler = Crawler(fetcher, store, refresh)
    size = max(1, min(MAX_BATCH, math.ceil(len(rows) / (2 * threads))))
    try:
        futures = [harvest_batch.submit(rows[i:i + size], crawler) for i in range(0, len(rows), size)]
        crawls = [c for f in futures for c in f.result()]
        entries = cover.coverage(store, rows)
        cover.write_coverage(entries, Path(raw) / cover.COVERAGE_CSV)
    finally:
        fetcher.close()
        store.write_csv()
        reports = store.reports()
        store.close()
    status = Counter(c.status for c in crawls)
    for crawl in crawls:
        if crawl.status in ("failed", "partial"):
            logger.warning("%s %s %s: %s (%s)", crawl.agency, crawl.year or "", crawl.source, crawl.status,
                           crawl.reason or crawl.note)
    return {"rows": len(rows), "crawls": dict(status), "requests": sum(c.fetched for c in crawls),
            "reports_found": sum(c.reports for c in crawls), "reports_in_store": len(reports),
            "coverage_counts": cover.counts(entries), "coverage": entries,
            "crawl_details": [asdict(c) for c in crawls]}


def run_harvest(manifest: str, raw: str, *, threads: int = 8, **settings) -> dict:
    """The flow with its thread pool, and the local API server if none is configured.
    `settings`: the other keyword arguments of harvest_flow."""
    with api_for_runs():
        return harvest_flow.with_options(task_runner=ThreadPoolTaskRunner(max_workers=threads))(
            manifest, raw, threads=threads, **settings)
