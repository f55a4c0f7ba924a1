"""Benchmark: `nianbao extract` on text-layer PDFs against PyMuPDF's own get_text, in one run.

    .venv/bin/python bench/pdf_extract.py [--n 40] [--out bench/results.md]

Measures, on the same files:
- PyMuPDF baseline: open the file and `get_text()` every page;
- the extraction itself (`extract_file`: read → extract → check → flag), in-process;
- `nianbao extract` end to end (Prefect flow, outputs written), minus the one-off Prefect
  start-up, which is measured alone on an empty input;
- peak memory of extracting a 300-page PDF, in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fitz

from extractors.pipeline import extract_file
from extractors.synth import generate

ROOT = Path(__file__).resolve().parent.parent
NIANBAO = Path(sys.executable).with_name("nianbao")


def make_corpus(folder: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        doc = generate(1000 + i, ("2019", "2021")[i % 2], "pdf", errors=(i % 3 == 0), name=f"b{i:03d}.pdf")
        path = folder / doc.name
        path.write_bytes(doc.data)
        paths.append(path)
    # PDFs a word processor wrote (LibreOffice), as most portals publish them.
    paths += sorted((ROOT / "eval" / "cases").glob("*_lopdf.pdf"))
    return paths


def time_get_text(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with fitz.open(path) as pdf:
            for page in pdf:
                page.get_text()
    return time.perf_counter() - start


def time_extract(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        extract_file(path)
    return time.perf_counter() - start


def time_cli(inputs: list[Path], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([str(NIANBAO), "extract", *map(str, inputs), "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def make_long_pdf(path: Path, pages: int) -> None:
    """A real report followed by pages of prose: the size of a long annual report."""
    report = fitz.open(stream=generate(7, "2021", "pdf").data, filetype="pdf")
    filler = fitz.open()
    text = "本年度，我单位坚持以公开为常态、不公开为例外，持续推进政务公开标准化规范化建设。" * 12
    for _ in range(pages - report.page_count):
        page = filler.new_page()
        page.insert_textbox(fitz.Rect(72, 72, 523, 770), text, fontname="china-s", fontsize=11)
    report.insert_pdf(filler)
    report.save(path)


def peak_memory_mb(path: Path) -> float:
    code = ("import resource, sys; from extractors.pipeline import extract_file; "
            "r = extract_file(sys.argv[1]); assert r.status == 'ok', r.error; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return int(out.stdout.strip()) / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="synthetic PDFs (plus eval/cases *_lopdf.pdf)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus"
        corpus.mkdir()
        paths = make_corpus(corpus, args.n)
        pages = sum(fitz.open(p).page_count for p in paths)
        get_text = min(time_get_text(paths) for _ in range(3))
        extract = min(time_extract(paths) for _ in range(3))
        empty = tmp / "empty"
        empty.mkdir()
        startup = time_cli([empty], tmp / "out-empty")
        cli = time_cli([corpus], tmp / "out")
        long_pdf = tmp / "long.pdf"
        make_long_pdf(long_pdf, 300)
        memory = peak_memory_mb(long_pdf)
    n = len(paths)
    per_doc = (cli - startup) / n
    lines = [
        "# Benchmark: text-layer PDFs",
        "",
        f"Machine: {os.cpu_count()} cores; {n} PDFs, {pages} pages "
        f"({args.n} drawn by PyMuPDF, {n - args.n} written by LibreOffice). Best of 3 for the in-process timings.",
        "",
        "| measure | total | per document | vs get_text |",
        "| --- | --- | --- | --- |",
        f"| PyMuPDF open + get_text() of every page | {get_text:.3f} s | {get_text / n * 1000:.1f} ms | 1.0× |",
        f"| extraction in-process (read → extract → check → flag) | {extract:.3f} s | {extract / n * 1000:.1f} ms | {extract / get_text:.1f}× |",
        f"| `nianbao extract` end to end, less Prefect start-up | {cli - startup:.2f} s | {per_doc * 1000:.1f} ms | {(cli - startup) / get_text:.1f}× |",
        f"| Prefect start-up (one-off, `nianbao extract` of an empty folder) | {startup:.2f} s | | |",
        "",
        f"Prefect and output overhead per document: {(per_doc - extract / n) * 1000:.1f} ms, "
        f"{(per_doc - extract / n) / (extract / n) * 100:.0f} % of extraction time.",
        "",
        f"Peak memory extracting a 300-page PDF in a fresh process: {memory:.0f} MB.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
