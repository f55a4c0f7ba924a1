"""Matching the template's row labels as real reports print them.

Labels arrive with typos (行业事业性收费), numbering variants (1、 1. 1．), stray spaces
(三、本 年 度 办 理 结 果), full-width characters, and words swapped (结转/转结). Each
row is recognised by the few characters that only it has; a fuzzy match against the
canonical label is the fallback, and is reported as such so that confidence can say so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

_SPACE = re.compile(r"\s+")
_QUOTES = re.compile(r"[\"'“”‘’「」『』]")
_NUMBERING = re.compile(r"^(?:[(（]?[一二三四五六七八九十]+[)）、.]|[(（]?\d+[)）、.]|\d+、)+")


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """Fold width, spaces, quotes and numbering punctuation so labels compare by content."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub("", text)
    text = _QUOTES.sub("", text)
    return text.replace("、", ".").replace("．", ".").lower()


def strip_numbering(label: str) -> str:
    """'(三)不予公开' -> '不予公开'; works on normalized labels."""
    return _NUMBERING.sub("", label.replace(".", "、")).replace("、", ".")


@dataclass(frozen=True)
class RowPattern:
    key: str
    canonical: str  # the template's own wording (normalized), for the fuzzy fallback
    words: tuple[str, ...]  # any of these in the label identifies the row


def _p(key: str, canonical: str, *words: str) -> RowPattern:
    return RowPattern(key, normalize(canonical), tuple(normalize(w) for w in words))


# Order matters where one row's words contain another's: specific rows come first.
REQUEST_ROW_PATTERNS: tuple[RowPattern, ...] = (
    _p("carry_forward", "结转下年度继续办理", "结转下年", "转结下年", "下年度继续办理", "结转下一年"),
    _p("carried", "上年结转政府信息公开申请数量", "上年结转", "上年转结", "上年度结转", "上一年结转"),
    _p("new", "本年新收政府信息公开申请数量", "新收", "本年收到"),
    _p("partial", "部分公开", "部分公开"),
    _p("granted", "予以公开", "予以公开"),
    _p("denied_secret", "属于国家秘密", "国家秘密"),
    _p("denied_law", "其他法律行政法规禁止公开", "法律行政法规禁止", "法规禁止公开"),
    _p("denied_safety", "危及三安全一稳定", "三安全一稳定", "三安全"),
    _p("denied_third_party", "保护第三方合法权益", "第三方合法权益"),
    _p("denied_internal", "属于三类内部事务信息", "内部事务"),
    _p("denied_process", "属于四类过程性信息", "过程性信息"),
    _p("denied_enforcement", "属于行政执法案卷", "执法案卷"),
    _p("denied_query", "属于行政查询事项", "行政查询", "查询事项"),
    _p("unable_not_held", "本机关不掌握相关政府信息", "不掌握"),
    _p("unable_create", "没有现成信息需要另行制作", "另行制作", "没有现成信息"),
    _p("unable_unclear", "补正后申请内容仍不明确", "仍不明确", "补正后申请"),
    _p("rejected_petition", "信访举报投诉类申请", "信访", "举报投诉"),
    _p("rejected_repeat", "重复申请", "重复申请"),
    _p("rejected_publication", "要求提供公开出版物", "公开出版物"),
    _p("rejected_massive", "无正当理由大量反复申请", "大量反复"),
    _p("rejected_confirm", "要求行政机关确认或重新出具已获取信息", "重新出具", "确认或重新"),
    _p("other_no_correction", "申请人无正当理由逾期不补正行政机关不再处理其政府信息公开申请",
       "逾期不补正", "不补正"),
    _p("other_no_fee", "申请人逾期未按收费通知要求缴纳费用行政机关不再处理其政府信息公开申请",
       "收费通知", "缴纳费用"),
    _p("other", "其他处理", "其他处理"),
    _p("total", "总计", "总计", "合计"),
)

ACTIVE_ITEM_PATTERNS: tuple[RowPattern, ...] = (
    _p("normative", "规范性文件", "规范性文件"),
    _p("regulations", "规章", "规章"),
    _p("other_services", "其他对外管理服务事项", "对外管理服务", "其他对外管理"),
    _p("licensing", "行政许可", "行政许可"),
    _p("penalty", "行政处罚", "行政处罚"),
    _p("coercion", "行政强制", "行政强制"),
    _p("fees", "行政事业性收费", "事业性收费", "行政收费"),
    _p("procurement", "政府集中采购", "集中采购", "政府采购"),
)

FUZZY_THRESHOLD = 82


@dataclass(frozen=True)
class LabelMatch:
    key: str
    exact: bool  # False when only the fuzzy fallback recognised it
    score: float


@lru_cache(maxsize=8192)  # every report prints the same template labels
def match_label(label: str, patterns: tuple[RowPattern, ...]) -> LabelMatch | None:
    norm = normalize(label)
    if not norm:
        return None
    for pattern in patterns:
        if any(word in norm for word in pattern.words):
            return LabelMatch(pattern.key, True, 100.0)
    bare = strip_numbering(norm)
    best: LabelMatch | None = None
    for pattern in patterns:
        # Compare with labels of similar length only: a short label inside a long header
        # sentence is not a match.
        if not (0.6 <= len(bare) / max(len(pattern.canonical), 1) <= 1.6):
            continue
        score = fuzz.ratio(bare, pattern.canonical)
        if score >= FUZZY_THRESHOLD and (best is None or score > best.score):
            best = LabelMatch(pattern.key, False, score)
    return best
