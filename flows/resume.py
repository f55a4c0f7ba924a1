"""What a `nianbao extract` run has to do, decided before Prefect starts: the inputs, the
JSON name of each, which ones have a current JSON already (hashed and compared with what the
output folder holds), and the run's summary. A run with nothing to do ends here, without
Prefect's server or a flow (flows.cli); the flow (flows.extract) takes the plan as it is.

No Prefect here, nor anything slow to import.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from extractors.llm.settings import Mode
from extractors.pipeline import EXTRACTOR_VERSION, sha256_of
from extractors.readers import MAX_BYTES
from extractors.readers.pictures import pictures_folder

from . import duplicates, outputs


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


def plan(names: dict[Path, str], out: Path, force: bool, mode: Mode = "off",
         reader: str | None = None) -> tuple[list[Job], list[Job]]:
    """Split the inputs (file → JSON name) into jobs to run and jobs whose JSON is current.
    `mode` and `reader` (the LLM client's identity, None without one): what this run asks."""
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
        current = (not force and _is_current(out / json_name, sha, mode, reader)
                   and not _pictures_since(path, out / json_name))
        (done if current else todo).append(job)
    return todo, done


def plan_inputs(paths: list[str], out: Path, force: bool, mode: Mode = "off",
                reader: str | None = None) -> tuple[dict[Path, str], list[Job], list[Job]]:
    """Every input with its JSON name, and `plan`'s split of them."""
    names = outputs.json_names(discover(paths, out))
    return (names, *plan(names, out, force, mode, reader))


def _pictures_since(path: Path, json_path: Path) -> bool:
    """Whether pictures came into a page's <stem>_files/ folder after its JSON was written:
    a harvest gets a picture it failed to get before, and the page (unchanged) is read again."""
    try:
        return pictures_folder(path).stat().st_mtime_ns > json_path.stat().st_mtime_ns
    except OSError:  # no such folder (most files), or no JSON yet
        return False


def _is_current(json_path: Path, sha: str, mode: Mode, reader: str | None) -> bool:
    head = outputs.read_record_header(json_path)
    return (head is not None and head["sha256"] == sha
            and head["extractor_version"] == EXTRACTOR_VERSION
            # a crash of ours or a failed read may not happen again: retried, not kept
            and head["error_code"] not in ("internal", "io_error")
            and (head["status"] != "ok" or _llm_current(head, mode, reader)))


def _llm_current(head: dict, mode: Mode, reader: str | None) -> bool:
    """Whether a record's LLM step is what this run would do: same mode, and, with an
    endpoint now, every section answered by this same model and prompt (an error or the
    budget left some unanswered: asked again; the cache makes earlier answers free). A
    record made without the LLM is current for `fallback` when it has nothing to ask."""
    record = head["llm"]
    if mode == "off" or (record is None and mode == "fallback" and not head["unsettled"]):
        return True
    if not record or record.get("mode") != mode:
        return False
    answers = record.get("answers") or []
    return reader is None or not answers or (
        record.get("reader") == reader and all(a.get("status") in ("answered", "cached") for a in answers))


def llm_summary(mode: Mode, llm, stats: dict[str, dict]) -> dict:
    """This run's requests and tokens (the client's counts), and the sections of every
    document in the output folder by what became of them."""
    sections = Counter()
    for s in stats.values():
        sections.update(s["llm_sections"])
    totals = llm.totals if llm else Counter()
    return {"mode": mode, "reader": llm.identity if llm else None,
            "documents_asked": sum(1 for s in stats.values() if s["llm_sections"]),
            "sections": dict(sections),
            **{k: totals.get(k, 0) for k in ("requests", "prompt_tokens", "completion_tokens",
                                             "answered", "cached", "errors", "over_budget")}}


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def summarise(paths, out: Path, names, todo, skipped, stats, unreadable, unprocessed,
              seconds, started, phases, batch_size, workers) -> dict:
    """summary.json: the run's counts, and each input's JSON and status."""
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
        # documents read without some part of them (DocumentResult.warnings)
        "parts_left_out": sum(1 for s in run_stats if s.get("warnings")),
        "fields": sum(s["fields"] for s in run_stats),
        "flagged": sum(s["flagged"] for s in run_stats),
        "rule_failures": {b: failures.get(b, 0) for b in ("source", "extraction")},
        # the folder's reports of one body and year (flows.duplicates)
        "duplicates": duplicates.counts((s.get("group"), s.get("role")) for s in stats.values()),
        "csv_documents": len(stats),
        "unreadable_json": unreadable,
        "files": [{"path": str(path), "json": name, "skipped": name in skipped_names,
                   "status": "unprocessed" if name in unprocessed else stats.get(name, {}).get("status"),
                   "error_code": stats.get(name, {}).get("error_code"),
                   "seconds": round(seconds[name], 3) if name in seconds else None}
                  for path, name in names.items()],
    }


# -- a run with nothing to do -----------------------------------------------------------

def _tables_current(out: Path, count: int) -> bool:
    """Whether the tables were written from the JSONs the folder holds now: the last run's
    summary, written just after its tables, is newer than every one of the `count` JSONs
    and counted as many."""
    try:
        written = (out / outputs.SUMMARY).stat().st_mtime_ns
        last = json.loads((out / outputs.SUMMARY).read_text(encoding="utf-8"))
        newest = max((p.stat().st_mtime_ns for p in outputs.document_json_paths(out)), default=0)
    except (OSError, ValueError):
        return False
    return (isinstance(last, dict) and (out / outputs.FIELDS_CSV).is_file() and newest < written
            and last.get("csv_documents", -1) + len(last.get("unreadable_json", ())) == count)


def finish_without_work(paths: list[str], out: Path, names: dict[Path, str], done: list[Job],
                        mode: Mode, workers: int) -> dict:
    """The run's summary when every input's JSON is current: the tables are rewritten only
    if some JSON changed since they were (another run's, or one removed by hand)."""
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    outputs.remove_stale_temps(out)
    if _tables_current(out, len(outputs.document_json_paths(out))):
        stats, unreadable = {}, []
        for path, result, placement in outputs.grouped_results(out):
            if result is None:
                unreadable.append(path.name)
            else:
                stats[path.name] = outputs.document_stats(result, placement)
    else:
        stats, unreadable = outputs.rebuild_tables(out, {n: str(p) for p, n in names.items()})
    phases = {"plan": 0.0, "extract": 0.0, "tables": time.perf_counter() - clock}
    summary = summarise(paths, out, names, [], done, stats, unreadable, {}, {}, started, phases,
                        0, workers)
    summary["llm"] = llm_summary(mode, None, stats)
    outputs.write_summary(out, summary)
    return summary
