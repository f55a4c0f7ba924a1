"""Benchmark: `nianbao run` over reports served by a local HTTP server, end to end
(harvest → extract → check → store → export), and Prefect's share of its wall time.

    .venv/bin/python bench/run_portal.py [--n 1000] [--repeat 3] [--mixes portal,light]
                                         [--out bench/run_results.md]

Two mixes of synthetic reports: `portal`, the formats portals publish (text-layer PDF,
DOCX, DOC, HTML in turn; DOC made from DOCX by LibreOffice, read back through it as a user's
run does), and `light`, small files that extract in milliseconds (plain text, HTML, DOCX,
PDF), where Prefect's fixed cost per run weighs most.

Prefect's share is measured, not estimated: the same stage functions (the same crawler,
extract_one in a pool of worker processes, the same store and export) are also driven by
plain concurrent.futures, with no Prefect at all, on a fresh copy of the inputs; the
difference in wall time is what Prefect costs. All runs use the same worker count and the
same per-host limits (raised for one local host standing in for a thousand portals).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NIANBAO = Path(sys.executable).with_name("nianbao")
MIXES = {"portal": ("pdf", "docx", "doc", "html"), "light": ("txt", "html", "docx", "pdf")}
WORKERS = 2
PER_HOST = 8
PER_HOST_RPM = 100_000  # one local host stands in for many portals: no politeness wait


def _make(folder: Path, formats: tuple[str, ...], i: int) -> tuple[str, int, str]:
    from extractors.synth import generate

    fmt = formats[i % len(formats)]
    report = generate(1000 + i, ("2019", "2021")[i % 2], "docx" if fmt == "doc" else fmt)
    (folder / f"{i}.{'docx' if fmt == 'doc' else fmt}").write_bytes(report.data)
    return report.gold["fields"]["meta.agency"], report.gold["fields"]["meta.year"], f"{i}.{fmt}"


def make_corpus(folder: Path, n: int, formats: tuple[str, ...]) -> list[tuple[str, int, str]]:
    folder.mkdir(parents=True)
    with Pool(WORKERS) as pool:
        rows = pool.map(functools.partial(_make, folder, formats), range(n))
    _docx_to_doc(folder, [folder / f"{Path(name).stem}.docx" for _, _, name in rows if name.endswith(".doc")])
    return rows


def _docx_to_doc(folder: Path, sources: list[Path], chunk: int = 25) -> None:
    """LibreOffice converts them a chunk per process (a process per file would take minutes;
    one for hundreds was seen to stop before the end), then any it missed one by one."""
    for pass_size in (chunk, 1):
        missing = [s for s in sources if not s.with_suffix(".doc").is_file()]
        for start in range(0, len(missing), pass_size):
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(["soffice", "--headless", f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}",
                                "--convert-to", "doc", "--outdir", str(folder),
                                *map(str, missing[start:start + pass_size])],
                               check=True, capture_output=True, timeout=600)
    for source in sources:
        if not source.with_suffix(".doc").is_file():
            raise SystemExit(f"LibreOffice made no DOC of {source}")
        source.unlink()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def write_manifest(path: Path, rows, port: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["agency", "year", "url"])
        writer.writerows((agency, year, f"http://127.0.0.1:{port}/{name}") for agency, year, name in rows)


def with_prefect(manifest: Path, out: Path, port: int, api_url: str | None = None) -> dict:
    """`nianbao run` as a user runs it: with no configuration (nianbao starts a local API
    server for the run), or against a Prefect server already running (`api_url`)."""
    env = {**os.environ, **({"PREFECT_API_URL": api_url} if api_url else {})}
    start = time.perf_counter()
    proc = subprocess.run([str(NIANBAO), "run", str(manifest), "--out", str(out), "--workers", str(WORKERS),
                           "--allow-host", f"127.0.0.1:{port}", "--per-host", str(PER_HOST),
                           "--per-host-rpm", str(PER_HOST_RPM)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    if "Starting temporary server" in proc.stderr:
        raise SystemExit("the run started Prefect's temporary server: " + proc.stderr[-2000:])
    summary = json.loads((out / "run.json").read_text())
    return {"wall": wall, "summary": summary}


@contextmanager
def prefect_server(port: int = 4297) -> Iterator[str]:
    """`prefect server start --no-services --no-ui` (the API a bulk run needs) in the
    background, until it answers; its API URL."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_HOME": str(Path.home() / ".cache" / "nianbao" / "prefect")}
    proc = subprocess.Popen([str(NIANBAO.with_name("prefect")), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--no-services", "--no-ui"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait()


def without_prefect(manifest: Path, out: Path, port: int) -> dict:
    """The same stages, driven by concurrent.futures instead of Prefect."""
    from flows import export, outputs, store
    from flows.extract import batch_size_for, batches, plan
    from flows.harvest.crawl import Crawler
    from flows.harvest.fetch import Fetcher, FetchSettings
    from flows.harvest.guard import HostPolicy
    from flows.harvest.raw_store import RawStore
    from flows.harvest.manifest import read_manifest
    from flows.run_flow import store_results

    start = time.perf_counter()
    raw = RawStore(out / "raw")
    fetcher = Fetcher(FetchSettings(per_host=PER_HOST, per_host_rpm=PER_HOST_RPM,
                                    policy=HostPolicy(frozenset({f"127.0.0.1:{port}"}))), raw.workdir)
    crawler = Crawler(fetcher, raw)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(crawler.harvest, read_manifest(manifest)))
    fetcher.close()
    raw.write_csv()
    reports = raw.reports()
    raw.close()
    harvested = time.perf_counter()

    documents = out / "documents"
    documents.mkdir(parents=True)
    paths = [Path(r["path"]) for r in reports]
    names = outputs.json_names(paths)
    todo, _ = plan(names, documents, force=False)
    with ProcessPoolExecutor(WORKERS) as pool:
        list(pool.map(_extract_batch, batches(todo, batch_size_for(len(todo), WORKERS)),
                      [documents] * len(todo)))
    outputs.rebuild_tables(documents)
    extracted = time.perf_counter()

    db_url = store.database_url(None, out)
    engine = store.connect(db_url)
    run_id = store.start_run(engine, {"command": "bench"})
    store_results.fn(db_url, documents, reports, {str(p): n for p, n in names.items()}, run_id)
    export.export(engine, out / "export")
    engine.dispose()
    done = time.perf_counter()
    return {"wall": done - start, "harvest": harvested - start, "extract": extracted - harvested,
            "store": done - extracted}


def _extract_batch(jobs, documents: Path) -> None:
    from flows.extract import extract_one

    for job in jobs:
        extract_one(job, documents)


def plain_in_fresh_process(manifest: Path, out: Path, port: int) -> dict:
    """without_prefect in a new interpreter, timed from outside like `nianbao run`, so both
    pay for starting Python and importing what they use."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--plain", str(manifest), str(out), str(port)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stdout + proc.stderr)
    return {**json.loads(proc.stdout.splitlines()[-1]), "wall": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each runs the three ways in turn")
    parser.add_argument("--mixes", default="portal,light", help="comma-separated: " + ", ".join(MIXES))
    parser.add_argument("--out", default=str(ROOT / "bench" / "run_results.md"))
    parser.add_argument("--plain", nargs=3, metavar=("MANIFEST", "OUT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        manifest, out, port = args.plain
        print(json.dumps(without_prefect(Path(manifest), Path(out), int(port))))
        return
    lines = ["# `nianbao run` over reports served from 127.0.0.1", "",
             f"`bench/run_portal.py --n {args.n} --repeat {args.repeat} --mixes {args.mixes}`, {os.cpu_count()} CPUs, "
             f"{WORKERS} extraction workers, per-host limits raised ({PER_HOST} in flight, {PER_HOST_RPM} a minute) "
             f"for the one local host. Each way ran {args.repeat} times, interleaved: a round runs the three ways "
             "back to back. This machine's speed drifts by ±15 % within minutes, so a way's time is its median "
             "run, and Prefect's share is the median of the rounds' own differences (with the share between "
             "median runs beside it)."]
    with prefect_server() as api_url:
        for mix in args.mixes.split(","):
            lines += ["", *measure_mix(args, mix, api_url)]
    lines += ["", "Prefect's share is the difference to the same stages without Prefect, over the wall time: "
              "its API server (started by the run when none is configured), the flow and subflow runs, "
              "the worker processes Prefect's process pool starts (spawned, not forked, so each imports "
              "Prefect and nianbao), the task runs and their events. Most of it is paid once per run, "
              "whatever the number of reports."]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def measure_mix(args, mix: str, api_url: str) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix=f"nianbao-bench-run-{mix}-"))
    try:
        t = time.perf_counter()
        rows = make_corpus(work / "site", args.n, MIXES[mix])
        made = time.perf_counter() - t
        server, port = serve(work / "site")
        manifest = work / "manifest.csv"
        write_manifest(manifest, rows, port)
        runs: dict[str, list[dict]] = {"plain": [], "local": [], "served": []}
        for i in range(args.repeat):
            runs["plain"].append(plain_in_fresh_process(manifest, work / f"plain{i}", port))
            runs["local"].append(with_prefect(manifest, work / f"local{i}", port))
            runs["served"].append(with_prefect(manifest, work / f"served{i}", port, api_url))
        server.shutdown()
        return report(args, mix, rows, made, runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(args, mix: str, rows, made: float, runs: dict[str, list[dict]]) -> list[str]:
    def median_run(way: str) -> dict:
        return sorted(runs[way], key=lambda r: r["wall"])[len(runs[way]) // 2]

    plain, local, served = median_run("plain"), median_run("local"), median_run("served")
    summary = local["summary"]
    stored = summary["store"]["saved"] + summary["store"]["unchanged"]

    def walls(way: str) -> str:
        return ", ".join(f"{r['wall']:.1f}" for r in runs[way])

    def share(way: str) -> str:
        """Within a round the ways run back to back, so a slow spell of the machine falls on
        the whole round: the median over rounds of each round's difference, and for
        comparison the difference of the median runs."""
        paired = sorted((w["wall"] - p["wall"], w["wall"]) for w, p in zip(runs[way], runs["plain"]))
        diff, wall = paired[len(paired) // 2]
        run = median_run(way)
        return (f"**{100 * diff / wall:.1f} %** ({diff:.1f} s; the rounds, sorted: "
                f"{', '.join(f'{d:.1f}' for d, _ in paired)} s); median runs: "
                f"{100 * (run['wall'] - plain['wall']) / run['wall']:.1f} %")

    def phases(run: dict) -> str:
        return ", ".join(f"{v:.1f} s" for v in run["summary"]["phase_seconds"].values())

    return [
        f"## Mix `{mix}`: {len(rows)} synthetic reports, {', '.join(MIXES[mix])} in turn (both templates)",
        "",
        f"Made in {made:.0f} s (not counted).",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| `nianbao run`, no configuration (nianbao starts a local API server) | {local['wall']:.1f} s "
        f"(runs: {walls('local')}) |",
        f"| reports per second | {args.n / local['wall']:.1f} |",
        f"| reports in the database | {stored} |",
        f"| phases (harvest, extract, store+export) | {phases(local)} |",
        f"| the same stages without Prefect, in a fresh process | {plain['wall']:.1f} s (runs: {walls('plain')}; "
        f"harvest {plain['harvest']:.1f}, extract {plain['extract']:.1f}, store+export {plain['store']:.1f}) |",
        f"| **Prefect's share of the wall time, no configuration** | {share('local')} |",
        f"| `nianbao run` against a running `prefect server start --no-services` | {served['wall']:.1f} s "
        f"(runs: {walls('served')}), {args.n / served['wall']:.1f} reports/s; phases {phases(served)} |",
        f"| **Prefect's share of the wall time, server running** | {share('served')} |",
    ]


if __name__ == "__main__":
    main()
