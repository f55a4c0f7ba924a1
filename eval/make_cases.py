"""Build eval/cases and eval/scans: synthetic reports with known gold, in every format the
pipeline reads.

    .venv/bin/python eval/make_cases.py [--out eval/cases] [--n 40] [--seed 2026] [--scans 8]
    .venv/bin/python eval/make_cases.py --pictables [N]    # only eval/pictables, N=8
    .venv/bin/python eval/make_cases.py --unseen [N]       # only eval/unseen, N=12
    .venv/bin/python eval/make_cases.py --variants         # only eval/variants

Reports come from `extractors.synth` (txt, HTML, DOCX, PyMuPDF-drawn PDF, a third of them
with injected source errors); some DOCX are then rendered by LibreOffice into PDF (the way
most portal PDFs are made) and into DOC, so those readers meet files a real word processor
wrote. eval/scans holds image-only PDFs of other reports, rasterised at 150–200 dpi with skew
up to 1.5°, blur, noise and JPEG artefacts (one upside down). eval/pictables holds DOCX and
HTML reports whose tables (三's always) are pasted as pictures: clean PNG screenshots or
degraded JPEG photos, in HTML as data: URIs or as files in <stem>_files/.

eval/variants holds 2021 reports that keep older pieces of the table, as real reports of 2021
and later do: 三's single row （六）其他处理 (gold per the spec: `requests.other.*`, the sub-rows
null), 二 in template 2019's items and columns (the 2021 columns it lacks null), or both; in
txt, HTML, DOCX, PDF and LibreOffice's PDF of the DOCX, some with source errors.

eval/unseen is the held-out split no code change is tuned on, scored on its own: scans of
reports from other seeds, set in the CJK fonts Debian ships, laid out by PyMuPDF, LibreOffice
(from DOCX) or Chromium (printing the HTML page), scanned in the wider styles of
extractors.synth.scan.varied_style; eval/unseen/manifest.json says how each was made. It
needs the fonts, LibreOffice and Chromium: `bash scripts/synth-deps.sh` first.

Deterministic for a seed, apart from LibreOffice's and Chromium's own bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from extractors.synth import generate
from extractors.synth.fonts import FAMILIES
from extractors.synth.scan import random_style, scan_pdf, varied_style
from extractors.synth.typeset import office_convert, typeset, unavailable

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
    parser.add_argument("--unseen", type=int, nargs="?", const=len(_UNSEEN),
                        help="write only eval/unseen: the held-out split of N scans")
    parser.add_argument("--variants", action="store_true",
                        help="write only eval/variants: 2021 reports keeping older pieces")
    args = parser.parse_args()
    if args.variants:
        _variants(args.out.parent / "variants", args.seed)
        return
    if args.pictables is not None:
        _pictables(args.out.parent / "pictables", args.seed, args.pictables)
        return
    if args.unseen is not None:
        _unseen(args.out.parent / "unseen", args.seed, args.unseen)
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


# The held-out split: (program, font, template, dpi, colour, source errors). Each font twice,
# once per template and by two programs; each program four times, twice per template, in
# grey and colour; source errors in a third. Most at 150–200 dpi, as most real scans; one at
# 240 and one at 300 dpi, on short reports: a 300 dpi page is 0.4–0.6 MB of JPEG. The rest of
# each style (skew, blur, noise, JPEG quality, paper, shadow) is drawn by varied_style; a scan
# over _UNSEEN_BYTES is made again at lower JPEG quality (50 at least), as an office does to
# fit a portal's upload limit, so that the repository stays small.
_SERIF, _SANS, _UMING, _UKAI, _ZENHEI, _MICROHEI = FAMILIES
_UNSEEN = (
    ("pymupdf", _SERIF, "2019", 200, False, True),
    ("libreoffice", _SANS, "2021", 150, True, False),
    ("chromium", _UMING, "2021", 300, False, True),
    ("pymupdf", _SANS, "2019", 150, True, False),
    ("libreoffice", _UMING, "2019", 200, False, False),
    ("chromium", _SERIF, "2021", 150, True, False),
    ("pymupdf", _UKAI, "2021", 240, True, False),
    ("libreoffice", _UKAI, "2019", 150, False, True),
    ("chromium", _ZENHEI, "2019", 200, False, False),
    ("pymupdf", _MICROHEI, "2021", 200, True, False),
    ("libreoffice", _ZENHEI, "2021", 150, True, True),
    ("chromium", _MICROHEI, "2019", 200, False, False),
)
_UNSEEN_SEEDS = 900  # seeds seed+900…; cases use seed+0…, scans +500…, pictables +700…
_UNSEEN_BYTES = 600_000


def _unseen(out: Path, seed: int, n: int) -> None:
    """Scans no code change is tuned on (the table above; past it, the rows again with other
    seeds), with manifest.json: each file's program, font, seed and scan style."""
    why = sorted({w for p, f, *_ in _UNSEEN if (w := unavailable(p, f))})
    if why:
        raise SystemExit(f"cannot build {out}: {'; '.join(why)} (bash scripts/synth-deps.sh)")
    if out.exists():
        shutil.rmtree(out)
    (out / "gold").mkdir(parents=True)
    rng = np.random.default_rng([seed, _UNSEEN_SEEDS])
    manifest = {}
    for i in range(n):
        program, font, template, dpi, colour, errors = _UNSEEN[i % len(_UNSEEN)]
        doc_seed = seed + _UNSEEN_SEEDS + i
        doc = typeset(doc_seed, template, program, font, errors=errors, name=f"unseen{i:03d}.pdf")
        style = replace(varied_style(rng), dpi=dpi, colour=colour)
        scanned = scan_pdf(doc.data, style, seed=doc_seed)
        while len(scanned) > _UNSEEN_BYTES and style.jpeg_quality > 50:
            style = replace(style, jpeg_quality=max(50, style.jpeg_quality - 5))
            scanned = scan_pdf(doc.data, style, seed=doc_seed)
        doc.write(out)
        (out / doc.name).write_bytes(scanned)
        rules = [e["rule"] for e in doc.gold["source_errors"]]
        manifest[doc.name] = {"program": program, "font": font, "template": template,
                              "seed": doc_seed, "source_errors": rules, "style": asdict(style)}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                       encoding="utf-8")


# (format, older_other, older_active, 二's arrangement, source errors). Template 2021 each.
_VARIANTS = (
    ("txt", True, False, "single", ("R2",)),
    ("html", True, False, "split", False),
    ("docx", True, False, "single", True),
    ("pdf", True, False, "split", ("R3",)),
    ("txt", False, True, "single", False),
    ("html", False, True, "split", True),
    ("docx", False, True, "split", False),
    ("pdf", False, True, "single", True),
    ("txt", True, True, "split", ("R6",)),
    ("html", True, True, "single", False),
    ("docx", True, True, "single", ("R2",)),
    ("pdf", True, True, "split", False),
)
_VARIANT_SEEDS = 1100  # seeds seed+1100…; see _UNSEEN_SEEDS for the others


def _variants(out: Path, seed: int) -> None:
    """2021 reports keeping older pieces of the table (the table above), and LibreOffice's
    PDF of each DOCX where LibreOffice is installed."""
    if out.exists():
        shutil.rmtree(out)
    (out / "gold").mkdir(parents=True)
    office = not unavailable("libreoffice", "")
    for i, (fmt, older_other, older_active, active, errors) in enumerate(_VARIANTS):
        doc = generate(seed + _VARIANT_SEEDS + i, "2021", fmt, errors=errors,
                       name=f"variant{i:03d}.{fmt}", older_other=older_other,
                       older_active=older_active, active=active)
        doc.write(out)
        if fmt == "docx" and office:
            _convert(out / doc.name, "pdf", out)


def _convert(source: Path, target: str, out: Path) -> None:
    """DOCX → PDF or DOC through LibreOffice; the gold is the source's."""
    stem = f"{source.stem}_lo{target}"  # case002_lopdf.pdf, case002_lodoc.doc
    (out / f"{stem}.{target}").write_bytes(office_convert(source.read_bytes(), "docx", target))
    gold = json.loads((out / "gold" / f"{source.stem}.json").read_text(encoding="utf-8"))
    gold["document"] = f"{stem}.{target}"
    (out / "gold" / f"{stem}.json").write_text(json.dumps(gold, ensure_ascii=False, indent=1),
                                               encoding="utf-8")


if __name__ == "__main__":
    main()
