"""The data dictionary: what every field key and every rule of the standard model means, in
the template's own Chinese words (docs/standard-model.md) and in English.

The keys come from the standard model (extractors.standard_model); this module adds only
the labels a reader of the report sees: the section, the row and the column of the
template's tables. A key's label is built from its parts (row × column), so every key of
either template gets one, and a key the model gains without a label here fails the test.
"""

from __future__ import annotations

from functools import cache

from .standard_model import (CHANGE_KEYS, MONEY_KEYS, TEMPLATES, field_keys, is_numeric_key,
                             section_of)

FIELD_COLUMNS = ("key", "templates", "section", "section_label", "row_label", "column_label",
                 "unit", "type", "null_means", "note")
RULE_COLUMNS = ("rule", "templates", "scope", "rule_zh", "rule_en")

SECTION_LABELS = {
    "meta": "报告基本信息（标题与开头）",
    "active": "二、主动公开政府信息情况",
    "requests": "三、收到和处理政府信息公开申请情况",
    "appeals": "四、政府信息公开行政复议、行政诉讼情况",
    "text": "正文",
}

_META = {
    "meta.agency": ("机关名称", "报告没有写明发布机关 — the report never names the body that issues it"),
    "meta.year": ("统计年度", "未能确定报告所属年度 — the year could not be told"),
    "meta.template": ("年报格式（2019版或2021版）", "不是年报，或格式未能识别 — not a report, or no template recognised"),
}

_ACTIVE_ROWS = {
    "regulations": "规章",
    "normative": {"2019": "规范性文件", "2021": "行政规范性文件"},
    "licensing": "行政许可",
    "other_services": "其他对外管理服务事项",
    "penalty": "行政处罚",
    "coercion": "行政强制",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
_ACTIVE_COLUMNS = {
    "made": "本年新制作数量", "published": "本年新公开数量", "total": "对外公开总数量",
    "issued": "本年制发件数", "repealed": "本年废止件数", "in_force": "现行有效件数",
    "prev": "上一年项目数量", "change": "本年增/减",
    "decisions": {"2019": "处理决定数量", "2021": "本年处理决定数量"},
    "projects": "采购项目数量",
    "procurement.amount": "采购总金额", "fees.amount": "本年收费金额",
}

_REQUEST_ROWS = {
    "new": "一、本年新收政府信息公开申请数量",
    "carried": "二、上年结转政府信息公开申请数量",
    "granted": "三（一）予以公开",
    "partial": "三（二）部分公开",
    "denied_secret": "三（三）1.属于国家秘密",
    "denied_law": "三（三）2.其他法律行政法规禁止公开",
    "denied_safety": "三（三）3.危及“三安全一稳定”",
    "denied_third_party": "三（三）4.保护第三方合法权益",
    "denied_internal": "三（三）5.属于三类内部事务信息",
    "denied_process": "三（三）6.属于四类过程性信息",
    "denied_enforcement": "三（三）7.属于行政执法案卷",
    "denied_query": "三（三）8.属于行政查询事项",
    "unable_not_held": "三（四）1.本机关不掌握相关政府信息",
    "unable_create": "三（四）2.没有现成信息需要另行制作",
    "unable_unclear": "三（四）3.补正后申请内容仍不明确",
    "rejected_petition": "三（五）1.信访举报投诉类申请",
    "rejected_repeat": "三（五）2.重复申请",
    "rejected_publication": "三（五）3.要求提供公开出版物",
    "rejected_massive": "三（五）4.无正当理由大量反复申请",
    "rejected_confirm": "三（五）5.要求行政机关确认或重新出具已获取信息",
    "other": "三（六）其他处理",
    "other_no_correction": "三（六）1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other_no_fee": "三（六）2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other_misc": "三（六）3.其他",
    "total": "三（七）总计",
    "carry_forward": "四、结转下年度继续办理",
}
_APPLICANTS = {
    "natural": "自然人", "commercial": "法人或其他组织·商业企业", "research": "法人或其他组织·科研机构",
    "social": "法人或其他组织·社会公益组织", "legal": "法人或其他组织·法律服务机构",
    "other": "法人或其他组织·其他", "total": "总计",
}

_APPEAL_GROUPS = {
    "review": "行政复议",
    "suit_direct": "行政诉讼·未经复议直接起诉",
    "suit_after_review": "行政诉讼·复议后起诉",
}
_APPEAL_COLUMNS = {"upheld": "结果维持", "corrected": "结果纠正", "other": "其他结果",
                   "pending": "尚未审结", "total": "总计"}
_APPEAL_NOTES = {
    "review": "review.* 是行政复议（administrative reconsideration of the body's decisions by a higher "
              "body), not the review queue of `nianbao review`",
    "suit_direct": "行政诉讼 (administrative lawsuit) filed without a reconsideration first",
    "suit_after_review": "行政诉讼 (administrative lawsuit) filed after a reconsideration",
}

_TEXTS = {"text.overview": "一、总体情况", "text.problems": "五、存在的主要问题及改进情况",
          "text.other": "六、其他需要报告的事项"}

_NULL_NUMBER = ("报告没有填写（空白、/、—）或没有这张表；空不等于 0 — the report does not state it "
                "(blank, /, — or no such table); never 0")
_NULL_TEXT = "报告没有这一节 — the report has no such section"
_OTHER_TEMPLATE = ("; 另一格式的报告中也为空 — also null in every report of a template without this key "
                   "(see templates)")


@cache
def templates_of(key: str) -> tuple[str, ...]:
    return tuple(t for t in TEMPLATES if key in field_keys(t))


def all_keys() -> tuple[str, ...]:
    """Every key of either template: 2019's in the spec's order, then those only 2021 has."""
    return tuple(dict.fromkeys(k for t in TEMPLATES for k in field_keys(t)))


def _by_template(label: str | dict[str, str], templates: tuple[str, ...]) -> str:
    """One label, or each template's where they differ: 处理决定数量（2019）；本年处理决定数量（2021）."""
    if isinstance(label, str):
        return label
    shown = dict.fromkeys(label[t] for t in templates)
    if len(shown) == 1:
        return next(iter(shown))
    return "；".join(f"{label[t]}（{t}）" for t in templates)


def _labels(key: str, templates: tuple[str, ...]) -> tuple[str, str, str]:
    """(row label, column label, note) of a key."""
    parts = key.split(".")
    section = section_of(key)
    if section == "meta":
        return _META[key][0], "", ""
    if section == "text":
        return _TEXTS[key], "", ""
    if section == "active":
        _, row, col = parts
        column = _ACTIVE_COLUMNS.get(f"{row}.{col}") or _ACTIVE_COLUMNS[col]
        return _by_template(_ACTIVE_ROWS[row], templates), _by_template(column, templates), ""
    if section == "requests":
        _, row, col = parts
        note = ""
        if row == "other":
            note = ("2021年及以后的报告仍印旧的一行（六）其他处理时也填这一行 — also carried by later "
                    "reports that still print the single older row")
        return _REQUEST_ROWS[row], _APPLICANTS[col], note
    group, col = parts
    return _APPEAL_GROUPS[group], _APPEAL_COLUMNS[col], _APPEAL_NOTES[group]


def field_entries() -> list[dict[str, str]]:
    """One row per key: FIELD_COLUMNS."""
    rows = []
    for key in all_keys():
        templates = templates_of(key)
        row_label, column_label, note = _labels(key, templates)
        section = section_of(key)
        if key in MONEY_KEYS:
            unit, type_ = "万元 (10,000 yuan)", "decimal"
        elif is_numeric_key(key):
            unit, type_ = "数量 (count)", "integer"
        elif key == "meta.year":
            unit, type_ = "年 (year)", "integer"
        else:
            unit, type_ = "", "text"
        if key in CHANGE_KEYS:
            note = "本年增/减，可为负数：252（减18）记为 -18 — the change on last year, may be negative"
        if section == "meta":
            null = _META[key][1]
        else:
            null = (_NULL_NUMBER if type_ != "text" else _NULL_TEXT)
            if len(templates) < len(TEMPLATES):
                null += _OTHER_TEMPLATE
        rows.append({"key": key, "templates": " ".join(templates), "section": section,
                     "section_label": SECTION_LABELS[section], "row_label": row_label,
                     "column_label": column_label, "unit": unit, "type": type_,
                     "null_means": null, "note": note})
    return rows


# The rules of docs/standard-model.md in words; `scope` is how the rules table names what
# one result covers. A null counts as 0 inside a sum.
RULES = (
    ("R1", "2019 2021", "column <applicant column>",
     "每一列：本年新收 + 上年结转 = 办理结果总计 + 结转下年度继续办理（模板印明的勾稽关系）",
     "each column: new + carried = total + carry_forward (the template's own printed rule)"),
    ("R2", "2019 2021", "column <applicant column>",
     "每一列：三（七）总计 = 各项办理结果（予以公开……其他处理）之和",
     "each column: requests.total equals the sum of every result row (granted … other)"),
    ("R3", "2019 2021", "row <request row>",
     "每一行：总计 = 自然人与五类法人或其他组织之和",
     "each row: the total column equals the sum of the six applicant columns"),
    ("R4", "2019 2021", "group review | suit_direct | suit_after_review",
     "行政复议、两类行政诉讼各自：总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结",
     "each group of table 四: total = upheld + corrected + other + pending"),
    ("R5", "2019", "item <licensing | other_services | penalty | coercion | fees>",
     "2019版表二，报告同时印出本年数量时（如 252（减18））：上一年项目数量 + 本年增/减 = 本年数量",
     "template 2019, where this year's count is printed too (252（减18））: prev + change = this year's count"),
    ("R6", "2019 2021", "field <key>",
     "每个数量都是非负整数（本年增/减可为负）",
     "every count is a non-negative integer (changes may be negative)"),
    ("X1", "2019 2021", "prose “<the phrase as printed>”",
     "正文中写明的数字（如“共收到政府信息公开申请17件”）与表中对应数值相等",
     "a figure the report's prose states for a field equals the table's value"),
    ("X2", "2019 2021", "column <applicant column>, years y−1 → y",
     "同一机关相邻两年：y 年的上年结转 = y−1 年的结转下年度继续办理",
     "one agency, consecutive years: carried (year y) == carry_forward (year y−1), each column"),
    ("X3", "2019", "item <licensing | other_services | penalty | coercion | fees>, 2019 → 2020",
     "同一机关2019与2020年（2019版）：2020年的上一年项目数量 = 2019年的上一年项目数量 + 本年增/减",
     "one agency, 2019 → 2020: active.<item>.prev (2020) == prev + change (2019)"),
)
RULE_NOTE = ("status: pass 通过 / fail 不符. blame (failures only): source = 报告本身数字不符 "
             "(every cell read cleanly: the report is wrong); extraction = 可能是读取有误 "
             "(some cell read in doubt)")


def rule_entries() -> list[dict[str, str]]:
    return [dict(zip(RULE_COLUMNS, rule)) for rule in RULES]
