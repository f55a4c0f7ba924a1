"""Build eval/cases and eval/scans: synthetic reports with known gold, in every format the
pipeline reads.

    .venv/bin/python eval/make_cases.py [--out eval/cases] [--n 40] [--seed 2026] [--scans 8]
    .venv/bin/python eval/make_cases.py --pictables [N]    # only eval/pictables, N=8

Reports come from `extractors.synth` (txt, HTML, DOCX, PyMuPDF-drawn PDF, a third of them
with injected source errors); some DOCX are then rendered by LibreOffice into PDF (the way
most portal PDFs are made) and into DOC, so those readers meet files a real word processor
wrote. eval/scans holds image-only PDFs of other reports, rasterised at 150–200 dpi with skew
up to 1.5°, blur, noise and JPEG artefacts (one upside down). eval/pictables holds DOCX and
HTML reports whose tables (三's always) are pasted as pictures: clean PNG screenshots or
degraded JPEG photos, in HTML as data: URIs or as files in <stem>_files/. Deterministic for a
seed, apart from LibreOffice's own bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from extractors.synth import generate
from extractors.synth.scan import random_style, scan_pdf

FORMATS = ("txt", "html", "docx", "pdf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "cases")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--office", type=int, default=6, help="DOCX also rendered to PDF and DOC")
    parser.add_argument("--scans", type=int, default=8, help="scanned PDFs written to eval/scans")
    parser.add_argument("--pictables", type=int, nargs="?", const=len(_PICTABLES),
                        help="write only eval/pictables: N reports with tables as pictures")
    args = parser.parse_args()
    if args.pictables is not None:
        _pictables(args.out.parent / "pictables", args.seed, args.pictables)
        return
    if args.out.exists():
        shutil.rmtree(args.out)
    (args.out / "gold").mkdir(parents=True)
    docx_made: list[Path] = []
    for i in range(args.n):
        fmt = FORMATS[i % len(FORMATS)]
        template = ("2019", "2021")[(i // len(FORMATS)) % 2]
        doc = generate(args.seed + i, template, fmt, errors=(i % 3 == 0), name=f"case{i:03d}.{fmt}")
        doc.write(args.out)
        if fmt == "docx":
            docx_made.append(args.out / f"case{i:03d}.docx")
    for target in ("pdf", "doc"):
        for source in docx_made[: args.office]:
            _convert(source, target, args.out)
    _scans(args.out.parent / "scans", args.seed, args.scans)


def _scans(out: Path, seed: int, n: int) -> None:
    """Image-only PDFs of synthetic reports, degraded as scans are (issue 3's cases)."""
    if out.exists():
        shutil.rmtree(out)
    (out / "gold").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        doc = generate(seed + 500 + i, ("2019", "2021")[i % 2], "pdf", errors=(i % 3 == 0),
                       name=f"scan{i:03d}.pdf")
        style = random_style(rng)
        if i == n - 1:
            style = replace(style, upside_down=True)
        doc.write(out)
        (out / doc.name).write_bytes(scan_pdf(doc.data, style, seed=i))


# (template, format, picture_format, picture_src, tables as pictures, source errors: the rules
# to break, or True for random ones). 001 breaks R2 inside the pictured 三.
_PICTABLES = (
    ("2019", "docx", "png", "data", ("requests",), False),
    ("2021", "docx", "jpeg", "data", ("requests",), ("R2",)),
    ("2021", "html", "png", "data", ("requests",), False),
    ("2019", "html", "jpeg", "file", ("requests",), False),
    ("2021", "docx", "png", "data", ("requests", "appeals"), False),
    ("2019", "html", "png", "file", ("requests", "appeals"), True),
    ("2019", "docx", "jpeg", "data", ("active", "requests"), False),
    ("2021", "html", "jpeg", "data", ("requests", "appeals"), False),
)


def _pictables(out: Path, seed: int, n: int) -> None:
    """Reports whose template tables are pictures, as many portals publish them; past the
    eight variants above they repeat with other seeds."""
    if out.exists():
        shutil.rmtree(out)
    (out / "gold").mkdir(parents=True)
    for i in range(n):
        template, fmt, kind, src, tables, errors = _PICTABLES[i % len(_PICTABLES)]
        doc = generate(seed + 700 + i, template, fmt, errors=errors, name=f"pictable{i:03d}.{fmt}",
                       picture_tables=tables, picture_format=kind, picture_src=src)
        doc.write(out)


def _convert(source: Path, target: str, out: Path) -> None:
    """DOCX → PDF or DOC through LibreOffice; the gold is the source's."""
    stem = f"{source.stem}_lo{target}"  # case002_lopdf.pdf, case002_lodoc.doc
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", target, "--outdir", tmp, str(source)],
                       check=True, capture_output=True, timeout=180)
        shutil.move(Path(tmp) / f"{source.stem}.{target}", out / f"{stem}.{target}")
    gold = json.loads((out / "gold" / f"{source.stem}.json").read_text(encoding="utf-8"))
    gold["document"] = f"{stem}.{target}"
    (out / "gold" / f"{stem}.json").write_text(json.dumps(gold, ensure_ascii=False, indent=1),
                                               encoding="utf-8")


if __name__ == "__main__":
    main()
