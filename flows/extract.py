"""`nianbao extract` as a Prefect flow: find the files, skip what is already done, extract
the rest in batches (one task per batch, so Prefect's per-task cost is paid per ~50
documents, not per document), then rebuild the CSVs and the run summary. What is to do is
decided in flows.resume, which the CLI runs first: with nothing to do, no flow starts.

With an LLM endpoint, a batch hands back the documents that have sections to ask about,
and the flow's own process asks their questions on a few threads while the workers go on
with the CPU work: the requests wait on the network, and one process is where the
endpoint's limits (in flight, per minute, the token budget) can be kept exactly.

Import this module only after the environment is set up (see flows.cli): Prefect reads its
settings when it is first imported.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from extractors.llm.settings import Mode
from extractors.pipeline import EXTRACTOR_VERSION, Draft, finish, first_pass, unasked
from extractors.result import DocumentResult

from . import outputs, resume, sandbox
from .prefect_api import api_for_runs, stop_local_api
from .resume import Job, default_workers, llm_summary, plan_inputs, summarise

# The planning step moved to flows.resume (the CLI plans before Prefect starts); its names
# stay reachable from here, where callers and tests have found them.
discover, plan, sha256_of, MAX_BYTES = resume.discover, resume.plan, resume.sha256_of, resume.MAX_BYTES

MAX_BATCH = 50
TASK_RUNNER_ENV = "NIANBAO_TASK_RUNNER"

Progress = Callable[[int, int], None]  # (documents done, documents to do)
Stage = Callable[[str], None]  # the stage a `run` has come to: harvest, extract, store, export


def batch_size_for(n: int, workers: int) -> int:
    # At most MAX_BATCH documents, and at least two batches per worker so the cores stay
    # busy until the end; below that, Prefect's cost per task is lost in the server start.
    return max(1, min(MAX_BATCH, math.ceil(n / (2 * workers))))


def batches(jobs: list[Job], size: int) -> Iterator[list[Job]]:
    for start in range(0, len(jobs), size):
        yield jobs[start:start + size]


# A flow's parameters travel as JSON, which cannot carry a name that is not UTF-8 (GBK bytes
# from a Windows zip arrive as surrogate escapes): such a path goes as its bytes in hex.
_BYTES_PATH = "fs-bytes:"


def path_param(path: str) -> str:
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return _BYTES_PATH + os.fsencode(path).hex()


def path_from_param(text: str) -> str:
    if text.startswith(_BYTES_PATH):
        return os.fsdecode(bytes.fromhex(text.removeprefix(_BYTES_PATH)))
    return text


# -- the work ---------------------------------------------------------------------------

def _error_record(job: Job, code: str, message: str) -> DocumentResult:
    return DocumentResult(document=Path(job.path).name, sha256=job.sha256, status="error",
                          error_code=code, error=message, extractor_version=EXTRACTOR_VERSION)


def _guarded(job: Job, work: Callable[[], DocumentResult | Draft]) -> DocumentResult | Draft:
    """Whatever goes wrong with this document becomes its error record, so the batch goes on."""
    name = Path(job.path).name
    try:
        return work()
    except OSError as err:
        return _error_record(job, "io_error", f"{name}: {err.strerror or err}")
    except MemoryError:  # the sandbox's cap on the address space: the file asked for too much
        return _error_record(job, "over_memory", f"{name}: reading it needed more memory than "
                             f"a document may have (set {sandbox.MEMORY_ENV} to raise it)")
    except Exception as err:  # a bug in extraction: recorded, and retried by the next run
        return _error_record(job, "internal", f"{name}: {type(err).__name__}: {err}")


def _write(job: Job, out: Path, result: DocumentResult) -> None:
    outputs.write_text_atomic(out / job.json_name, result.model_dump_json(indent=1))


def extract_one(job: Job, out: Path, mode: Mode = "off", ask_later: bool = False) -> tuple[float, Draft | None]:
    """Extract one document; returns the seconds it took, and its draft when `ask_later` and
    it has sections for the LLM (its JSON is written once they are answered). Otherwise the
    JSON is written here, any questions recorded as not asked."""
    start = time.perf_counter()
    done = _guarded(job, lambda: first_pass(job.path, job.sha256 or None, mode))
    if isinstance(done, Draft) and done.asks and ask_later:
        return time.perf_counter() - start, done
    if isinstance(done, Draft):
        done = _guarded(job, lambda: finish(done, unasked(done)))
    _write(job, out, done)
    return time.perf_counter() - start, None


@task(name="extract-batch", cache_policy=NO_CACHE, persist_result=False)
def extract_batch(jobs: list[Job], out: str, mode: Mode = "off",
                  ask_later: bool = False) -> dict[str, tuple[float, Draft | None]]:
    """The batch's documents in sandboxed children (flows.sandbox): one that runs past its
    time or memory gets an error record, and the others go on."""
    out_dir = Path(out)

    def failed(job: Job, code: str, message: str) -> tuple[float, None]:
        _write(job, out_dir, _error_record(job, code, message))
        return 0.0, None

    results = sandbox.run_each(jobs, lambda job: extract_one(job, out_dir, mode, ask_later), failed,
                               sandbox.Limits.from_env(), name=lambda job: Path(job.path).name)
    return {job.json_name: result for job, result in zip(jobs, results)}


def ask_and_finish(job: Job, draft: Draft, llm, out: Path) -> float:
    """The LLM's answers for one document's sections, weighed in; its JSON written."""
    start = time.perf_counter()
    result = _guarded(job, lambda: finish(draft, [llm.ask(a) for a in draft.asks], llm.identity))
    _write(job, out, result)
    return time.perf_counter() - start


# -- the flow ---------------------------------------------------------------------------

# Where progress goes is the caller's business, not a flow parameter: parameters travel to
# the API and, with a process pool, get pickled into every worker (a live progress bar can't).
_progress_to: ContextVar[Progress | None] = ContextVar("progress_to", default=None)
_stage_to: ContextVar[Stage | None] = ContextVar("stage_to", default=None)
# The plan the CLI made before Prefect started (flows.resume), keyed by what it was made for:
# the flow takes it rather than hashing every input a second time.
_planned: ContextVar[tuple | None] = ContextVar("planned", default=None)


def _progress() -> Progress | None:
    # The flow function is pickled by value for process workers, with the globals it names;
    # a ContextVar cannot be pickled, a module-level function is pickled by reference.
    return _progress_to.get()


@contextmanager
def showing(progress: Progress | None, stage: Stage | None = None) -> Iterator[None]:
    """While open, the flows run in this thread report documents done to `progress` and,
    for `run`, the stage they come to, to `stage`."""
    tokens = _progress_to.set(progress), _stage_to.set(stage)
    try:
        yield
    finally:
        _progress_to.reset(tokens[0])
        _stage_to.reset(tokens[1])


def report_stage(name: str) -> None:
    """Tell the caller's progress display which stage a `run` has come to."""
    shown = _stage_to.get()
    if shown:
        shown(name)


def _plan(paths: list[str], out: Path, force: bool, mode: Mode, reader: str | None):
    given = _planned.get()
    if given and given[0] == (tuple(paths), str(out), force, mode):
        return given[1]
    return plan_inputs(paths, out, force, mode, reader)


@flow(name="nianbao-extract")
def extract_flow(paths: list[str], out: str, force: bool = False, batch_size: int | None = None,
                 workers: int | None = None, llm_mode: Mode = "off") -> dict:
    """Extract every report under `paths` into `out`; returns the run summary. `workers` only
    sizes the batches (the task runner decides the parallelism). With `llm_mode` fallback or
    verify, the endpoint is the one the environment configures (extractors.llm.settings)."""
    return extract_documents(paths, out, force, batch_size, workers, llm_mode)


@task(name="start-worker", cache_policy=NO_CACHE, persist_result=False)
def start_worker() -> None:
    """Nothing: submitted early, it makes a process pool start its workers (a second or
    more each: they are spawned and import everything) while the flow does other work."""


def extract_documents(paths: list[str], out: str, force: bool = False, batch_size: int | None = None,
                      workers: int | None = None, llm_mode: Mode = "off") -> dict:
    """The extract flow's work, inside whatever flow calls it: its tasks run on that flow's
    task runner (so `nianbao run` extracts on the workers it started during its harvest)."""
    logger = get_run_logger()
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs.mark_output_dir(out_dir)
    outputs.remove_stale_temps(out_dir)

    llm = _llm_client(llm_mode)
    paths = [path_from_param(p) for p in paths]
    names, todo, skipped = _plan(paths, out_dir, force, llm_mode, llm.identity if llm else None)
    phases = {"plan": time.perf_counter() - clock}
    workers = workers or default_workers()
    size = batch_size or batch_size_for(len(todo), workers)
    logger.info("%d documents: %d to extract in batches of %d, %d already done",
                len(names), len(todo), size, len(skipped))

    run_start_ns = time.time_ns()
    submitted = [(extract_batch.submit(b, str(out_dir), llm_mode, llm is not None), b)
                 for b in batches(todo, size)]
    seconds, unprocessed = _collect(submitted, out_dir, run_start_ns, len(todo), _progress(), llm)
    phases["extract"] = time.perf_counter() - clock - phases["plan"]
    for name, err in unprocessed.items():
        logger.error("%s: not processed (%s); the next run retries it", name, err)

    stats, unreadable = outputs.rebuild_tables(out_dir, {n: str(p) for p, n in names.items()})
    phases["tables"] = time.perf_counter() - clock - phases["plan"] - phases["extract"]
    summary = summarise(paths, out_dir, names, todo, skipped, stats, unreadable, unprocessed,
                        seconds, started, phases, size, workers)
    summary["llm"] = llm_summary(llm_mode, llm, stats)
    outputs.write_summary(out_dir, summary)
    return summary


def _collect(submitted, out: Path, run_start_ns: int, total: int, progress: Progress | None,
             llm=None) -> tuple[dict[str, float], dict[str, str]]:
    """Wait for the batches, and hand the drafts they return to the LLM threads; report
    progress per document (the fresh JSONs show it) rather than per batch. Returns seconds
    per extracted document, and the documents of batches that crashed whose JSON was never
    written."""
    seconds: dict[str, float] = {}
    unprocessed: dict[str, str] = {}
    pending = dict(submitted)
    asking: dict[Future, tuple[Job, float]] = {}  # LLM questions under way: job, first-pass time
    finished = 0
    if progress:
        progress(0, total)
    with ThreadPoolExecutor(max_workers=llm.settings.concurrency if llm else 1,
                            thread_name_prefix="llm") as pool:
        while pending or asking:
            done, _ = wait(list(pending), timeout=0.5) if pending else (set(), None)
            for future in done:
                jobs = pending.pop(future)
                try:
                    results = future.result()
                except Exception as err:  # a worker died (e.g. killed for memory): keep the rest
                    results = {}
                    for job in jobs:
                        if not _written_since(out / job.json_name, run_start_ns):
                            unprocessed[job.json_name] = f"{type(err).__name__}: {err}"
                for job in jobs:
                    took, draft = results.get(job.json_name, (None, None))
                    if draft is not None:
                        asking[pool.submit(ask_and_finish, job, draft, llm, out)] = job, took
                    elif took is not None:
                        seconds[job.json_name] = took
                    finished += draft is None
            for future in [f for f in asking if f.done()]:
                job, took = asking.pop(future)
                try:
                    seconds[job.json_name] = took + future.result()
                except OSError as err:  # its JSON could not be written: the next run redoes it
                    unprocessed[job.json_name] = f"{type(err).__name__}: {err}"
                finished += 1
            if not pending and asking:
                time.sleep(0.2)
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


def _llm_client(mode: Mode):
    """The run's LLM client, or None when the mode is off or no model is configured."""
    if mode == "off":
        return None
    from extractors.llm.client import LlmClient  # instructor and openai: only when used
    from extractors.llm.settings import load_settings

    settings = load_settings()
    return LlmClient(settings) if settings else None


# -- running it -------------------------------------------------------------------------

def make_task_runner(spec: str | None, workers: int) -> TaskRunner:
    """`process` (the default), `thread`, `dask` (a local Dask cluster of `workers`
    processes), `dask://HOST:PORT` (a running Dask scheduler, e.g. `dask scheduler` with
    `dask worker` on other machines), or `module:Class` for any other Prefect task runner
    (constructed with no arguments)."""
    spec = spec or os.environ.get(TASK_RUNNER_ENV) or "process"
    if spec == "process":
        return ProcessPoolTaskRunner(max_workers=workers, initializer=_worker_init)
    if spec == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if spec == "dask" or spec.startswith("dask://"):
        from prefect_dask import DaskTaskRunner  # the `dask` extra

        if spec == "dask":
            return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "processes": True,
                                                  "threads_per_worker": 1})
        return DaskTaskRunner(address="tcp://" + spec.removeprefix("dask://"))
    module, sep, name = spec.partition(":")
    if not sep:
        raise ValueError(f"task runner {spec!r}: use process, thread, dask, dask://HOST:PORT or module:Class")
    return getattr(importlib.import_module(module), name)()


def _worker_init() -> None:
    signal.signal(signal.SIGTERM, _leave_worker)
    # Ctrl-C reaches the whole process group: the CLI ends the workers itself (SIGTERM), and a
    # KeyboardInterrupt here would only print a traceback under its one-line message
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _leave_worker(signum, _frame) -> None:
    """A worker told to stop removes the temp file it may be writing and leaves at once: not
    by SystemExit, which Prefect's task engine would log as a crash, traceback and all."""
    outputs.remove_open_temps()
    os._exit(128 + signum)


def stop_run_processes(grace: float = 2.0) -> None:
    """Stop the pool workers and the local API server of a run being abandoned. Pool workers
    do not notice their parent's death (they share the queue's pipe), so they are told."""
    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()
    stop_local_api()


def run_extract(paths: list[str], out: str, runner: TaskRunner, *, workers: int | None = None,
                force: bool = False, batch_size: int | None = None,
                progress: Progress | None = None, llm_mode: Mode = "off",
                planned: tuple | None = None) -> dict:
    """The flow on `runner`, with the API server shared by all its workers. `planned`:
    flows.resume.plan_inputs's answer for these paths, made before Prefect started."""
    token = _planned.set(((tuple(paths), str(Path(out)), force, llm_mode), planned) if planned else None)
    try:
        with showing(progress), api_for_runs():
            return extract_flow.with_options(task_runner=runner)(
                [path_param(p) for p in paths], out, force=force, batch_size=batch_size,
                workers=workers, llm_mode=llm_mode)
    finally:
        _planned.reset(token)
