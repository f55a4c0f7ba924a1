"""Decoding Chinese text whose encoding is not declared (or not to be trusted): a BOM, then
UTF-8 if the bytes are valid UTF-8, then detection that prefers the GB family."""

from __future__ import annotations

import codecs

import charset_normalizer

# Real files labelled GB2312 use GBK characters (镕, 堃); GB18030 decodes all of them.
GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "ms936", "x-gbk", "euc-cn", "x-euc-cn", "csgb2312",
             "gb_2312", "gb_2312-80", "chinese", "iso-ir-58", "windows-936"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_text(data: bytes) -> str:
    by_bom = decode_bom(data)
    return by_bom if by_bom is not None else detect_encoding(data)


def decode_bom(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    return None


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(data: bytes) -> str:
    if is_utf8(data):
        return data.decode("utf-8")
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return data.decode("gb18030", errors="replace")
    best = matches[0]
    # On short texts Big5, CP949 and GB18030 all decode cleanly and tie; these are mainland
    # reports, so a GB reading that is no more chaotic than the best one wins.
    gb = next((m for m in matches if codecs.lookup(m.encoding).name in GB_FAMILY), None)
    if gb is not None and gb.chaos <= best.chaos:
        return data.decode("gb18030", errors="replace")
    return str(best)
