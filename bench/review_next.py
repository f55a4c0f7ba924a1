"""Benchmark: how long the review app takes to open the next flagged field, on a database of
1 000 reports.

    .venv/bin/python bench/review_next.py [--n 1000] [--decisions 200] [--out bench/review_results.md]

The database holds synthetic reports (txt, HTML, DOCX, PDF in turn, both templates, a third
of them with source errors planted), extracted and saved as `nianbao run` saves them. Then
`nianbao review` is started as a user starts it, and over real HTTP a reviewer's loop is
timed: post a decision, follow the redirect to the next field, load its page; then its
evidence image where it has one (the browser fetches that beside the page).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
NIANBAO = Path(sys.executable).with_name("nianbao")
FORMATS = ("txt", "html", "docx", "pdf")


def _extract(args: tuple[Path, int]) -> tuple[str, str]:
    from extractors.pipeline import extract_file
    from extractors.synth import generate

    folder, i = args
    fmt = FORMATS[i % len(FORMATS)]
    report = generate(5000 + i, ("2019", "2021")[i % 2], fmt, errors=i % 3 == 0)
    path = folder / f"{i}.{fmt}"
    path.write_bytes(report.data)
    return str(path), extract_file(path).model_dump_json()


def build(folder: Path, n: int) -> None:
    from extractors.result import DocumentResult
    from flows import store

    raw = folder / "raw"
    raw.mkdir(parents=True)
    engine = store.connect(store.database_url(None, folder))
    run_id = store.start_run(engine, {"command": "bench"})
    with Pool(os.cpu_count()) as pool:
        for path, data in pool.imap_unordered(_extract, ((raw, i) for i in range(n)), chunksize=20):
            store.save_result(engine, DocumentResult.model_validate_json(data), {"raw_path": path}, run_id)
    engine.dispose()


def review_loop(folder: Path, decisions: int) -> dict:
    proc = subprocess.Popen([str(NIANBAO), "review", str(folder), "--port", "0", "--reviewer", "bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        base = re.search(r"http://[\d.]+:\d+", line).group(0)
        flagged = int(re.search(r"(\d+) flagged fields", line).group(1))
        with httpx.Client(base_url=base, timeout=30) as client:
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)
            page = client.get("/next", follow_redirects=True)
            opened, images = [], []
            for _ in range(decisions):
                rid = re.search(r'name="report_id" value="(\d+)"', page.text).group(1)
                key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
                start = time.perf_counter()
                page = client.post("/decide", data={"csrf": token, "report_id": rid, "key": key,
                                                    "action": "accept"}, follow_redirects=True)
                opened.append(time.perf_counter() - start)
                if page.status_code != 200 or 'id="field-key"' not in page.text:
                    break
                if image := re.search(r'id="evidence-image" src="([^"]+)"', page.text):
                    start = time.perf_counter()
                    client.get(image.group(1)).raise_for_status()
                    images.append(time.perf_counter() - start)
        return {"flagged": flagged, "opened": opened, "images": images}
    finally:
        proc.terminate()
        proc.wait()


def _stats(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    if not ms:
        return "none"
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms ({len(ms)} times)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "bench" / "review_results.md"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nianbao-bench-review-"))
    try:
        t = time.perf_counter()
        build(work, args.n)
        built = time.perf_counter() - t
        result = review_loop(work, args.decisions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "# Opening the next flagged field in `nianbao review`",
        "",
        f"`bench/review_next.py --n {args.n} --decisions {args.decisions}`, {os.cpu_count()} CPUs. "
        f"{args.n} synthetic reports (txt, HTML, DOCX, PDF in turn; a third with source errors) in a SQLite "
        f"database, built in {built:.0f} s (not counted): {result['flagged']} flagged fields. Over real HTTP to "
        "`nianbao review`, one reviewer's loop:",
        "",
        "| step | time |",
        "| --- | --- |",
        f"| post a decision, follow the redirect, load the next field's page (target ≤ 300 ms) | "
        f"{_stats(result['opened'])} |",
        f"| that field's evidence image, where it has one (fetched beside the page) | {_stats(result['images'])} |",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
