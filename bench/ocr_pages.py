"""Benchmark: seconds per scanned page on one core at 200 dpi, with and without the table
step; the time the template's arithmetic takes to settle OCR's candidates (the rule step),
and its share of a page; and proof that text-layer pages are never OCR'd.

    .venv/bin/python bench/ocr_pages.py [--out bench/ocr_results.md]

Scanned pages: every page of eval/scans (synthetic reports rasterised at 150–200 dpi with
skew, blur, noise and JPEG artefacts). Text-layer pages: every page of the PDFs in
eval/cases, read through the normal PDF reader with OCR counted.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, before onnxruntime
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pymupdf  # noqa: E402  (after pinning the core)

import extractors.ocr as ocr  # noqa: E402
from extractors.readers import read  # noqa: E402
from extractors.readers.pdf import read_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def time_scans(engine, tables: bool) -> tuple[int, float]:
    pages, seconds = 0, 0.0
    for path in sorted((ROOT / "eval" / "scans").glob("*.pdf")):
        with pymupdf.open(path) as pdf:
            for page in pdf:
                start = time.perf_counter()
                ocr.read_page(page, engine, tables=tables)
                seconds += time.perf_counter() - start
                pages += 1
    return pages, seconds


def time_settling() -> tuple[int, float]:
    """Pages of eval/scans read whole, and the seconds the rule step took over them."""
    import extractors.template as template

    real, spent = template.settle_by_rules, 0.0

    def timed(*args, **kwargs):
        nonlocal spent
        start = time.perf_counter()
        real(*args, **kwargs)
        spent += time.perf_counter() - start

    template.settle_by_rules = timed
    try:
        pages = 0
        for path in sorted((ROOT / "eval" / "scans").glob("*.pdf")):
            doc = read_pdf(path)
            pages += doc.pages
            template.extract_fields(doc)
    finally:
        template.settle_by_rules = real
    return pages, spent


def count_ocr_on_text_pages() -> tuple[int, int, int]:
    calls = 0
    real = ocr.read_page

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    ocr.read_page = counting
    try:
        pages = documents = 0
        for path in sorted((ROOT / "eval" / "cases").glob("*.pdf")):
            pages += read_pdf(path).pages
        # DOCX and HTML reports without pictures: no picture of theirs goes to OCR either
        for path in sorted((ROOT / "eval" / "cases").glob("*.*")):
            if path.suffix in (".docx", ".html"):
                read(path)
                documents += 1
    finally:
        ocr.read_page = real
    return pages, documents, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ocr_results.md")
    args = parser.parse_args()
    engine = ocr.get_engine()
    time_scans(engine, True)  # warm-up: model load and first-run allocations
    pages, with_tables = time_scans(engine, True)
    _, without = time_scans(engine, False)
    _, settling = time_settling()
    text_pages, other_docs, ocr_calls = count_ocr_on_text_pages()
    lines = [
        "# Benchmark: OCR of scanned pages (one core)",
        "",
        f"{pages} scanned pages of eval/scans, rendered at 200 dpi, engine `{type(engine).__name__}`.",
        "",
        "| step | seconds per page |",
        "| --- | --- |",
        f"| OCR with the table step (rules → grid → cells read line by line) | {with_tables / pages:.2f} |",
        f"| OCR without it (every line detected and read as text) | {without / pages:.2f} |",
        f"| the rule step: OCR's candidates settled by the template's arithmetic | "
        f"{settling / pages:.5f} ({1000 * settling:.1f} ms over the {pages} pages; "
        f"{100 * settling / with_tables:.3f} % of their OCR) |",
        "",
        f"Text-layer pages read through the PDF reader: {text_pages}, and {other_docs} DOCX/HTML "
        f"reports; pages or pictures OCR'd among them: {ocr_calls}.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
