"""Per-document layout choices (labels, value formats, table arrangement, encodings) and the
formatting of a value as a report prints it."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from extractors.standard_model import CHANGE_KEYS, MONEY_KEYS


@dataclass
class Layout:
    title: str = "inline"           # inline: 「X镇2020年…报告」; above: agency on its own line; none
    heading_numbers: str = "cn"     # cn: 一、总体情况; paren: （一）总体情况
    heading_indent: str = ""        # leading spaces before headings
    para_indent: str = "　　"
    preamble: bool = True
    active: str = "single"          # single table | split into one per 第二十条 item | missing
    stats_table: bool = False       # a non-template 统计指标/单位/统计数 table before 二's tables
    noise: tuple[str, ...] = ()     # where chart residue / OCR garbage lines go: overview, end
    number_sep: str = "."           # 1.属于国家秘密 / 1、 / 1．
    fee_typo: bool = False          # 行业事业性收费
    normative_variant: bool = False  # 规范性文件 <-> 行政规范性文件
    carry_typo: bool = False        # 转结 for 结转
    spaced_labels: bool = False     # 三、本 年 度 办 理 结 果
    broken_labels: bool = False     # 结果维\n持
    fullwidth: bool = False         # some values in full-width digits: １２
    change_style: str = "plain"     # plain: -7; signed: +8; count: 252（减18） (template 2019)
    money_style: str = "plain"      # plain: 182.32; wan: 182.32万元; yuan: 1823200元
    blank_zeros: float = 0.0        # share of zero cells of 三/四 left empty (gold null)
    empty_mark: str = ""            # how an empty cell is printed: "", "/", "—"
    first_row_gap: bool = True      # text dump: blank line before a table's first row too
    charset: str = "utf-8"          # HTML: utf-8 | gbk | gb2312 | none-gbk | none-utf-8
    chrome: bool = False            # HTML: portal navigation, breadcrumb and footer
    repeat_header: bool = False     # PDF: repeat 三's header rows after a page break
    # Only when asked, like pictures. PDF/DOCX: (table kind, share) starts that template table
    # (the first of 二's split tables) on a new page, that share of the page down, so that a
    # page break falls inside it or between 二's tables wherever a test wants it.
    table_at: tuple[tuple[str, float], ...] = ()
    split_rows: bool = False        # PDF: a row that does not fit is cut at the page break, as
                                    # Word and WPS cut a row that may break (DOCX rows always may)
    # Pictures only when asked (random_layout draws none: a new draw would change every case).
    picture_tables: tuple[str, ...] = ()  # DOCX/HTML: as images: requests|appeals|active|stats
    picture_format: str = "png"     # png: clean screenshot | jpeg: degraded photo or scan
    picture_src: str = "data"       # HTML: data (base64 URI) | file (<stem>_files/table3.png)
    # Like pictures, only when asked. A fontconfig family (fonts.FAMILIES): embedded in a PDF,
    # named in a DOCX's styles and an HTML page's CSS; "" keeps each renderer's default.
    font: str = ""
    # Older pieces of the table that real reports of 2021 and later keep (template 2021 only;
    # never drawn at random, so that every existing case keeps its bytes):
    older_other: bool = False       # 三 prints （六）其他处理 as one row, without its sub-rows 1.–3.
    older_active: bool = False      # 二 prints template 2019's items and columns (本年新制作数量 …)

    def with_choices(self, **choices: object) -> Layout:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(choices) - names
        if unknown:
            raise TypeError(f"unknown layout choices: {sorted(unknown)}")
        return dataclasses.replace(self, **choices)


def random_layout(rng: random.Random, template: str) -> Layout:
    def odd(p: float) -> bool:
        return rng.random() < p

    blank = rng.choice((0.0, 0.0, 0.5, 0.9))
    return Layout(
        title=rng.choices(("inline", "above", "none"), (5, 4, 1))[0],
        heading_numbers=rng.choices(("cn", "paren"), (5, 1))[0],
        heading_indent=rng.choice(("", "", "　　", "   ", "    ")),
        para_indent=rng.choice(("", "　　", "    ")),
        preamble=odd(0.6),
        active=rng.choices(("single", "split", "missing"), (6, 3, 1))[0],
        stats_table=odd(0.15),
        noise=tuple(p for p in ("overview", "end") if odd(0.2)),
        number_sep=rng.choices((".", "、", "．"), (6, 2, 1))[0],
        fee_typo=odd(0.1),
        normative_variant=odd(0.15),
        carry_typo=odd(0.1),
        spaced_labels=odd(0.15),
        broken_labels=odd(0.3),
        fullwidth=odd(0.1),
        change_style=rng.choice(("plain", "signed", "count")) if template == "2019" else "plain",
        money_style=rng.choices(("plain", "wan", "yuan"), (5, 3, 1))[0],
        blank_zeros=blank,
        empty_mark=rng.choices(("", "/", "—"), (6, 2, 1))[0] if blank else "",
        first_row_gap=odd(0.6),
        charset=rng.choice(("utf-8", "gbk", "gb2312", "none-gbk", "none-utf-8")),
        chrome=odd(0.5),
        repeat_header=odd(0.5),
    )


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _money(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_value(key: str, value: object, layout: Layout, rng: random.Random,
                 this_year: int | None = None) -> str:
    """A value as the report prints it; `this_year` is the count shown in 252（减18）."""
    if value is None:
        return layout.empty_mark
    if key in MONEY_KEYS:
        if layout.money_style == "wan" and value:
            return f"{_money(value)}万元"
        if layout.money_style == "yuan" and value:
            return f"{round(value * 10000)}元"
        return _money(value)
    if key in CHANGE_KEYS:
        if this_year is not None and value:
            return f"{this_year}（{'增' if value > 0 else '减'}{abs(value)}）"
        if layout.change_style == "signed" and value > 0:
            return f"+{value}"
        return str(value)
    text = str(value)
    if layout.fullwidth and rng.random() < 0.3:
        text = text.translate(_FULLWIDTH)
    return text


def break_label(label: str, rng: random.Random) -> str:
    """A label split across two lines, as narrow Word cells leave them: 结果维\\n持."""
    if len(label) < 3:
        return label
    at = rng.randint(1, len(label) - 1)
    return f"{label[:at]}\n{label[at:]}"


def spaced(label: str) -> str:
    """三、本 年 度 办 理 结 果: the numbering stays, the words are spread."""
    head, sep, words = label.rpartition("、")
    return f"{head}{sep}{' '.join(words)}"
