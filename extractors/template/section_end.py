"""Where a text section's body ends, and what inside it is not the report's text.

A section runs to the next heading in the document, but what a reader hands over after the
last section's text is rarely more report: a web page's footer and navigation, the labels a
chart leaves in a PDF's text layer, what OCR made of a picture. Each line is judged by what it
is, not by a list of known strings:

- page furniture ends the section (it and all after it are dropped): what the reader found in
  a page's footer, navigation or header; a registration number in its legal format (…ICP备
  12345678号, …公网安备 …号, 网站标识码 …), a copyright notice, a screen resolution, a row of
  several `label：value` pairs (主办单位：… 承办单位：…, 发布时间：… 浏览次数：…);
- residue is dropped where it stands: lines of Latin letters and symbols with next to no
  Chinese (OCR of pictures), tab-separated rows and Sheet names (charts pasted from Excel), a
  chart's labels (short words spaced apart in a row, a label with a count in brackets: …情况
  (17件), numbers and percentages alone), file names and link lines, and the title or caption
  line right beside a chart, a picture or a table;
- the closing parts of a document (附件 note, the body's name over the date) end it;
- short lines that are none of these, after the section's last sentence, are kept, and the
  field is flagged with a reason saying which lines are in doubt.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..document import Block
from .meta import is_agency_line, is_date_line

_MARKER = re.compile(r"\[(?:bookmark|image|图片|chart)[^\]]*\]", re.I)
_PICTURE_MARKER = re.compile(r"\[(?:image|图片|chart)[^\]]*\]", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SENTENCE_END = re.compile(r"[。！？；!?;]")
_SENTENCE_PUNCT = re.compile(r"[。；;，,：:！？]")
_NUMBERED = re.compile(r"^[(（]?[\d一二三四五六七八九十]+[)）、.．]|^[一二三四五六七八九十]是")
_NUMBER_ONLY_HEADING = re.compile(r"^[(（][\d一二三四五六七八九十]+[)）]$|^[\d一二三四五六七八九十]+[、.．]$")

# Page furniture, by the legal or technical form it has wherever it is printed.
_REGISTRATION = re.compile(r"ICP[备证]\s*\d|ICP[备证]?\s*[:：]?\s*\d{6,}|公网安备\s*\d|网站标识码\s*[:：]?\s*[0-9A-Za-z]")
_COPYRIGHT = re.compile(r"版权所有|©|\(c\)\s*\d{4}|copyright|all rights reserved", re.I)
_RESOLUTION = re.compile(r"(?<!\d)\d{3,4}\s*[×xX*]\s*\d{3,4}(?!\d)")
# `label：value` as a web page prints its metadata and footer: a short label, its value, then
# another label after a space; a sentence separates such pairs with punctuation instead.
_PAIR = re.compile(r"(?:^|\s)[\u4e00-\u9fff]{2,6}\s*[：:]\s*\S")

# Residue
_SHEET = re.compile(r"sheet\d*|图表\s*\d*|系列\s*\d+", re.I)
_COUNT_LABEL = re.compile(r"^[^。；;，,：:]{2,30}[(（]\s*\d+(?:\.\d+)?\s*[%％件个条项次人家宗]?\s*[)）]$")
_FIGURES_ONLY = re.compile(r"^[\d\s.,，%％:：/()（）+\-件个条项次]+$")
_FILE_NAME = re.compile(r"\.(?:pdf|docx?|wps|xlsx?|et|zip|rar|7z|ofd|jpe?g|png)\b", re.I)
_ATTACHMENT = re.compile(r"^附件\s*[:：\d一二三四五六七八九十]")
_BUTTONS = re.compile(r"^(?:\s*[【\[〖][^】\]〗]{1,8}[】\]〗]\s*)+$")
# Symbols OCR makes of picture edges; text has them rarely, and never several in a few words.
_ODD = re.compile(r"[|=@&^~\[\]{}<>#]")
_LATIN_RUN = re.compile(r"[^\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]{10,}")


@dataclass
class SectionBody:
    text: str | None
    doubt: str | None = None  # why the field goes to review: what in its tail is not sure


@dataclass
class _Line:
    text: str
    kind: str  # text | residue | end | outside | picture
    joins_next: bool = False  # cut at its end where a picture stood: the sentence goes on


def section_body(blocks: list[Block], inline_text: str = "", marks: bool = True) -> SectionBody:
    """`marks`: whether to believe the reader's furniture marks (not where they hold a heading)."""
    lines = _to_end(_lines(blocks, inline_text, marks))
    _titles_beside_residue(lines)
    kept = _without_closing([ln for ln in lines if ln.kind in ("text", "outside")])
    text = _join(kept)
    return SectionBody(text or None, _doubtful_tail(kept) if text else None)


def _lines(blocks: list[Block], inline_text: str, marks: bool) -> list[_Line]:
    out: list[_Line] = []
    if inline_text:
        out.append(_Line(inline_text, "text"))
    for block in blocks:
        if block.paragraph is None:  # a table or picture inside a text section is residue
            out.append(_Line("", "picture"))
            continue
        furniture = block.paragraph.furniture if marks else None
        for raw in block.paragraph.text.split("\n"):
            text, cut = _without_picture_text(raw)
            if not text:
                continue
            if furniture == "chrome":
                kind = "end"
            elif furniture == "links":
                kind = "residue"
            else:
                kind = line_kind(text)
                if furniture == "outside" and kind == "text":
                    kind = "outside"
            out.append(_Line(text, kind, joins_next=cut and not _SENTENCE_END.search(text[-1:])))
    return out


def _without_picture_text(line: str) -> tuple[str, bool]:
    """The line without markers and without what OCR made of a picture inside it: the Latin
    letters and symbols after a picture marker (to the line's end, where text dumps put a
    picture's OCR, or reading as no words), or such a run anywhere that reads as no words.
    Also whether such text was cut at the line's end."""
    cut_end = False
    m = _PICTURE_MARKER.search(line)
    while m:
        rest = line[m.end():]
        junk = re.match(r"[^\u4e00-\u9fff]*", rest).group(0)
        if re.search(r"[A-Za-z|=@]", junk) and (len(junk) == len(rest) or _is_junk(junk)):
            cut_end = cut_end or len(junk) == len(rest)
            line = line[:m.start()] + rest[len(junk):]
        else:
            line = line[:m.start()] + rest
        m = _PICTURE_MARKER.search(line)
    line = _MARKER.sub("", line)
    for run in reversed(list(_LATIN_RUN.finditer(line))):
        if _is_junk(run.group(0)) and _CJK.search(line[:run.start()]):
            cut_end = cut_end or not line[run.end():].strip()
            line = line[:run.start()] + line[run.end():]
    return line.strip(), cut_end


def _is_junk(run: str) -> bool:
    tokens = run.split()
    return len(tokens) >= 3 and len(_ODD.findall(run)) >= 2


def line_kind(line: str) -> str:
    """text, residue (dropped where it stands) or end (page furniture: the section ends)."""
    flat = unicodedata.normalize("NFKC", line)
    if _REGISTRATION.search(flat) or _COPYRIGHT.search(flat) or _RESOLUTION.search(flat):
        return "end"
    if len(_PAIR.findall(flat)) >= 2 and not _SENTENCE_END.search(flat):
        return "end"
    if _NUMBER_ONLY_HEADING.match(flat.strip()):
        return "text"
    if "\t" in line or _SHEET.fullmatch(flat.strip()) or _BUTTONS.match(flat):
        return "residue"
    if _COUNT_LABEL.match(flat.strip()) or _FIGURES_ONLY.match(flat):
        return "residue"
    if _FILE_NAME.search(flat) and len(flat) <= 60 and not _SENTENCE_END.search(flat):
        return "residue"
    if _spaced_words(flat):
        return "residue"
    cjk = len(_CJK.findall(flat))
    # OCR of an embedded picture: Latin letters and symbols with next to no Chinese.
    return "residue" if cjk == 0 or (cjk <= 2 and len(flat) >= 8) else "text"


def _spaced_words(line: str) -> bool:
    """A row of short words spaced apart, no sentence: a chart's axis or legend, a menu."""
    if _SENTENCE_PUNCT.search(line) or _NUMBERED.match(line.strip()):
        return False
    words = line.split()
    if len(words) >= 3 and all(len(w) <= 8 for w in words):
        return True
    return len(words) == 2 and all(len(w) <= 6 and not re.search(r"\d", w) for w in words)


def _to_end(lines: list[_Line]) -> list[_Line]:
    """The lines before the first page furniture. The lines just above it that belong with it
    (a single `label：value`, a date, links, residue) go with it; a line after the article
    that is a sentence stays, in doubt."""
    end = next((i for i, ln in enumerate(lines) if ln.kind == "end"
                or ln.kind == "outside" and not _is_sentence(ln.text)), None)
    if end is None:
        return lines
    while end > 0 and (lines[end - 1].kind in ("residue", "picture")
                       or _PAIR.search(unicodedata.normalize("NFKC", lines[end - 1].text))
                       and not _is_sentence(lines[end - 1].text)):
        end -= 1
    return lines[:end]


def _titles_beside_residue(lines: list[_Line]) -> None:
    """A chart's or picture's title line sits right before it (a run of title-like labels
    too), its caption right after it: each goes with it. A numbered line is a sub-heading, not
    a title; and a section is never left without text by this."""
    titles = set()
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i]
        if ln.kind != "text" or not _is_title_like(ln.text):
            continue
        after = "residue" if i + 1 in titles else lines[i + 1].kind if i + 1 < len(lines) else None
        if after in ("residue", "picture") or i > 0 and lines[i - 1].kind == "picture":
            titles.add(i)
    if any(ln.kind == "text" and i not in titles for i, ln in enumerate(lines)):
        for i in titles:
            lines[i].kind = "residue"


def _is_title_like(line: str) -> bool:
    return len(line) <= 40 and not _SENTENCE_PUNCT.search(line) and not _NUMBERED.match(line)


def _is_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line)) or (len(line) >= 30 and bool(re.search(r"[，,、]", line)))


def _without_closing(lines: list[_Line]) -> list[_Line]:
    """The body of an official document ends where its closing parts begin (GB/T 9704, the
    format of 公文): the attachment note (附件：1.…), the issuing body's name over the date,
    a note in brackets under it ((此件公开发布)). After the last sentence, the first of these
    ends the section; they are the report's, not its last section's (meta.py reads the
    signature)."""
    last = max((i for i, ln in enumerate(lines) if _is_sentence(ln.text)), default=-1)
    for i in range(last + 1, len(lines)):
        text = lines[i].text
        if _ATTACHMENT.match(text):
            return lines[:i]
        if is_date_line(text) and i > 0:
            return lines[:i - 1] if i - 1 > last and is_agency_line(lines[i - 1].text) else lines[:i]
    return lines


def _doubtful_tail(lines: list[_Line]) -> str | None:
    reasons = []
    last = max((i for i, ln in enumerate(lines) if _is_sentence(ln.text)), default=None)
    tail = [ln.text for ln in lines[last + 1:]] if last is not None else []
    if tail:
        reasons.append("it ends in short lines after its last sentence, perhaps not its text "
                       f"(a caption, a chart's labels, page furniture): {_quote(tail)}")
    outside = [ln.text for ln in lines if ln.kind == "outside"]
    if outside:
        reasons.append(f"it holds text that the page prints after its article: {_quote(outside)}")
    return "; ".join(reasons) or None


def _quote(lines: list[str]) -> str:
    shown = " | ".join(lines[:3])
    shown = shown if len(shown) <= 80 else shown[:79] + "…"
    return f"「{shown}」" + (f" and {len(lines) - 3} more" if len(lines) > 3 else "")


def _join(lines: list[_Line]) -> str:
    out: list[str] = []
    glue = False
    for ln in lines:
        if glue and out and _CJK.match(ln.text):
            out[-1] += ln.text
        else:
            out.append(ln.text)
        glue = ln.joins_next
    return "\n".join(out)
