"""`nianbao extract` as a Prefect flow: find the files, skip what is already done, extract
the rest in batches (one task per batch, so Prefect's per-task cost is paid per ~50
documents, not per document), then rebuild the CSVs and the run summary.

Import this module only after the environment is set up (see flows.cli): Prefect reads its
settings when it is first imported.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, temporary_settings
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from extractors.pipeline import EXTRACTOR_VERSION, extract_file, sha256_of
from extractors.readers import MAX_BYTES
from extractors.result import DocumentResult

from . import outputs

MAX_BATCH = 50
TASK_RUNNER_ENV = "NIANBAO_TASK_RUNNER"

Progress = Callable[[int, int], None]  # (documents done, documents to do)


@dataclass(frozen=True)
class Job:
    path: str
    json_name: str
    size: int
    sha256: str  # "" when not hashed: over the size limit, or unreadable


# -- finding the inputs -----------------------------------------------------------------

def discover(paths: list[str], out: Path) -> list[Path]:
    """Files named directly, plus every regular file under folders named (recursively),
    minus hidden files and folders, our own output folders, JSON files (our outputs and
    gold labels are JSON, no report is), and the folders of a saved web page's pictures
    (page_files/ beside page.html: read with the page, not as reports of their own).
    Raises FileNotFoundError for a path that does not exist."""
    out = out.resolve()
    found: dict[Path, Path] = {}

    def skip_dir(folder: Path) -> bool:
        return folder.resolve() == out or outputs.is_output_dir(folder) or _page_resources(folder)

    for given in map(Path, paths):
        if given.is_dir():
            if skip_dir(given):
                continue
            for root, dirs, files in os.walk(given):
                dirs[:] = sorted(d for d in dirs
                                 if not d.startswith(".") and not skip_dir(Path(root, d)))
                for name in sorted(files):
                    path = Path(root, name)
                    # is_file() drops FIFOs and sockets (reading one would hang) and broken links
                    if not name.startswith(".") and not name.endswith(".json") and path.is_file():
                        found.setdefault(path.resolve(), path)
        elif given.is_file():
            found.setdefault(given.resolve(), given)
        elif given.exists():
            raise ValueError(f"{given}: not a regular file or a folder")
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
    return list(found.values())


def _page_resources(folder: Path) -> bool:
    """page_files/ (or page.files/) next to page.html or page.htm, as browsers save a page."""
    for suffix in ("_files", ".files"):
        if folder.name.endswith(suffix):
            stem = folder.name[: -len(suffix)]
            return any((folder.parent / f"{stem}{ext}").is_file() for ext in (".html", ".htm"))
    return False


def plan(names: dict[Path, str], out: Path, force: bool) -> tuple[list[Job], list[Job]]:
    """Split the inputs (file → JSON name) into jobs to run and jobs whose JSON is current."""
    todo, done = [], []
    for path, json_name in names.items():
        size, sha = 0, ""
        try:
            size = path.stat().st_size
            if size <= MAX_BYTES:  # a file over the limit is refused unread, so never hashed
                sha = sha256_of(path)
        except OSError:
            pass  # gone or unreadable: the task records the error when extraction fails too
        job = Job(str(path), json_name, size, sha)
        (done if not force and _is_current(out / json_name, sha) else todo).append(job)
    return todo, done


def _is_current(json_path: Path, sha: str) -> bool:
    head = outputs.read_record_header(json_path)
    return (head is not None and head["sha256"] == sha
            and head["extractor_version"] == EXTRACTOR_VERSION
            # a crash of ours or a failed read may not happen again: retried, not kept
            and head["error_code"] not in ("internal", "io_error"))


def batch_size_for(n: int, workers: int) -> int:
    # At most MAX_BATCH documents, and at least two batches per worker so the cores stay
    # busy until the end; below that, Prefect's cost per task is lost in the server start.
    return max(1, min(MAX_BATCH, math.ceil(n / (2 * workers))))


def batches(jobs: list[Job], size: int) -> Iterator[list[Job]]:
    for start in range(0, len(jobs), size):
        yield jobs[start:start + size]


# -- the work ---------------------------------------------------------------------------

def _error_record(job: Job, code: str, message: str) -> DocumentResult:
    return DocumentResult(document=Path(job.path).name, sha256=job.sha256, status="error",
                          error_code=code, error=message, extractor_version=EXTRACTOR_VERSION)


def extract_one(job: Job, out: Path) -> float:
    """Extract one document and write its JSON; returns the seconds it took. Whatever goes
    wrong with this document becomes its error record, so the batch goes on."""
    start = time.perf_counter()
    name = Path(job.path).name
    try:
        result = extract_file(job.path, sha256=job.sha256 or None)
    except OSError as err:
        result = _error_record(job, "io_error", f"{name}: {err.strerror or err}")
    except Exception as err:  # a bug in extraction: recorded, and retried by the next run
        result = _error_record(job, "internal", f"{name}: {type(err).__name__}: {err}")
    outputs.write_text_atomic(out / job.json_name, result.model_dump_json(indent=1))
    return time.perf_counter() - start


@task(name="extract-batch", cache_policy=NO_CACHE, persist_result=False)
def extract_batch(jobs: list[Job], out: str) -> dict[str, float]:
    return {job.json_name: extract_one(job, Path(out)) for job in jobs}


# -- the flow ---------------------------------------------------------------------------

# Where progress goes is the caller's business, not a flow parameter: parameters travel to
# the API and, with a process pool, get pickled into every worker (a live progress bar can't).
_progress_to: ContextVar[Progress | None] = ContextVar("progress_to", default=None)


def _progress() -> Progress | None:
    # The flow function is pickled by value for process workers, with the globals it names;
    # a ContextVar cannot be pickled, a module-level function is pickled by reference.
    return _progress_to.get()


@flow(name="nianbao-extract")
def extract_flow(paths: list[str], out: str, force: bool = False, batch_size: int | None = None,
                 workers: int | None = None) -> dict:
    """Extract every report under `paths` into `out`; returns the run summary. `workers` only
    sizes the batches (the task runner decides the parallelism)."""
    logger = get_run_logger()
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs.mark_output_dir(out_dir)
    outputs.remove_stale_temps(out_dir)

    names = outputs.json_names(discover(paths, out_dir))
    todo, skipped = plan(names, out_dir, force)
    phases = {"plan": time.perf_counter() - clock}
    workers = workers or default_workers()
    size = batch_size or batch_size_for(len(todo), workers)
    logger.info("%d documents: %d to extract in batches of %d, %d already done",
                len(names), len(todo), size, len(skipped))

    run_start_ns = time.time_ns()
    submitted = [(extract_batch.submit(b, str(out_dir)), b) for b in batches(todo, size)]
    seconds, unprocessed = _collect(submitted, out_dir, run_start_ns, len(todo), _progress())
    phases["extract"] = time.perf_counter() - clock - phases["plan"]
    for name, err in unprocessed.items():
        logger.error("%s: not processed (%s); the next run retries it", name, err)

    stats, unreadable = outputs.rebuild_tables(out_dir)
    phases["tables"] = time.perf_counter() - clock - phases["plan"] - phases["extract"]
    summary = _summary(paths, out_dir, names, todo, skipped, stats, unreadable, unprocessed,
                       seconds, started, phases, size, workers)
    outputs.write_summary(out_dir, summary)
    return summary


def _collect(submitted, out: Path, run_start_ns: int, total: int,
             progress: Progress | None) -> tuple[dict[str, float], dict[str, str]]:
    """Wait for the batches; report progress per document (the workers' fresh JSONs show it)
    rather than per batch. Returns seconds per extracted document, and the documents of
    batches that crashed whose JSON was never written."""
    seconds: dict[str, float] = {}
    unprocessed: dict[str, str] = {}
    pending = dict(submitted)
    finished = 0
    if progress:
        progress(0, total)
    while pending:
        done, _ = wait(list(pending), timeout=0.5)
        for future in done:
            jobs = pending.pop(future)
            try:
                seconds.update(future.result())
            except Exception as err:  # a worker died (e.g. killed for memory): keep the rest
                for job in jobs:
                    if not _written_since(out / job.json_name, run_start_ns):
                        unprocessed[job.json_name] = f"{type(err).__name__}: {err}"
            finished += len(jobs)
        if progress:
            running = [j for jobs in list(pending.values())[:4] for j in jobs]
            progress(finished + sum(_written_since(out / j.json_name, run_start_ns)
                                    for j in running), total)
    return seconds, unprocessed


def _written_since(path: Path, start_ns: int) -> bool:
    try:
        return path.stat().st_mtime_ns >= start_ns
    except FileNotFoundError:
        return False


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _summary(paths, out: Path, names, todo, skipped, stats, unreadable, unprocessed,
             seconds, started, phases, batch_size, workers) -> dict:
    skipped_names = {j.json_name for j in skipped}
    run_stats = [stats[n] for n in names.values() if n in stats and n not in unprocessed]
    status = Counter(s["status"] for s in run_stats)
    failures = Counter()
    for s in run_stats:
        failures.update(s["rule_failures"])
    return {
        "generator": "nianbao extract",
        "extractor_version": EXTRACTOR_VERSION,
        "inputs": [str(p) for p in paths],
        "out": str(out),
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(sum(phases.values()), 2),
        "phase_seconds": {k: round(v, 2) for k, v in phases.items()},
        # the documents' own time in the workers; the rest of the extract phase is overhead
        "extract_seconds": round(sum(seconds.values()), 2),
        "workers": workers,
        "batch_size": batch_size,
        "batches": math.ceil(len(todo) / batch_size) if todo else 0,
        "documents": {
            "total": len(names), "extracted": len(todo) - len(unprocessed),
            "skipped": len(skipped), "unprocessed": len(unprocessed),
            **{k: status.get(k, 0) for k in ("ok", "not_a_report", "error")},
        },
        "errors_by_code": dict(Counter(s["error_code"] for s in run_stats if s["status"] == "error")),
        "fields": sum(s["fields"] for s in run_stats),
        "flagged": sum(s["flagged"] for s in run_stats),
        "rule_failures": {b: failures.get(b, 0) for b in ("source", "extraction")},
        "csv_documents": len(stats),
        "unreadable_json": unreadable,
        "files": [{"path": str(path), "json": name, "skipped": name in skipped_names,
                   "status": "unprocessed" if name in unprocessed else stats.get(name, {}).get("status"),
                   "error_code": stats.get(name, {}).get("error_code"),
                   "seconds": round(seconds[name], 3) if name in seconds else None}
                  for path, name in names.items()],
    }


# -- running it -------------------------------------------------------------------------

def make_task_runner(spec: str | None, workers: int) -> TaskRunner:
    """`process` (the default), `thread`, or `module:Class` for any other Prefect task
    runner, e.g. `prefect_dask:DaskTaskRunner` (constructed with no arguments)."""
    spec = spec or os.environ.get(TASK_RUNNER_ENV) or "process"
    if spec == "process":
        return ProcessPoolTaskRunner(max_workers=workers, initializer=_worker_init)
    if spec == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    module, sep, name = spec.partition(":")
    if not sep:
        raise ValueError(f"task runner {spec!r}: use process, thread or module:Class")
    return getattr(importlib.import_module(module), name)()


@contextmanager
def shared_api() -> Iterator[None]:
    """Start Prefect's temporary server here and hand its address to the run, when no API
    is configured. Otherwise every process-pool worker finds no API URL in the settings it
    inherits and starts a temporary server of its own (~7 s each, measured)."""
    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        yield
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        yield


def _worker_init() -> None:
    # SIGTERM as SystemExit, so a worker stopped mid-write still removes its temp file
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def stop_run_processes(grace: float = 2.0) -> None:
    """Stop the pool workers and the temporary server of a run being abandoned. Pool workers
    do not notice their parent's death (they share the queue's pipe), so they are told."""
    from prefect.server.api.server import SubprocessASGIServer

    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
    SubprocessASGIServer().stop()  # the running one if there is one (a per-port singleton)


def run_extract(paths: list[str], out: str, runner: TaskRunner, *, workers: int | None = None,
                force: bool = False, batch_size: int | None = None,
                progress: Progress | None = None) -> dict:
    """The flow on `runner`, with the temporary API server shared by all its workers."""
    token = _progress_to.set(progress)
    try:
        with shared_api():
            return extract_flow.with_options(task_runner=runner)(
                paths, out, force=force, batch_size=batch_size, workers=workers)
    finally:
        _progress_to.reset(token)
