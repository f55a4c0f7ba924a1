"""`meta.agency`, `meta.year` and the template version.

Agency and year are read from every place a report states them (meta_readings): its title
line, the page's <title>, the page header (发布机构：…), the first paragraphs (现公布某某区人民政府
2023年政府信息公开工作年度报告), the statistics period (统计期限自2023年1月1日起…) and the
signature and date that close it. The source used is the field's provenance method; sources
that disagree flag the field with every reading. The template version comes from the tables.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ..document import Block, Document, Paragraph
from ..result import FieldProvenance, Reading
from .labels import normalize
from .rows import RowView

_TITLE = re.compile(r"(政府信息公开|政务公开|信息公开)(工作)?的?(年度报告|年报|工作报告)")
_NOT_TITLE = re.compile(r"当前位置|您的位置|>|»|首页")  # breadcrumbs name the category, not the report
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_PERIOD = re.compile(r"统计(?:期限|时限|期间|时间|区间)?[^\d。；]{0,6}((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
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


# ---- every place a report states its agency and year -------------------------------------

# The order in which sources are believed, most specific first. For the year, the statistics
# period names the very days the figures cover; the title names the year the report is about;
# the page's <title> and the first paragraphs repeat the title, mostly; a signature's date is
# the publication's, a year after the one covered; a year the text names most is a guess. For
# the agency, the title and the page's <title> name the report's own body; the header names who
# published it (often the office of the body that reports), as does the signature.
YEAR_SOURCES = ("period", "title", "html_title", "paragraph", "signature", "text")
AGENCY_SOURCES = ("title", "html_title", "header", "paragraph", "signature")
_CONFIDENCE = {"meta.year": {"period": 0.99, "title": 0.99, "html_title": 0.95, "paragraph": 0.95,
                              "signature": 0.8, "text": 0.8},
               "meta.agency": {"title": 0.9, "html_title": 0.85, "header": 0.8, "paragraph": 0.85,
                               "signature": 0.75}}
CONF_DISAGREE = 0.5  # sources disagree: the field goes to review with every reading

_TITLE_SPLIT = re.compile(r"\s*(?:[_|｜—–]+|\s-\s|-(?=[^-]*$))\s*")
_SITE = re.compile(r"(?:门户网站|网站|门户网|网)$")  # 某某县人民政府网 is 某某县人民政府's site
_HEADER = re.compile(r"(?:发布机构|发文机关|发布单位|信息来源|来源)\s*:\s*([^\s:]{2,40})")
_IN_SENTENCE = re.compile(r"((?:19|20)\d{2})\s*年度?\s*(?:政府信息公开|政务公开|信息公开)(?:工作)?的?(?:年度报告|年报)")
# What a sentence says before it names the body: 现公布…, 特发布…, …编制
_LEAD_WORDS = re.compile(r"^.*(?:公布|发布|编制|印发|制定|要求|根据|按照)")
_DATE = re.compile(r"^((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*\d{1,2}\s*日)?$")
_CN_DATE = re.compile(r"^([〇○零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月(?:[一二三四五六七八九十]{1,3}日)?$")
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"○": 0, "零": 0}


@dataclass
class Stated:
    source: str  # title | html_title | header | paragraph | period | signature | text
    value: str | int
    line: str  # where it was read
    # Not the report's own statement: a guess (the year the text names most), or the name of
    # who published it (a page header, a portal's name), which may be another body than the
    # one reporting (a county office puts a bureau's report on the county's site). Used where
    # nothing better is stated; never said to disagree.
    weak: bool = False


def is_date_line(line: str) -> bool:
    return _date(line) is not None


def is_agency_line(line: str) -> bool:
    flat = _flat(line)
    return len(flat) <= 30 and bool(_clean_agency(flat)) and not _YEAR.search(flat)


def _date(line: str) -> tuple[int, int] | None:
    flat = _flat(line)
    m = _DATE.match(flat)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = _CN_DATE.match(flat)
    if m:
        return int("".join(str(_CN_DIGITS[c]) for c in m.group(1))), _cn_number(m.group(2))
    return None


def _cn_number(text: str) -> int:
    """一 … 十二 (a month)."""
    digits = "一二三四五六七八九"
    if "十" not in text:
        return digits.index(text) + 1
    tens, _, units = text.partition("十")
    return (digits.index(tens) + 1 if tens else 1) * 10 + (digits.index(units) + 1 if units else 0)


def stated_meta(doc: Document, preamble: list[Block]) -> list[Stated]:
    """Every agency and year the report states, by source."""
    found: list[Stated] = []
    paragraphs = [b.paragraph for b in doc.blocks if b.paragraph is not None]
    texts = [p.text for p in paragraphs]
    agency, year = title_info(preamble, doc.blocks)
    title_line = next((t for t in texts[:60] if _TITLE.search(_flat(t))), "")
    found += _both("title", agency, year, title_line)
    if doc.title:
        found += _from_page_title(doc.title)
    for text in [b.paragraph.text for b in preamble if b.paragraph][:30]:
        for value in _HEADER.findall(unicodedata.normalize("NFKC", text)):
            name = _clean_agency(value) if not value.startswith("本") else ""  # 来源：本站
            if name:
                found.append(Stated("header", name, text, weak=True))
    # The opening before 一、总体情况 names the report (现公布…2023年政府信息公开工作年度报告); a
    # section's text may name last year's report as work done, so it is not read here.
    for text in [b.paragraph.text for b in preamble if b.paragraph][:30]:
        flat = _flat(text)
        m = _IN_SENTENCE.search(flat)
        if m and len(flat) > m.end() - m.start() + 8:  # a sentence, not the title line itself
            name = _clean_agency(_LEAD_WORDS.sub("", re.split(r"[，,。；;、]", flat[:m.start()])[-1]))
            found += _both("paragraph", name or None, int(m.group(1)), text)
            break
    period = _PERIOD.search(unicodedata.normalize("NFKC", "\n".join(texts[:60])))
    if period:
        line = next((t for t in texts[:60] if period.group(1) in t and "统计" in t), period.group(0))
        found.append(Stated("period", int(period.group(1)), line))
    found += _signature([p.text for p in paragraphs if p.furniture is None])
    years = Counter(int(y) for t in texts[:40] for y in _YEAR.findall(t) if 2008 <= int(y) <= 2100)
    if years:
        found.append(Stated("text", years.most_common(1)[0][0], "the year the text names most", weak=True))
    return found


def _both(source: str, agency: str | None, year: int | None, line: str) -> list[Stated]:
    return ([Stated(source, agency, line)] if agency else []) + ([Stated(source, year, line)] if year else [])


def _from_page_title(title: str) -> list[Stated]:
    """A portal's <title>: the report's title, then the column and the site's name, split by
    _ - | (2023年度政府信息公开工作年度报告_某某区人民政府). The agency in the report's own title
    first; the site's name where that names none, or names the same place more fully."""
    parts = [p for p in _TITLE_SPLIT.split(title) if p.strip()]
    agency = year = None
    for part in parts:
        flat = _flat(part)
        if _TITLE.search(flat):
            agency, year = title_info([Block.model_construct(
                paragraph=Paragraph.model_construct(text=part, furniture=None))], [])
            break
    site = next((name for part in reversed(parts) if not _TITLE.search(_flat(part))
                 for name in [_clean_agency(_SITE.sub("", _flat(part)))] if name), None)
    found = [Stated("html_title", year, title)] if year else []
    if site and (not agency or len(site) > len(agency) and _key(site).startswith(_key(agency))):
        return found + [Stated("html_title", site, title, weak=not agency)]
    return found + ([Stated("html_title", agency, title)] if agency else [])


def _signature(texts: list[str]) -> list[Stated]:
    """The body's name and the date on the report's last lines. A report is published in the
    first months after the year it covers (by 31 January, the 条例 says; often by March), so a
    date in the first half of a year stands for the year before; a later date for none."""
    for i in range(len(texts) - 1, max(len(texts) - 12, 0) - 1, -1):
        date = _date(texts[i])
        if date is None:
            continue
        found = [Stated("signature", date[0] - 1, texts[i])] if date[1] <= 6 else []
        if i > 0 and is_agency_line(texts[i - 1]):
            found.append(Stated("signature", _clean_agency(_flat(texts[i - 1])), texts[i - 1]))
        return found
    return []


def _key(name: str) -> str:
    return _flat(name).replace("人民政府", "政府").replace("办公厅", "办公室")


def _same_body(a: str, b: str) -> bool:
    """Names of one body as reports write it: one inside the other (洪泽区人民政府, 淮安市洪泽区
    人民政府), or a body and its office, which compiles the report (某某区人民政府, 区政府办公室)."""
    ka, kb = (re.sub(r"(?<=.)办公室$", "", _key(n)) for n in (a, b))
    return ka in kb or kb in ka


def meta_readings(doc: Document, preamble: list[Block]) -> dict[str, Reading]:
    stated = stated_meta(doc, preamble)
    return {"meta.agency": _choose("meta.agency", [s for s in stated if isinstance(s.value, str)],
                                   AGENCY_SOURCES, _same_body),
            "meta.year": _choose("meta.year", [s for s in stated if isinstance(s.value, int)],
                                 YEAR_SOURCES, lambda a, b: a == b)}


def _choose(key: str, stated: list[Stated], order: tuple[str, ...], agree) -> Reading:
    ranked = sorted((s for s in stated if s.source in order), key=lambda s: order.index(s.source))
    if not ranked:
        what = "agency" if key == "meta.agency" else "year"
        return Reading(key=key, value=None, confidence=0.5 if what == "agency" else 0.2,
                       prov=FieldProvenance(method="absent", note=f"the report states no {what} in its "
                                            "title, page title, header, first paragraphs, statistics "
                                            "period or signature"))
    best = ranked[0]
    others = [s for s in ranked[1:] if not s.weak and not agree(best.value, s.value)]
    if not others:
        return Reading(key=key, value=best.value, confidence=_CONFIDENCE[key][best.source],
                       prov=FieldProvenance(method=best.source, raw=best.line[:200],
                                            note=None if best.source in ("title", "period") else
                                            f"read from the {_SOURCE_NAMES[best.source]}"))
    readings = "; ".join(f"{_SOURCE_NAMES[s.source]} says {s.value}" for s in [best] + others)
    return Reading(key=key, value=best.value, confidence=CONF_DISAGREE,
                   prov=FieldProvenance(method=best.source, raw=best.line[:200],
                                        note=f"sources disagree: {readings}; the "
                                        f"{_SOURCE_NAMES[best.source]} is taken as the most specific"))


_SOURCE_NAMES = {"title": "title line", "html_title": "page title (<title>)", "header": "page header",
                 "paragraph": "first paragraphs", "period": "statistics period (统计期限)",
                 "signature": "signature and date", "text": "years the text names"}
