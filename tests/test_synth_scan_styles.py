"""The held-out scans' generator: each layout program sets each Debian CJK font (seen in
the pre-scan PDF's fonts), the varied scan styles stay in the ranges issue 13 names, and the
committed eval/unseen split covers every font, program and template. Rendering needs the
fonts, LibreOffice and Chromium (bash scripts/synth-deps.sh); without one, its cases skip."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from extractors.synth import generate
from extractors.synth.fonts import FAMILIES
from extractors.synth.scan import (FOLDS, WHITE, ScanStyle, degrade, random_style, scan_pdf,
                                   varied_style)
from extractors.synth.typeset import PROGRAMS, typeset, unavailable

UNSEEN = Path(__file__).resolve().parent.parent / "eval" / "unseen"

# What a PDF's font names show of each family, whichever program embedded it. LibreOffice
# names a Noto CJK face after the collection's shared CFF font (NotoSerifCJKjp-…) while it
# draws the SC face's glyphs, so for Noto only the design, serif or sans, is checked.
MARK = {"Noto Serif CJK SC": "notoserifcjk", "Noto Sans CJK SC": "notosanscjk",
        "AR PL UMing CN": "umingcn", "AR PL UKai CN": "ukaicn",
        "WenQuanYi Zen Hei": "wenquanyizenhei", "WenQuanYi Micro Hei": "wenquanyimicrohei"}


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def font_names(pdf: bytes) -> set[str]:
    """Every font's base name and its descriptor's FontName and FontFamily (Chromium draws
    CFF fonts as Type3 fonts, which have no base name), the descendant's for a Type0 font."""
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    names = set()
    for xref in {f[0] for page in doc for f in page.get_fonts()}:
        names.add(doc.xref_get_key(xref, "BaseFont")[1])
        kind, descendants = doc.xref_get_key(xref, "DescendantFonts")
        font = int(re.search(r"\d+", descendants).group()) if kind == "array" else xref
        kind, descriptor = doc.xref_get_key(font, "FontDescriptor")
        if kind == "xref":
            at = int(descriptor.split()[0])
            names |= {doc.xref_get_key(at, key)[1] for key in ("FontName", "FontFamily")}
    return {_squash(n) for n in names if n != "null"}


@pytest.mark.parametrize("font", FAMILIES)
@pytest.mark.parametrize("program", PROGRAMS)
def test_each_program_lays_the_report_out_in_the_chosen_font(program, font):
    if why := unavailable(program, font):
        pytest.skip(why)
    doc = typeset(5, "2021", program, font)
    names = font_names(doc.data)
    assert any(MARK[font] in n for n in names), names
    others = {f for f in FAMILIES if MARK[f] != MARK[font] and any(MARK[f] in n for n in names)}
    assert not others, f"fell back to {others}"
    text = pymupdf.open(stream=doc.data, filetype="pdf")[0].get_text()
    assert "政府信息公开" in text  # the page has the report's text, not missing-glyph boxes
    assert doc.gold == generate(5, "2021", "pdf", name=doc.name).gold


def test_varied_styles_fall_in_their_ranges():
    rng = np.random.default_rng(13)
    styles = [varied_style(rng) for _ in range(400)]
    assert all(150 <= s.dpi <= 300 and abs(s.skew) <= 2 and 50 <= s.jpeg_quality <= 90
               and s.fold in FOLDS and (s.shadow == 0 or 0.2 <= s.shadow <= 0.6)
               and all(180 <= c <= 255 for c in s.paper) for s in styles)
    assert {s.dpi for s in styles} == {150, 200, 240, 300}
    assert {s.colour for s in styles} == {False, True}
    assert {s.fold for s in styles if s.shadow} == set(FOLDS)
    assert any(s.paper != WHITE for s in styles) and any(s.paper == WHITE for s in styles)
    assert min(s.skew for s in styles) < -1.8 and max(s.skew for s in styles) > 1.8
    assert {min(s.jpeg_quality for s in styles), max(s.jpeg_quality for s in styles)} == {50, 90}


def test_eval_scans_styles_are_as_before():
    """eval/scans and the pictured tables draw from random_style: grey, white, no shadow."""
    rng = np.random.default_rng(0)
    for style in (random_style(rng) for _ in range(100)):
        assert style.dpi in (150, 175, 200) and abs(style.skew) <= 1.5
        assert 45 <= style.jpeg_quality < 90
        assert not style.colour and style.paper == WHITE and style.shadow == 0


def test_paper_tint_and_fold_shadow():
    white = np.full((100, 400), 255, np.uint8)
    rng = np.random.default_rng(0)
    tinted = degrade(np.dstack([white] * 3), ScanStyle(colour=True, paper=(240, 230, 200)), rng)
    assert tuple(tinted[50, 200]) == (200, 230, 240)  # BGR, as OpenCV holds it
    assert degrade(white, ScanStyle(paper=(240, 230, 200)), rng)[50, 200] == 230  # its luma
    for fold, darkest in (("left", 0), ("right", 399), ("middle", 200)):
        row = degrade(white, ScanStyle(shadow=0.5, fold=fold), rng)[50].astype(int)
        assert abs(int(np.argmin(row)) - darkest) <= 1 and row.min() <= 135
        assert row.max() >= 250  # away from the fold the page keeps its brightness
    assert np.array_equal(degrade(white, ScanStyle(), rng), white)


def test_colour_scans_hold_colour_jpegs_and_grey_ones_grey():
    doc = generate(3, "2019", "pdf")
    first = pymupdf.open(stream=doc.data, filetype="pdf")
    page = pymupdf.open()
    page.insert_pdf(first, to_page=0)
    for colour, channels in ((True, 3), (False, 1)):
        style = ScanStyle(dpi=150, colour=colour, paper=(245, 238, 220), shadow=0.4)
        scanned = pymupdf.open(stream=scan_pdf(page.tobytes(), style, seed=1), filetype="pdf")
        image = scanned.extract_image(scanned[0].get_images()[0][0])
        assert image["ext"] == "jpeg" and image["colorspace"] == channels
        assert not scanned[0].get_text().strip()


def test_committed_unseen_split_covers_every_font_program_and_template():
    manifest = json.loads((UNSEEN / "manifest.json").read_text(encoding="utf-8"))
    entries = manifest.values()
    assert {e["font"] for e in entries} == set(FAMILIES)
    assert {e["program"] for e in entries} == set(PROGRAMS)
    assert {e["template"] for e in entries} == {"2019", "2021"}
    assert 0.25 <= sum(bool(e["source_errors"]) for e in entries) / len(manifest) <= 0.4
    assert {e["style"]["colour"] for e in entries} == {False, True}
    dpis = [e["style"]["dpi"] for e in entries]
    assert min(dpis) == 150 and max(dpis) == 300
    for name, entry in manifest.items():
        gold = json.loads((UNSEEN / "gold" / f"{Path(name).stem}.json").read_text(encoding="utf-8"))
        assert gold["document"] == name and gold["template"] == entry["template"]
        assert [e["rule"] for e in gold["source_errors"]] == entry["source_errors"]
        pdf = pymupdf.open(UNSEEN / name)
        assert all(p.get_images() and not p.get_text().strip() for p in pdf), name
    assert sorted(manifest) == sorted(p.name for p in UNSEEN.glob("*.pdf"))
