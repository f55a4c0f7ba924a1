"""Lay a synthetic report out as blocks: title, sections, and the template's tables with
their merged cells, label variants and value formats."""

from __future__ import annotations

import random
from dataclasses import dataclass

from extractors.standard_model import APPEAL_COLUMNS, APPEAL_GROUPS, APPLICANT_COLUMNS, CHANGE_KEYS
from extractors.synth.blocks import Block, Cell, Para, Table
from extractors.synth.layout import Layout, break_label, format_value, spaced
from extractors.synth.texts import CN_NUMBERS, Sections, paragraph_text


@dataclass
class Printed:
    """What one report prints: gold fields plus the counts shown in 252（减18） cells."""
    template: str
    year: int
    agency: str | None
    fields: dict[str, object]
    this_year: dict[str, int]
    sections: Sections


_NOISE = ("BR | XERT | =@ | BEEAF", "Sheet1", "图表 1", "| Ee | | a |", "AERA ih Eh", "=ENE",
          "概况类\t政务动态类\t政府信息类\t其他类", "系列 1\t系列 2\t系列 3")

_ACTIVE_2019 = (
    ("第二十条第（一）项", ("信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"),
     (("规章", "regulations", ("made", "published", "total")),
      ("规范性文件", "normative", ("made", "published", "total")))),
    ("第二十条第（五）项", ("信息内容", "上一年项目数量", "本年增/减", "处理决定数量"),
     (("行政许可", "licensing", ("prev", "change", "decisions")),
      ("其他对外管理服务事项", "other_services", ("prev", "change", "decisions")))),
    ("第二十条第（六）项", ("信息内容", "上一年项目数量", "本年增/减", "处理决定数量"),
     (("行政处罚", "penalty", ("prev", "change", "decisions")),
      ("行政强制", "coercion", ("prev", "change", "decisions")))),
    ("第二十条第（八）项", ("信息内容", "上一年项目数量", "本年增/减"),
     (("行政事业性收费", "fees", ("prev", "change")),)),
    ("第二十条第（九）项", ("信息内容", "采购项目数量", "采购总金额"),
     (("政府集中采购", "procurement", ("projects", "amount")),)),
)
_ACTIVE_2021 = (
    ("第二十条第（一）项", ("信息内容", "本年制发件数", "本年废止件数", "现行有效件数"),
     (("规章", "regulations", ("issued", "repealed", "in_force")),
      ("行政规范性文件", "normative", ("issued", "repealed", "in_force")))),
    ("第二十条第（五）项", ("信息内容", "本年处理决定数量"),
     (("行政许可", "licensing", ("decisions",)),)),
    ("第二十条第（六）项", ("信息内容", "本年处理决定数量"),
     (("行政处罚", "penalty", ("decisions",)), ("行政强制", "coercion", ("decisions",)))),
    ("第二十条第（八）项", ("信息内容", "本年收费金额（单位：万元）"),
     (("行政事业性收费", "fees", ("amount",)),)),
)

_DENIED = ("属于国家秘密", "其他法律行政法规禁止公开", "危及“三安全一稳定”", "保护第三方合法权益",
           "属于三类内部事务信息", "属于四类过程性信息", "属于行政执法案卷", "属于行政查询事项")
_UNABLE = ("本机关不掌握相关政府信息", "没有现成信息需要另行制作", "补正后申请内容仍不明确")
_REJECTED = ("信访举报投诉类申请", "重复申请", "要求提供公开出版物", "无正当理由大量反复申请",
             "要求行政机关确认或重新出具已获取信息")
_OTHER_2021 = ("申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
               "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "其他")


class _Composer:
    def __init__(self, report: Printed, layout: Layout, rng: random.Random):
        self.r, self.layout, self.rng = report, layout, rng

    def label(self, text: str) -> str:
        if self.layout.broken_labels and self.rng.random() < 0.12:
            return break_label(text, self.rng)
        return text

    def value(self, key: str) -> Cell:
        item = key.rsplit(".", 1)[0]
        count = self.r.this_year.get(item) if key in CHANGE_KEYS else None
        return Cell(format_value(key, self.r.fields[key], self.layout, self.rng, count))

    def heading(self, index: int, words: str) -> Para:
        number = (f"{CN_NUMBERS[index]}、" if self.layout.heading_numbers == "cn"
                  else f"（{CN_NUMBERS[index]}）")
        return Para(f"{self.layout.heading_indent}{number}{words}", "heading")

    def noise(self) -> list[Block]:
        lines = self.rng.sample(_NOISE, self.rng.randint(2, 4))
        lines.append("\t".join(str(self.rng.randint(0, 999)) for _ in range(4)))
        return [Para(line, "noise") for line in lines]

    def blocks(self) -> list[Block]:
        r, layout, rng = self.r, self.layout, self.rng
        title = f"{r.year}年政府信息公开工作年度报告"
        out: list[Block] = []
        if layout.title == "inline" and r.agency:
            out.append(Para(f"{r.agency}{title}", "title"))
        else:
            out += [Para(r.agency, "title")] if r.agency else []
            out.append(Para(title, "title"))
        if layout.preamble:
            out += [Para(paragraph_text(p)) for p in r.sections.preamble]
        out.append(self.heading(0, "总体情况"))
        out += [Para(paragraph_text(p)) for p in r.sections.overview]
        if "overview" in layout.noise:
            out += self.noise()
        out.append(self.heading(1, rng.choice(("主动公开政府信息情况", "主动公开政府信息的情况"))))
        if layout.active != "missing":
            if layout.stats_table:
                out += [Para("1.不同渠道方式主动公开及回应解读总体情况"), self.stats_table(),
                        Para("2.主动公开政府信息具体情况")]
            out += self.active_tables()
        out.append(self.heading(2, "收到和处理政府信息公开申请情况"))
        out.append(self.requests_table())
        out.append(self.heading(3, "政府信息公开行政复议、行政诉讼情况"))
        out.append(self.appeals_table())
        out.append(self.heading(4, rng.choice(("存在的主要问题及改进情况", "存在的主要问题和改进情况",
                                               "工作中存在的主要问题和改进情况"))))
        out += [Para(paragraph_text(p)) for p in r.sections.problems]
        out.append(self.heading(5, "其他需要报告的事项"))
        out += [Para(paragraph_text(p)) for p in r.sections.other]
        if "end" in layout.noise:
            out += self.noise()
        return out

    def stats_table(self) -> Table:
        rows = [[Cell("统　计　指　标"), Cell("单位"), Cell("统计数")]]
        for label, unit in (("（一）主动公开政府信息数", "条"), ("1.政府网站公开政府信息数", "条"),
                            ("2.政务微博公开政府信息数", "条"), ("3.政务微信公开政府信息数", "条"),
                            ("（二）回应公众关注热点或重大舆情数", "次"), ("（三）政策解读稿件发布数", "篇")):
            rows.append([Cell(label), Cell(unit), Cell(str(self.rng.randint(0, 900)))])
        return Table(rows, [4, 1, 1], header_rows=1, kind="stats")

    def active_tables(self) -> list[Block]:
        layout = self.layout
        spec = _ACTIVE_2019 if self.r.template == "2019" or layout.older_active else _ACTIVE_2021
        tables: list[list[list[Cell]]] = []
        for article, header, items in spec:
            width = 4 if layout.active == "single" else len(header)
            rows = [[Cell(article, colspan=width)], self.padded(list(map(Cell, header)), width)]
            for label, item, columns in items:
                if item == "fees" and layout.fee_typo:
                    label = "行业事业性收费"
                if item == "normative" and layout.normative_variant:
                    label = "行政规范性文件" if spec is _ACTIVE_2019 else "规范性文件"
                cells = [Cell(self.label(label)),
                         *(self.value(f"active.{item}.{c}") for c in columns)]
                rows.append(self.padded(cells, width))
            tables.append(rows)
        if layout.active == "single":
            return [Table([row for rows in tables for row in rows], [2, 1, 1, 1], kind="active")]
        return [Table(rows, [2] + [1] * (len(rows[1]) - 1), kind="active") for rows in tables]

    @staticmethod
    def padded(cells: list[Cell], width: int) -> list[Cell]:
        """The template's narrower rows stretch their last cell over the remaining columns."""
        cells[-1].colspan = width - len(cells) + 1
        return cells

    def requests_table(self) -> Table:
        layout, sep = self.layout, self.layout.number_sep
        carry = "转结" if layout.carry_typo else "结转"
        rows = [[Cell("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
                      rowspan=3, colspan=3), Cell("申请人情况", colspan=7)],
                [Cell("自然人", rowspan=2), Cell("法人或其他组织", colspan=5), Cell("总计", rowspan=2)],
                [Cell(x) for x in ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")]]

        def values(row: str) -> list[Cell]:
            return [self.value(f"requests.{row}.{c}") for c in APPLICANT_COLUMNS]

        def items(keys: tuple[str, ...], labels: tuple[str, ...]) -> list[tuple[str, str]]:
            return [(k, f"{i}{sep}{label}") for i, (k, label) in enumerate(zip(keys, labels), 1)]

        rows.append([Cell(self.label("一、本年新收政府信息公开申请数量"), colspan=3), *values("new")])
        rows.append([Cell(self.label(f"二、上年{carry}政府信息公开申请数量"), colspan=3),
                     *values("carried")])
        groups: list[tuple[str, list[tuple[str, str]]]] = [
            ("（一）予以公开", [("granted", "")]),
            ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", [("partial", "")]),
            ("（三）不予公开", items(("denied_secret", "denied_law", "denied_safety",
                                  "denied_third_party", "denied_internal", "denied_process",
                                  "denied_enforcement", "denied_query"), _DENIED)),
            ("（四）无法提供", items(("unable_not_held", "unable_create", "unable_unclear"), _UNABLE)),
            ("（五）不予处理", items(("rejected_petition", "rejected_repeat", "rejected_publication",
                                  "rejected_massive", "rejected_confirm"), _REJECTED)),
            ("（六）其他处理", [("other", "")] if self.r.template == "2019" or layout.older_other else
             items(("other_no_correction", "other_no_fee", "other_misc"), _OTHER_2021)),
            ("（七）总计", [("total", "")]),
        ]
        results = "三、本年度办理结果"
        results = spaced(results) if layout.spaced_labels else self.label(results)
        first = [Cell(results, rowspan=sum(len(members) for _, members in groups))]
        for group, members in groups:
            for i, (row, item) in enumerate(members):
                cells = first
                first = []
                if not item:
                    cells.append(Cell(self.label(group), colspan=2))
                elif i == 0:
                    cells += [Cell(self.label(group), rowspan=len(members)), Cell(self.label(item))]
                else:
                    cells.append(Cell(self.label(item)))
                rows.append(cells + values(row))
        rows.append([Cell(self.label(f"四、{carry}下年度继续办理"), colspan=3), *values("carry_forward")])
        return Table(rows, [1.1, 1.4, 3.4] + [1.0] * 7, header_rows=3, kind="requests")

    def appeals_table(self) -> Table:
        parts = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
        rows = [[Cell("行政复议", colspan=5), Cell("行政诉讼", colspan=10)],
                [*(Cell(self.label(p), rowspan=2) for p in parts),
                 Cell("未经复议直接起诉", colspan=5), Cell("复议后起诉", colspan=5)],
                [Cell(self.label(p)) for _ in range(2) for p in parts],
                [self.value(f"{g}.{c}") for g in APPEAL_GROUPS for c in APPEAL_COLUMNS]]
        return Table(rows, header_rows=3, kind="appeals")


def compose(report: Printed, layout: Layout, rng: random.Random) -> list[Block]:
    blocks = _Composer(report, layout, rng).blocks()
    for kind, share in layout.table_at:
        first = next((b for b in blocks if isinstance(b, Table) and b.kind == kind), None)
        if first is not None:
            first.top = share
    return blocks
