"""`meta.agency`, `meta.year` and the template version, from the title and the tables."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from ..document import Block
from .labels import normalize
from .rows import RowView

_TITLE = re.compile(r"(政府信息公开|政务公开|信息公开)(工作)?的?(年度报告|年报|工作报告)")
_NOT_TITLE = re.compile(r"当前位置|您的位置|>|»|首页")  # breadcrumbs name the category, not the report
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_PERIOD = re.compile(r"统计期限?自?\s*((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
_AGENCY_END = re.compile(
    r"(人民政府|政府|办公室|办公厅|委员会|管理委员会|管委会|局|厅|署|委|办|院|中心|站|所|队|会|处|"
    r"镇|乡|街道|街道办事处|社区|市|区|县|州|盟|旗|公司|集团|部)$")
_LEAD = re.compile(r"^(关于|印发|转发)")
_PUNCT = re.compile(r"[《》〈〉“”\"'【】\[\]（）()：:，,。\s]")


def title_info(preamble: list[Block], first_blocks: list[Block]) -> tuple[str | None, int | None]:
    """Agency and year from the report's title line, or the line above it."""
    paragraphs = [b.paragraph.text for b in (preamble or first_blocks)[:60] if b.paragraph]
    for i, text in enumerate(paragraphs):
        flat = _flat(text)
        m = _TITLE.search(flat)
        if not m and len(flat) <= 40 and i + 1 < len(paragraphs):
            # A long title wraps onto a second line: the title words straddle the break.
            joined = flat + _flat(paragraphs[i + 1])
            m = _TITLE.search(joined)
            if m and m.start() < len(flat) < m.end():
                flat = joined
            else:
                m = None
        if not m or m.start() > 60 or _NOT_TITLE.search(flat):
            continue
        before = flat[: m.start()]
        year_m = None
        for year_m in _YEAR.finditer(before):
            pass
        year = int(year_m.group(1)) if year_m else None
        agency = ""
        if year_m:
            head, tail = before[: year_m.start()], before[year_m.end():].lstrip("度")
            agency = head or tail
        else:
            agency = before
        agency = _clean_agency(agency)
        if not agency and i > 0:
            prev = _clean_agency(_flat(paragraphs[i - 1]))
            if prev and len(prev) <= 30 and _AGENCY_END.search(prev) and not _YEAR.search(prev):
                agency = prev
        return agency or None, year
    return None, None


def _flat(text: str) -> str:
    return unicodedata.normalize("NFKC", re.sub(r"\s+", "", text))


def _clean_agency(text: str) -> str:
    text = re.sub(r"(关于|的)$", "", _LEAD.sub("", _PUNCT.sub("", text)))
    return text if text and _AGENCY_END.search(text) else ""


def year_from_text(paragraphs: list[str]) -> int | None:
    text = "\n".join(paragraphs[:40])
    m = _PERIOD.search(unicodedata.normalize("NFKC", text))
    if m:
        return int(m.group(1))
    years = Counter(int(y) for y in _YEAR.findall(text) if 2008 <= int(y) <= 2100)
    return years.most_common(1)[0][0] if years else None


_MARKS_2019 = ("本年新制作数量", "本年新公开数量", "对外公开总数量", "政府集中采购", "上一年项目数量")
_MARKS_2021 = ("本年制发件数", "本年废止件数", "现行有效件数", "本年收费金额", "逾期不补正", "收费通知")


def detect_template(tables: list[list[RowView]], year: int | None) -> tuple[str, bool]:
    """The template version, and whether the tables' labels say so."""
    text = "".join(normalize(c.text) for rows in tables for rv in rows for c in rv.labels)
    score = sum(m in text for m in _MARKS_2021) - sum(m in text for m in _MARKS_2019)
    if not score and "其他处理" in text and "不再处理" not in text:
        score = -1  # 2019 prints （六）其他处理 as one row; 2021 splits it into three
    if score:
        return ("2021" if score > 0 else "2019"), True
    return ("2019" if year is not None and year <= 2020 else "2021"), False
