"""Build eval/cases: synthetic reports with known gold, in every format the pipeline reads.

    .venv/bin/python eval/make_cases.py [--out eval/cases] [--n 40] [--seed 2026]

Reports come from `extractors.synth` (txt, HTML, DOCX, PyMuPDF-drawn PDF, a third of them
with injected source errors); some DOCX are then rendered by LibreOffice into PDF (the way
most portal PDFs are made) and into DOC, so those readers meet files a real word processor
wrote. Deterministic for a seed, apart from LibreOffice's own bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from extractors.synth import generate

FORMATS = ("txt", "html", "docx", "pdf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "cases")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--office", type=int, default=6, help="DOCX also rendered to PDF and DOC")
    args = parser.parse_args()
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
