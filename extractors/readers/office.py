"""DOC, WPS, RTF and ODT: LibreOffice converts them to DOCX, which the DOCX reader reads.

One soffice process per file, each with its own throw-away profile: soffice instances that
share a profile hand their work to whichever started first, or fail on its lock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from ..document import Document
from ..errors import ReadError
from .docx import read_docx_native
from .pictures import Loader, read_pictures
from .sniff import sniff_format

SOFFICE_TIMEOUT = float(os.environ.get("NIANBAO_SOFFICE_TIMEOUT", 120))

# The import filter is named, not detected: on a damaged file LibreOffice's detection falls
# back to importing the bytes as plain text and "succeeds". Kingsoft WPS files are Word
# binary documents (to LibreOffice, .wps would mean Microsoft Works).
_IMPORT = {"doc": ("input.doc", "MS Word 97"), "wps": ("input.doc", "MS Word 97"),
           "rtf": ("input.rtf", "Rich Text Format"), "odt": ("input.odt", "writer8")}


def read_office(path: Path) -> Document:
    doc, load = read_office_native(path)
    read_pictures(doc, load)
    return doc


def read_office_native(path: Path) -> tuple[Document, Loader]:
    """The text and tables of LibreOffice's DOCX of the file, the pictures not read yet."""
    path = Path(path)
    fmt = sniff_format(path)
    if fmt not in _IMPORT:
        raise ReadError("unsupported", f"{path.name}: not a DOC, WPS, RTF or ODT file ({fmt})")
    soffice = shutil.which("soffice")
    if soffice is None:
        raise ReadError("missing_tool", f"{path.name}: reading {fmt.upper()} files needs LibreOffice "
                        "(soffice) on PATH: apt-get install libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory(prefix="nianbao-soffice-") as tmp:
        tmp = Path(tmp)
        name, import_filter = _IMPORT[fmt]
        source = tmp / name
        shutil.copyfile(path, source)
        docx = _convert(soffice, source, import_filter, tmp, path.name)
        doc, load = read_docx_native(docx)
    doc.path = str(path)
    doc.format = fmt
    return doc, load


def _convert(soffice: str, source: Path, import_filter: str, tmp: Path, name: str) -> Path:
    out = tmp / "out"
    cmd = [soffice, f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--headless",
           "--norestore", "--nolockcheck", f"--infilter={import_filter}",
           "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(source)]
    # Own session, so a hung conversion can be killed with every process it started.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=SOFFICE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ReadError("corrupt", f"{name}: LibreOffice did not finish converting it within "
                        f"{SOFFICE_TIMEOUT:g} s") from None
    result = out / (source.stem + ".docx")
    if proc.returncode != 0 or not result.exists():
        raise ReadError("corrupt", f"{name}: LibreOffice could not convert it: "
                        f"{_soffice_message(stdout + stderr)}")
    return result


def _soffice_message(output: bytes) -> str:
    lines = [ln.strip() for ln in output.decode("utf-8", "replace").splitlines() if ln.strip()]
    # javaldx's warning is printed on every run and says nothing about the file.
    lines = [ln for ln in lines if "javaldx" not in ln]
    errors = [ln for ln in lines if "rror" in ln]
    return "; ".join(errors or lines[-1:]) or "no output file and no message"
