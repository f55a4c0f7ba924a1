"""The CJK fonts Debian ships, as the programs that lay out a report find them.

A font is named by its family, the name LibreOffice (from a DOCX's w:rFonts) and Chromium
(from CSS font-family) ask fontconfig for; PyMuPDF needs the face itself, cut out of the
.ttc collection Debian installs (MuPDF always loads a collection's first face, which for
Noto CJK is the Japanese one).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class CjkFont:
    family: str   # fontconfig's family name
    package: str  # the Debian package that ships it


FONTS = (
    CjkFont("Noto Serif CJK SC", "fonts-noto-cjk"),
    CjkFont("Noto Sans CJK SC", "fonts-noto-cjk"),
    CjkFont("AR PL UMing CN", "fonts-arphic-uming"),
    CjkFont("AR PL UKai CN", "fonts-arphic-ukai"),
    CjkFont("WenQuanYi Zen Hei", "fonts-wqy-zenhei"),
    CjkFont("WenQuanYi Micro Hei", "fonts-wqy-microhei"),
)
FAMILIES = tuple(f.family for f in FONTS)


@dataclass(frozen=True)
class Installed:
    file: Path
    index: int  # the face inside a .ttc


@cache
def installed(family: str) -> Installed | None:
    """Where fontconfig has `family`'s regular face; None when it is not installed
    (fc-match would name a fallback instead)."""
    if shutil.which("fc-match") is None:
        return None
    found = subprocess.run(["fc-match", "--format", "%{file}\t%{index}\t%{family}",
                            f"{family}:style=Regular"],
                           capture_output=True, text=True, check=False).stdout.split("\t")
    if len(found) != 3 or family not in found[2].split(","):
        return None
    return Installed(Path(found[0]), int(found[1]))


def missing(families: tuple[str, ...] = FAMILIES) -> list[str]:
    """The Debian packages to install for `families`."""
    return sorted({f.package for f in FONTS if f.family in families and not installed(f.family)})


@cache
def face_bytes(family: str) -> bytes:
    """The family's face as a stand-alone font file that PyMuPDF can embed."""
    where = installed(family)
    if where is None:
        raise LookupError(f"font {family!r} is not installed (apt-get install "
                          f"{' '.join(missing((family,))) or 'it'})")
    data = where.file.read_bytes()
    return _one_face(data, where.index) if data[:4] == b"ttcf" else data


def _one_face(collection: bytes, index: int) -> bytes:
    """Face `index` of a TrueType/OpenType collection as an sfnt of its own: its table
    directory rewritten to point at copies of the tables it uses. Table checksums stay
    right (the tables are unchanged); head's whole-file checksum is not recomputed, and
    font renderers ignore it."""
    count = struct.unpack_from(">I", collection, 8)[0]
    if not 0 <= index < count:
        raise ValueError(f"face {index} of a collection of {count}")
    start = struct.unpack_from(">I", collection, 12 + 4 * index)[0]
    ntables = struct.unpack_from(">H", collection, start + 4)[0]
    records = [struct.unpack_from(">4sIII", collection, start + 12 + 16 * i)
               for i in range(ntables)]
    header = bytearray(collection[start:start + 12])
    body = bytearray()
    offset = 12 + 16 * ntables
    for tag, checksum, at, length in records:
        header += struct.pack(">4sIII", tag, checksum, offset + len(body), length)
        body += collection[at:at + length]
        body += b"\0" * (-len(body) % 4)  # tables start on 4-byte boundaries
    return bytes(header + body)
