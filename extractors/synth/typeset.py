"""A synthetic report laid out as a PDF by one of the programs real reports come from:
PyMuPDF drawing it (the font embedded), LibreOffice converting the generator's DOCX (the
font named in the DOCX), or Chromium printing the generator's HTML page (the font in its
CSS). LibreOffice and Chromium run headless, in a private temporary profile, offline.

    doc = typeset(7, "2021", "chromium", "AR PL UKai CN", name="r.pdf")
    doc.data                    # the PDF; doc.gold as generate() gives it
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from extractors.synth import Synthetic, generate
from extractors.synth.fonts import missing

PROGRAMS = ("pymupdf", "libreoffice", "chromium")
_SOURCE = {"pymupdf": "pdf", "libreoffice": "docx", "chromium": "html"}
_COMMAND = {"libreoffice": "soffice", "chromium": "chromium"}
_TIMEOUT = 180  # seconds: a first start of either program with a fresh profile takes ~5


def unavailable(program: str, font: str) -> str | None:
    """Why `program` cannot lay out a report in `font` here, or None."""
    if program not in PROGRAMS:
        raise ValueError(f"program must be one of {PROGRAMS}")
    command = _COMMAND.get(program)
    if command and shutil.which(command) is None:
        return f"{command} is not installed"
    if packages := missing((font,)):
        return f"font {font!r} is not installed (apt-get install {' '.join(packages)})"
    return None


def typeset(seed: int, template: str, program: str, font: str,
            errors: bool | Sequence[str] = False, name: str | None = None,
            **choices: object) -> Synthetic:
    """generate()'s report in `font`, laid out by `program`; same gold. A browser gets a
    page in UTF-8, declared: the charset it would have from the portal's HTTP header."""
    if why := unavailable(program, font):
        raise RuntimeError(why)
    if program == "chromium":
        choices = {"charset": "utf-8", **choices}
    name = name or f"synth_{template}_{seed}_{program}.pdf"
    doc = generate(seed, template, _SOURCE[program], errors=errors, name=name, font=font,
                   **choices)
    if program == "libreoffice":
        return dataclasses.replace(doc, data=office_convert(doc.data, "docx", "pdf"))
    if program == "chromium":
        return dataclasses.replace(doc, data=chromium_pdf(doc.data))
    return doc


def office_convert(data: bytes, source: str, target: str) -> bytes:
    """`data` (a .`source` file) converted by LibreOffice to `target` (pdf, doc…)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, f"report.{source}")
        path.write_bytes(data)
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", target, "--outdir", tmp, str(path)],
                       check=True, capture_output=True, timeout=_TIMEOUT)
        return Path(tmp, f"report.{target}").read_bytes()


def chromium_pdf(html: bytes) -> bytes:
    """The page printed by headless Chromium from a file:// URL, no header or footer (the
    date and the temporary path would show). The page loads nothing from elsewhere, and
    background networking is off."""
    with tempfile.TemporaryDirectory() as tmp:
        page, pdf = Path(tmp, "page.html"), Path(tmp, "page.pdf")
        page.write_bytes(html)
        command = ["chromium", "--headless", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer",
                   f"--print-to-pdf={pdf}", page.as_uri()]
        if os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        subprocess.run(command, check=True, capture_output=True, timeout=_TIMEOUT)
        return pdf.read_bytes()
