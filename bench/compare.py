"""Benchmark: `nianbao compare` over a database of synthetic reports (default 3 000 bodies ×
3 years = 9 000 reports, 6 000 pairs) and over a folder of per-document JSON (default 1 000).

    .venv/bin/python bench/compare.py [--bodies 3000] [--years 3] [--json 1000] [--out bench/compare_results.md]
                                      [--work DIR]

Reports are built as the extractor writes them (tests/compare_cases.py: the synthetic
generator's figures, X2/X3 consistent from year to year, texts copied but for the year for
two bodies in three, a third of the bodies named without their city in the middle year, one
in twenty with a carried-forward figure that disagrees), saved as `nianbao run` saves them
(flows.store.save_result), then `nianbao compare` is run as a user runs it, in a fresh
process, and timed from the outside; its own summary gives the time spent loading and on the
pairs themselves (rules, reuse, changes), the rest being the outputs (CSV, Parquet, the
database's tables, the HTML pages)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from compare_cases import result, series, write  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from flows import store  # noqa: E402

_CITIES = "临川 青阳 安平 云溪 白河 丰宁 长乐 桃源 清河 永安".split()
_CHARS = "东南西北中新老上下前后高低长短大小金木水火土明清和平安宁兴隆福寿康乐"


def body_name(i: int) -> tuple[str, str]:
    """A district government, with and without its city: the district's name is unique (a
    short name that two cities' districts share is rightly left unpaired)."""
    n = len(_CHARS)
    local = _CHARS[i % n] + _CHARS[i // n % n] + _CHARS[i // n // n % n] + "区人民政府"
    return f"{_CITIES[i % len(_CITIES)]}市{local}", local


def reports(bodies: int, years: int):
    first = 2024 - years + 1
    for i in range(bodies):
        full, short = body_name(i)
        fields = series(full, list(range(first, first + years)), seed=i, copy_text=i % 3 != 0)
        if i % 20 == 0:
            fields[first + 1]["requests.carried.natural"] = (fields[first + 1]["requests.carried.natural"] or 0) + 1
        for k, (year, f) in enumerate(fields.items()):
            name = short if k == 1 and i % 3 == 1 else full
            yield result(name, year, f, document=f"{i:05d}_{year}.pdf")


def run_compare(source: str, out: Path) -> tuple[float, float, float, dict]:
    """Wall-clock and CPU seconds of a `nianbao compare` process, the load average as it
    started (this machine is shared: wall time grows with the others' load, CPU time does
    not), and its summary."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).with_name("nianbao")), "compare", source, "--out", str(out)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, load, json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bodies", type=int, default=3000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--json", type=int, default=1000, help="reports in the JSON folder run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "compare_results.md")
    parser.add_argument("--work", type=Path, help="keep the database here, and use the one there if it is "
                        "(building it takes minutes)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="nianbao-bench-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        engine = store.connect(store.database_url(None, work))
        with engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(store.reports)).scalar_one()
        if not n:
            run_id = store.start_run(engine, {"command": "bench/compare.py"})
            for res in reports(args.bodies, args.years):
                store.save_result(engine, res, {}, run_id)
                n += 1
        engine.dispose()
        build_db = time.perf_counter() - t0
        for old in ("out-db", "out-json", "docs"):
            shutil.rmtree(work / old, ignore_errors=True)
        db_run = run_compare(str(work), work / "out-db")

        t0 = time.perf_counter()
        per_body = args.years
        docs = list(reports(args.json // per_body, per_body))
        write(work / "docs", docs)
        build_json = time.perf_counter() - t0
        json_run = run_compare(str(work / "docs"), work / "out-json")
        pages = len(list((work / "out-db" / "bodies").glob("*.html")))
        size = sum(p.stat().st_size for p in (work / "out-db").rglob("*") if p.is_file())
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    def line(label: str, run: tuple[float, float, float, dict]) -> str:
        wall, cpu, load, s = run
        pairs = s["pairs"]
        return (f"| {label} | {s['reports']} | {s['bodies']} | {pairs} | **{wall:.1f} s** ({cpu:.1f} s CPU; load "
                f"{load:.1f}) | {s['load_seconds']:.1f} s | {s['pair_seconds']:.1f} s "
                f"({1000 * s['pair_seconds'] / max(pairs, 1):.2f} ms a pair) | {1000 * wall / max(pairs, 1):.1f} ms |")

    text = f"""# `nianbao compare` benchmark

`bench/compare.py` on {platform.node() and 'this machine'} ({os.cpu_count()} CPUs, Python {platform.python_version()}),
{time.strftime('%Y-%m-%d')}. Synthetic reports as the extractor writes them (tests/compare_cases.py); the
database built by `flows.store.save_result` ({n} reports; {build_db:.0f} s, or found built by an earlier run),
the JSON folder in {build_json:.0f} s.
`nianbao compare` run in a fresh process and timed from outside (imports included). The
machine (2 cores) is shared with other work: wall-clock time grows with the load average,
CPU time hardly.

| source | reports | bodies | pairs | compare, in all (its CPU time; the load average as it started) | loading | the pairs (X2/X3, reuse, changes, their rows written) | in all, per pair |
| --- | --- | --- | --- | --- | --- | --- | --- |
{line("SQLite database (results also written to its compare_* tables)", db_run)}
{line("folder of per-document JSON", json_run)}

The rest of each run is writing: six tables as CSV and Parquet, the database's tables
(SQLite source), {pages} body pages and the index ({size / 1e6:.0f} MB of outputs for the database run).
Target: under a minute for 3 000 bodies × 3 years.
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
