"""The `nianbao` command.

    nianbao extract PATH... --out DIR [--workers N] [--force] [--batch-size N]
                    [--task-runner process|thread|module:Class] [--ocr-engine rapidocr|paddleocr|off]
                    [--llm off|fallback|verify]
    nianbao eval --gold DIR [DIR...] --pred DIR [--json FILE] [--verbose]
    nianbao harvest MANIFEST --raw DIR [--allow-host HOST[:PORT]]... [--refresh] [--threads N]
    nianbao run MANIFEST --out DIR [--raw DIR] [--db URL] [harvest and extract options]
    nianbao review [export|export-gold] SOURCE [--port N] [--reviewer NAME] [--out DIR]
    nianbao compare SOURCE --out DIR [--aliases CSV]

`extract` exits 0 when the batch finished and some input is a report, even if other
documents are error records; 1 when no input yielded a report (none found, none a report,
or all errors: the reason on stderr), the run itself failed or some documents could not be
processed; 2 on usage errors; 130/143 when interrupted (finished documents are kept; a
rerun resumes). `eval` exits 1 when no gold document has a prediction.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .prefect_api import api_for_runs, prepare_prefect_env, start_early
from .progress import display, stop_bar
from .review import cli as review_cli

# A job this small runs its batches on threads of the command's own process (each batch's
# documents still in a forked child, flows.sandbox): a process pool's workers are spawned and
# import everything (~2 s of CPU each), more than such a job's work.
SMALL_JOB = 10


def _prepare_prefect(fallback_home: Path) -> None:
    """Before anything imports Prefect: its environment, and the local API server started
    now so that it loads while the command does."""
    prepare_prefect_env(fallback_home)
    start_early()
    # A run abandoned by Ctrl-C leaves its process pool's semaphores to multiprocessing's
    # resource tracker, which frees them, and would warn on the terminal about each "leak".
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    if quiet not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), quiet]))


def _closing_lines(summary: dict, wall: float) -> list[str]:
    docs = summary["documents"]
    lines = [
        f"documents: {docs['total']} ({docs['extracted']} extracted, {docs['skipped']} already done)"
        f" — ok {docs['ok']}, not_a_report {docs['not_a_report']}, error {docs['error']}",
    ]
    if summary["errors_by_code"]:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["errors_by_code"].items())))
    if summary.get("parts_left_out"):
        lines.append(f"parts left out: {summary['parts_left_out']} documents were read without a part "
                     "of them (a cap reached, a broken picture): see `warnings` in their JSON")
    if docs["unprocessed"]:
        lines.append(f"unprocessed: {docs['unprocessed']} (a worker crashed; rerun to retry them)")
    fails = summary["rule_failures"]
    lines += [
        f"fields: {summary['fields']}, flagged for review: {summary['flagged']}",
        f"rule failures: source {fails['source']}, extraction {fails['extraction']}",
        *_duplicate_lines(summary.get("duplicates")),
        *_llm_lines(summary.get("llm")),
        f"time: {wall:.1f} s in all, {summary['seconds']:.1f} s in the flow; documents took "
        f"{summary['extract_seconds']:.1f} s of {summary['workers']} workers' time",
        f"outputs: {summary['out']}",
    ]
    return lines


def _duplicate_lines(dup: dict | None) -> list[str]:
    """Reports of one body and year (flows.duplicates), when there are several of any."""
    if not dup or not (dup["duplicates"] or dup["conflicts"]):
        return []
    return [f"same body and year: {dup['groups_with_duplicates']} groups with duplicates ({dup['duplicates']} "
            f"reports), {dup['groups_with_conflicts']} with conflicts ({dup['conflicts']} reports, the fields "
            "that differ flagged); the reports table holds one report of each"]


def _llm_lines(llm: dict | None) -> list[str]:
    if not llm or llm["mode"] == "off":
        return []
    sections = ", ".join(f"{k} {v}" for k, v in sorted(llm["sections"].items())) or "none"
    return [f"LLM ({llm['mode']}, {llm['reader'] or 'no endpoint configured'}): sections {sections}; "
            f"this run {llm['requests']} requests, {llm['prompt_tokens']} + {llm['completion_tokens']} tokens"]


_command = "nianbao"  # the running command, for the line said when it is interrupted


def _say_interrupted(signum: int) -> None:
    """One line, and the cursor back (the progress bar hid it). Written to the descriptor
    itself: while the bar runs, sys.stderr is rich's proxy, which holds text until a newline
    and strips escape codes from it."""
    show_cursor = "\x1b[?25h" if os.isatty(2) else ""
    text = (f"{show_cursor}\n{_command}: {signal.Signals(signum).name}; finished documents are kept, "
            "rerun to continue\n")
    os.write(2, text.encode("utf-8", "replace"))


def _exit_on_signal(signum, _frame) -> None:
    """Ctrl-C reaches the whole process group, Prefect's temporary server included. With the
    server gone, Prefect's own crash handling retries it for minutes, so leave at once: every
    finished document's JSON is whole (atomic writes) and a rerun resumes from them."""
    # Prefect's wait() times out by SIGALRM; its timeout must not cut this cleanup short.
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut it short either
    try:
        with suppress(Exception):  # the message and the exit matter more than the bar
            stop_bar()
        _say_interrupted(signum)
        if "flows.outputs" in sys.modules:  # half-written files of this process
            sys.modules["flows.outputs"].remove_open_temps()
        if "flows.extract" in sys.modules:  # Prefect started: its workers and server go too
            sys.modules["flows.extract"].stop_run_processes()
    finally:
        os._exit(128 + signum)


@contextmanager
def _stoppable() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run at once (`_exit_on_signal`) while this is open."""
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _choose_ocr(name: str, parser: argparse.ArgumentParser) -> None:
    """Through the environment, which the worker processes inherit. An engine that cannot
    start is a usage error now, not one error record per scanned document later."""
    if name == "off":
        os.environ["NIANBAO_OCR"] = "off"
        return
    os.environ["NIANBAO_OCR_ENGINE"] = name
    from extractors.errors import ReadError
    from extractors.ocr import get_engine

    try:
        get_engine(name)
    except ReadError as err:
        parser.error(f"--ocr-engine {name}: {err}")


def _task_runner(args: argparse.Namespace, small: bool = False):
    """The workers and the Prefect task runner that extraction runs on (after Prefect's env
    is set); threads for a `small` job unless a runner is asked for."""
    from .extract import TASK_RUNNER_ENV, default_workers, make_task_runner

    workers = args.workers or default_workers()
    spec = args.task_runner or os.environ.get(TASK_RUNNER_ENV) or ("thread" if small else None)
    try:
        return workers, make_task_runner(spec, workers)
    except (ValueError, ImportError, AttributeError) as err:
        args.parser.error(f"task runner: {err}")


def _choose_llm(given: str | None, parser: argparse.ArgumentParser) -> str:
    """The LLM mode of the run: settings that cannot be used, or a mode asked for with no
    model configured, are usage errors now rather than an error per document later."""
    from extractors.llm.settings import SettingsError, load_settings, mode_from

    try:
        settings = load_settings()
        mode = mode_from(given, settings is not None)
    except SettingsError as err:
        parser.error(f"LLM: {err}")
    if mode != "off" and settings is None:
        parser.error(f"--llm {mode}: no LLM configured; set NIANBAO_LLM_MODEL (and "
                     "NIANBAO_LLM_BASE_URL, OPENAI_API_KEY) or NIANBAO_LLM_CONFIG")
    return mode


def _cmd_extract(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    parser = args.parser
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        parser.error("no such file or folder: " + ", ".join(missing))
    odd = [p for p in args.paths if not (os.path.isfile(p) or os.path.isdir(p))]
    if odd:
        parser.error("not a regular file or folder: " + ", ".join(odd))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: exists and is not a folder")
    if args.ocr_engine:
        _choose_ocr(args.ocr_engine, parser)
    llm_mode = _choose_llm(args.llm, parser)
    # (outputs.SUMMARY: flows.outputs is slow to import, and the server should load meanwhile)
    if not (out / "summary.json").is_file():  # a new output folder: work to do, surely
        _prepare_prefect(out / ".prefect")  # the server loads while the inputs are planned
    from . import outputs, resume

    # What there is to do, before Prefect starts. With an LLM, whether a record is current
    # depends on the endpoint's identity, which the flow's client knows: the flow decides.
    planned = resume.plan_inputs(args.paths, out, args.force) if llm_mode == "off" else None
    if planned and not planned[0]:
        print(f"nianbao extract: no files to read in {' '.join(args.paths)} (hidden files, JSON "
              "files and nianbao's output folders are left out)", file=sys.stderr)
        return 1
    try:
        if planned and not planned[1]:  # every input's JSON is current: no server, no flow
            with _stoppable(), outputs.exclusive(out):
                summary = resume.finish_without_work(args.paths, out, planned[0], planned[2], llm_mode,
                                                     args.workers or resume.default_workers())
        else:
            summary = _extract_in_flow(args, out, llm_mode, planned)
    except outputs.OutputBusy as err:
        print(f"nianbao: {err}", file=sys.stderr)
        return 2
    print("\n".join(_closing_lines(summary, time.perf_counter() - started)))
    if summary["documents"]["unprocessed"]:
        return 1
    return _no_report_said(summary["documents"])


def _extract_in_flow(args: argparse.Namespace, out: Path, llm_mode: str, planned) -> dict:
    """The extract flow, on Prefect's local API server (or the one configured)."""
    from . import outputs

    _prepare_prefect(out / ".prefect")
    shown = display("extract", args.progress)
    from .extract import run_extract  # imports Prefect

    workers, runner = _task_runner(args, small=planned is not None and len(planned[1]) <= SMALL_JOB)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with _stoppable(), outputs.exclusive(out):
            if shown:
                shown.start()
            return run_extract(args.paths, str(out), runner, workers=workers, force=args.force,
                               batch_size=args.batch_size, progress=shown.update if shown else None,
                               llm_mode=llm_mode, planned=planned)
    finally:
        if shown:
            shown.stop()


def _no_report_said(docs: dict) -> int:
    """1, and why on stderr, when not one input is a report."""
    if docs["ok"]:
        return 0
    if not docs["total"]:
        print("nianbao extract: no files to read (hidden files, JSON files and nianbao's output "
              "folders are left out)", file=sys.stderr)
        return 1
    why = ", ".join(f"{n} {what}" for n, what in ((docs["not_a_report"], "not a report"),
                                                 (docs["error"], "could not be read")) if n)
    files = f"{docs['total']} file{'s' * (docs['total'] != 1)}"
    print(f"nianbao extract: no report among the {files} ({why}): see summary.json and each file's JSON",
          file=sys.stderr)
    return 1


def _cmd_eval(args: argparse.Namespace) -> int:
    parser = args.parser
    from extractors.evaluate import add_source_hashes, evaluate, format_report, load_gold, load_predictions

    for flag, folder in [("--gold", g) for g in args.gold] + [("--pred", args.pred)]:
        if not Path(folder).is_dir():
            parser.error(f"{flag} {folder}: no such folder")
    gold: dict = {}
    try:
        for folder in args.gold:
            labels = load_gold(Path(folder))
            add_source_hashes(labels, Path(folder))  # to find a prediction named by its hash
            gold.update(labels)
    except ValueError as err:  # includes a file that is not JSON at all
        parser.error(f"--gold: {err}")
    if not gold:
        parser.error(f"--gold {' '.join(args.gold)}: no gold JSON files")
    preds, warnings = load_predictions(Path(args.pred))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    report = evaluate(gold, preds)
    print(format_report(report, verbose=args.verbose))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n",
                                   encoding="utf-8")
    if report["documents"]["predicted"]:
        return 0
    print(f"nianbao eval: no gold document has a prediction in {args.pred} (by name or by content): "
          "is it the --out folder of an extract or run over these documents?", file=sys.stderr)
    return 1


def _cmd_harvest(args: argparse.Namespace) -> int:
    _check_manifest(args)
    _prepare_prefect(Path(args.raw) / ".prefect")
    from .harvest_flow import run_harvest

    summary = run_harvest(args.manifest, args.raw, **_harvest_settings(args))
    crawls = ", ".join(f"{k} {v}" for k, v in sorted(summary["crawls"].items()))
    print(f"rows: {summary['rows']} ({crawls}); requests: {summary['requests']}; "
          f"reports found: {summary['reports_found']}, in the store: {summary['reports_in_store']}")
    return _coverage_end(summary["coverage"], f"raw store: {args.raw} (manifest.csv lists every fetch, "
                         "coverage.csv every row's outcome)")


def _coverage_end(entries: list[dict], where: str) -> int:
    """Each manifest row without a report and why; 1 when no row gave a report."""
    from .harvest.coverage import report_lines, yielded

    print("\n".join(report_lines(entries)))
    print(where)
    if yielded(entries):
        return 0
    print("nianbao: no manifest row gave a report (the reasons are above)", file=sys.stderr)
    return 1


def _harvest_settings(args: argparse.Namespace) -> dict:
    return {"allow_hosts": args.allow_host, "refresh": args.refresh, "threads": args.threads,
            "timeout": args.timeout, "per_host": args.per_host, "per_host_rpm": args.per_host_rpm}


def _check_manifest(args: argparse.Namespace) -> None:
    """A missing or bad manifest is a usage error, before Prefect starts."""
    if not Path(args.manifest).is_file():
        args.parser.error(f"{args.manifest}: no such file")
    from .harvest.manifest import ManifestError, read_manifest

    try:
        read_manifest(Path(args.manifest))
    except ManifestError as err:
        args.parser.error(str(err))


def _cmd_run(args: argparse.Namespace) -> int:
    parser = args.parser
    _check_manifest(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: exists and is not a folder")
    _prepare_prefect(out / ".prefect")  # before the slower checks: the server loads meanwhile
    llm_mode = _choose_llm(args.llm, parser)
    if args.ocr_engine:
        _choose_ocr(args.ocr_engine, parser)
    from .store import database_url

    db_url = database_url(args.db, out)
    if not db_url.startswith(("sqlite", "postgresql")):
        parser.error(f"--db {args.db}: use a postgresql:// URL (default: a SQLite file in --out)")
    out.mkdir(parents=True, exist_ok=True)
    from . import outputs
    from .extract import showing
    from .run_flow import run_flow

    workers, runner = _task_runner(args)
    shown = display("run", args.progress)
    try:
        with _stoppable(), outputs.exclusive(out), api_for_runs(), \
                showing(shown.update if shown else None, shown.stage if shown else None):
            if shown:
                shown.start()
            summary = run_flow.with_options(task_runner=runner)(
                args.manifest, str(out), raw=args.raw, db=args.db, **_harvest_settings(args),
                workers=workers, llm_mode=llm_mode, force=args.force)
    except outputs.OutputBusy as err:
        print(f"nianbao: {err}", file=sys.stderr)
        return 2
    finally:
        if shown:
            shown.stop()
    harvest, stored = summary["harvest"], summary["store"]
    docs = (summary["extract"] or {}).get("documents", {})
    print(f"harvest: {harvest['rows']} rows, {harvest['requests']} requests, {harvest['reports_in_store']} reports "
          f"in the raw store")
    print(f"extract: {docs.get('extracted', 0)} extracted, {docs.get('skipped', 0)} already done")
    print(f"database: {summary['database']} — {stored['saved']} reports saved, {stored['unchanged']} unchanged")
    for line in _duplicate_lines(summary.get("duplicates")):
        print(line)
    return _coverage_end(summary["coverage"], f"exports: {out / 'export'} (coverage.csv: every manifest row's "
                         f"outcome); time {summary['seconds']:.1f} s")


def _cmd_compare(args: argparse.Namespace) -> int:
    from extractors.agency import AliasError
    from .compare.run import compare
    from .compare.sources import SourceError
    from .store import OldSchema

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        args.parser.error(f"--out {out}: exists and is not a folder")
    if args.aliases and not Path(args.aliases).is_file():
        args.parser.error(f"--aliases {args.aliases}: no such file")
    try:
        summary = compare(args.source, out, Path(args.aliases) if args.aliases else None)
    except (SourceError, AliasError, OldSchema) as err:
        args.parser.error(str(err))
    print(f"{summary['reports']} reports of {summary['bodies']} bodies: {summary['pairs']} pairs of consecutive "
          f"years, {summary['gaps']} gaps, {summary['skipped']} documents not compared")
    print(f"cross-year rules: {summary['checks']} checked, failed {summary['failed_source']} (source), "
          f"{summary['failed_extraction']} (extraction: review.csv)")
    stored = "; the database's compare_* tables" if summary["database"] else ""
    print(f"outputs: {out / 'index.html'}, CSV and Parquet in {out}{stored}; time {summary['seconds']:.1f} s")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nianbao", description="Read 政府信息公开工作年度报告 "
                                     "into the standard model, check them and flag doubtful fields.")
    parser.add_argument("--version", action="version", version=f"nianbao {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    ext = sub.add_parser("extract", help="extract documents into per-document JSON and CSVs")
    ext.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (searched recursively)")
    ext.add_argument("--out", required=True, help="output folder")
    ext.add_argument("--batch-size", type=_positive, help="documents per task (default: automatic, ≤ 50)")
    _extract_options(ext)
    ext.set_defaults(run=_cmd_extract, parser=ext)

    ev = sub.add_parser("eval", help="score per-document JSONs against gold labels")
    ev.add_argument("--gold", required=True, nargs="+", help="folder(s) of gold JSON files")
    ev.add_argument("--pred", required=True, help="folder of per-document JSONs: an extract --out, or a "
                    "run --out (its documents/, matched to the gold by content)")
    ev.add_argument("--json", help="also write the full report to this file")
    ev.add_argument("--verbose", action="store_true", help="list the wrong fields of each document")
    ev.set_defaults(run=_cmd_eval, parser=ev)

    har = sub.add_parser("harvest", help="download the reports a manifest (CSV: agency, year, url) leads to")
    har.add_argument("manifest", help="CSV with columns agency, year, url: a report file, a report page, "
                     "or a portal's listing of reports")
    har.add_argument("--raw", required=True, help="the raw store folder (reruns fetch only what is missing)")
    _harvest_options(har)
    har.set_defaults(run=_cmd_harvest, parser=har)

    run = sub.add_parser("run", help="harvest a manifest, extract, check and store in a database, export")
    run.add_argument("manifest", help="CSV with columns agency, year, url (as for harvest)")
    run.add_argument("--out", required=True, help="output folder: raw/, documents/, the SQLite database, export/")
    run.add_argument("--raw", help="the raw store (default: OUT/raw)")
    run.add_argument("--db", help="a postgresql:// URL (default: OUT/nianbao.sqlite)")
    _harvest_options(run)
    _extract_options(run)
    run.set_defaults(run=_cmd_run, parser=run)
    cmp = sub.add_parser("compare", help="one body's reports across years: X2/X3, copied text, changed "
                         "figures, derived measures, an HTML report")
    cmp.add_argument("source", help="an extract or run folder, a SQLite file or a postgresql:// URL")
    cmp.add_argument("--out", required=True, help="output folder: index.html, bodies/, CSV and Parquet")
    cmp.add_argument("--aliases", help="CSV of name, canonical name: names of one body that the rules "
                     "cannot tell are one")
    cmp.set_defaults(run=_cmd_compare, parser=cmp)
    review_cli.add_parser(sub)
    return parser


def _harvest_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-host", action="append", default=[], metavar="HOST[:PORT]",
                   help="a private or loopback host that may be fetched (refused by default)")
    p.add_argument("--refresh", action="store_true",
                   help="revisit rows crawled before; files fetched before are revalidated "
                   "(conditional requests), changed ones fetched again")
    p.add_argument("--threads", type=_positive, default=8, help="rows crawled at once (default 8)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for a portal to connect or send (default 30)")
    p.add_argument("--per-host", type=_positive, default=2, help="requests in flight to one host (default 2)")
    p.add_argument("--per-host-rpm", type=_positive, default=120,
                   help="requests a minute to one host (default 120)")


def _extract_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr: a bar on a terminal, else a line every few seconds; "
                   "--no-progress for none")
    p.add_argument("--workers", type=_positive, help="parallel workers (default: the CPUs available)")
    p.add_argument("--force", action="store_true", help="redo documents already extracted")
    p.add_argument("--task-runner", help="process (default), thread, dask (a local Dask cluster of "
                   "--workers processes), dask://HOST:PORT (a running Dask scheduler), or module:Class "
                   "of another Prefect task runner; env NIANBAO_TASK_RUNNER")
    p.add_argument("--ocr-engine", choices=("rapidocr", "paddleocr", "off"),
                   help="OCR for scans and pictures: rapidocr (default, models in its wheel), "
                   "paddleocr (local models in NIANBAO_PADDLEOCR_MODELS), or off")
    p.add_argument("--llm", choices=("off", "fallback", "verify"),
                   help="ask an LLM about sections the tables could not settle (fallback, the "
                   "default when NIANBAO_LLM_MODEL is set) or read every table a second time "
                   "(verify); off by default without a model")


def _version() -> str:
    try:
        return version("nianbao")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    global _command
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # parse_args would show the top level's usage; the subcommand's says what fits
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _command = f"nianbao {args.command}"
    try:
        return args.run(args)
    except KeyboardInterrupt:  # before or after a run's own handler (_stoppable): no traceback
        _say_interrupted(signal.SIGINT)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
