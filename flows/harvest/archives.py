"""Unpacking a ZIP attachment safely: portals zip a report with its annexes, and a ZIP from
outside may hold `../` paths, absolute paths, links, or a few KB that inflate to gigabytes.

Nothing is extracted by the archive's own paths: each member's bytes are streamed into a
temp file the caller stores by content hash, so no path in the archive can point anywhere.
Members are read with a running byte count (the sizes in the header are the archive's word,
not a fact), under a cap per member, in total, and in number.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 200
MAX_MEMBER_BYTES = 200 * 1024 ** 2
MAX_TOTAL_BYTES = 1024 ** 3


@dataclass
class Member:
    name: str  # as the archive names it, decoded (GBK names too)
    path: Path | None  # a temp file with its bytes; None when skipped
    size: int = 0
    sha256: str | None = None  # of its bytes, hashed as they were written
    skipped: str | None = None  # why it was not unpacked


def members(archive: Path, workdir: Path) -> Iterator[Member]:
    total = 0
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for index, info in enumerate(infos):
            name = _name(info)
            if info.is_dir():
                continue
            if index >= MAX_MEMBERS:
                yield Member(name, None, skipped=f"more than {MAX_MEMBERS} members")
                continue
            why = _unsafe(info, name)
            if why:
                yield Member(name, None, skipped=why)
                continue
            member = _extract(zf, info, name, workdir, MAX_TOTAL_BYTES - total)
            total += member.size
            yield member


def _name(info: zipfile.ZipInfo) -> str:
    """Chinese Windows zips names in GBK without saying so; Python reads them as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _unsafe(info: zipfile.ZipInfo, name: str) -> str | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":"):
        return "path outside the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    return None


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, workdir: Path, room: int) -> Member:
    limit = min(MAX_MEMBER_BYTES, room)
    fd, tmp = tempfile.mkstemp(dir=workdir, prefix=".member-", suffix=".part")
    size, digest = 0, hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, zf.open(info) as src:
            while chunk := src.read(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise _TooLarge()
                digest.update(chunk)
                out.write(chunk)
    except _TooLarge:
        os.unlink(tmp)
        return Member(name, None, size, skipped=f"inflates past {limit} bytes")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as err:
        os.unlink(tmp)
        return Member(name, None, size, skipped=f"unreadable: {err}")
    return Member(name, Path(tmp), size, digest.hexdigest())


class _TooLarge(Exception):
    pass
