"""Prose of sections 一, 五 and 六, with figures that restate table 三 and 四 (rule X1).

A paragraph is a list of pieces: plain strings and `Claim`s. Claims stay objects until the
report is drawn, so that an injected X1 error changes the prose and the gold text alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from extractors.standard_model import prints_older_other, result_rows
from extractors.synth.check import Claim

Paragraph = list[str | Claim]
CN_NUMBERS = "一二三四五六七八九十"


def paragraph_text(paragraph: Paragraph) -> str:
    return "".join(p if isinstance(p, str) else str(p.value) for p in paragraph)


@dataclass
class Sections:
    preamble: list[Paragraph]
    overview: list[Paragraph]
    problems: list[Paragraph]
    other: list[Paragraph]


_GOALS = (
    "不断加大政府信息公开力度，提升政务公开质量和实效",
    "坚持“以公开为常态、不公开为例外”，推进决策、执行、管理、服务、结果公开",
    "围绕中心工作，扎实推进政务公开标准化规范化建设",
    "积极回应社会关切，切实保障人民群众的知情权、参与权和监督权",
)
_ACTIVE = (
    "全年通过门户网站主动公开政府信息{a}条，其中政策文件{b}件，工作动态{c}条。",
    "通过政府网站、政务新媒体等渠道发布各类信息{a}条，网站浏览量达{c}万次。",
    "全年在政府信息公开专栏更新信息{a}条，发布政策解读{b}篇，回应公众关切{c}次。",
)
_MANAGEMENT = (
    "严格落实信息发布审核制度，坚持“先审查、后公开”和“一事一审”原则，确保公开内容准确规范。",
    "对照政务公开事项标准目录，动态调整主动公开目录，及时清理过时信息。",
    "建立健全政府信息公开属性源头认定机制，公文在拟制环节即明确公开属性。",
)
_PLATFORM = (
    "加强政府网站和政务新媒体建设管理，定期开展内容检查，及时整改发现的问题。",
    "优化政府信息公开专栏栏目设置，提升信息检索和查阅的便利性。",
    "依托政务服务大厅设置政府信息公开查阅点，方便群众现场查阅。",
)
_OVERSIGHT = (
    "将政务公开工作纳入年度绩效考核，明确责任分工，加强督促检查。",
    "组织开展政务公开业务培训，提升工作人员业务水平。",
    "畅通投诉举报渠道，主动接受社会监督，全年未发生因政府信息公开引发的责任追究。",
)
_PROBLEMS = (
    "政务公开工作人员多为兼职，业务水平有待提高",
    "部分信息公开不够及时，内容更新较慢",
    "政策解读形式较为单一，解读的深度和广度不够",
    "依申请公开办理流程还需进一步规范",
    "基层政务公开标准化规范化建设有待深化",
)
_MEASURES = (
    "加强业务培训，提升工作人员的业务能力和责任意识",
    "健全信息发布机制，确保信息公开及时、准确、全面",
    "丰富政策解读形式，运用图文、视频等方式增强解读效果",
    "严格依法办理政府信息公开申请，规范答复文书",
    "对照标准目录，持续推进基层政务公开标准化规范化",
)


def _subhead(style: str, index: int, words: str) -> str:
    return f"（{CN_NUMBERS[index]}）{words}" if style == "paren" else f"{index + 1}.{words}"


def _total(fields: dict[str, object], keys: tuple[str, ...]) -> int:
    return sum(fields[k] or 0 for k in keys)  # type: ignore[misc]


def _claim(fields: dict[str, object], label: str, *keys: str) -> Claim:
    return Claim(keys, _total(fields, keys), label)


def request_claims(rng: random.Random, fields: dict[str, object], template: str, year: int,
                   we: str) -> Paragraph:
    """The sentences on requests and appeals, phrased like real reports phrase them."""
    unit = rng.choice(("件", "宗", "件"))
    rows = result_rows(template, prints_older_other(template, fields))
    pieces: Paragraph = [f"{year}年，{we}共收到政府信息公开申请",
                         _claim(fields, "共收到政府信息公开申请", "requests.new.total"), unit]
    if fields["requests.carried.total"] or rng.random() < 0.3:
        pieces += ["，上年结转", _claim(fields, "上年结转", "requests.carried.total"), unit]
    total = _claim(fields, "共办理依申请公开", "requests.total.total")
    pieces += ["。共办理依申请公开", total, unit]
    groups = (("予以公开", ("granted",)), ("部分公开", ("partial",)),
              ("不予公开", tuple(r for r in rows if r.startswith("denied_"))),
              ("因本机关不掌握等原因无法提供", tuple(r for r in rows if r.startswith("unable_"))),
              ("不予处理", tuple(r for r in rows if r.startswith("rejected_"))),
              ("其他处理", tuple(r for r in rows if r.startswith("other"))))
    listed = [_claim(fields, label, *(f"requests.{r}.total" for r in group)) for label, group in groups]
    listed = [c for c in listed if c.value]
    if total.value and listed:
        pieces.append("，其中")
        for i, claim in enumerate(listed):
            pieces += ["、" if i else "", claim.label, claim, unit]
    forward = _claim(fields, "结转下年度继续办理", "requests.carry_forward.total")
    if forward.value:
        pieces += ["，结转下年度继续办理", forward, unit]
    pieces.append("。")
    pieces += [rng.choice(("全年发生政府信息公开", "本年度涉及政府信息公开的")), "行政复议",
               _claim(fields, "行政复议", "review.total"), "件，行政诉讼",
               _claim(fields, "行政诉讼", "suit_direct.total", "suit_after_review.total"), "件。"]
    return pieces


def make_sections(rng: random.Random, fields: dict[str, object], template: str, year: int,
                  agency: str | None, we: str, subhead_style: str) -> Sections:
    """`agency` is None when the report never names itself: then neither does its prose."""
    subject = agency or we
    overview: list[Paragraph] = [[f"{year}年，{subject}{rng.choice(_GOALS)}。"]]
    topics = [("主动公开方面。", rng.choice(_ACTIVE).format(a=rng.randint(80, 9000),
                                                      b=rng.randint(0, 60), c=rng.randint(1, 300))),
              ("依申请公开方面。", None),
              ("政府信息管理方面。", rng.choice(_MANAGEMENT)),
              ("平台建设方面。", rng.choice(_PLATFORM)),
              ("监督保障方面。", rng.choice(_OVERSIGHT))]
    topics = [t for t in topics if t[1] is None or rng.random() < 0.8]
    inline = rng.random() < 0.4  # 「（一）主动公开方面。2020年，我镇…」 in one paragraph
    for i, (head, body) in enumerate(topics):
        text: Paragraph = [body] if body else request_claims(rng, fields, template, year, we)
        head = _subhead(subhead_style, i, head if inline or rng.random() < 0.5 else head.rstrip("。"))
        if inline:
            overview.append([head, *text])
        else:
            overview += [[head], text]

    problems = rng.sample(_PROBLEMS, 3)
    measures = rng.sample(_MEASURES, rng.randint(2, 3))
    listing = "；".join(f"{CN_NUMBERS[i]}是{p}" for i, p in enumerate(problems))
    steps = "；".join(f"{CN_NUMBERS[i]}是{m}" for i, m in enumerate(measures))
    if rng.random() < 0.5:
        section5: list[Paragraph] = [[_subhead(subhead_style, 0, "存在的主要问题")],
                                     [f"{listing}。"],
                                     [_subhead(subhead_style, 1, "改进措施")], [f"{steps}。"]]
    else:
        section5 = [[f"{year}年，{we}政府信息公开工作取得了一定成效，但仍存在一些问题：{listing}。"],
                    [f"下一步，{we}将重点做好以下工作：{steps}。"]]

    other_choices = ["无其他需要报告的事项。", f"{year}年{we}无其他需要报告的事项。",
                     f"本年度共办理人大代表建议{rng.randint(0, 60)}件、政协委员提案"
                     f"{rng.randint(0, 90)}件，办复率100%。"]
    if template == "2021":
        other_choices.append(f"根据《政府信息公开信息处理费管理办法》，{year}年{we}未收取信息处理费。")
    section6: list[Paragraph] = [[rng.choice(other_choices)]]

    preamble: list[Paragraph] = [[
        "本年度报告根据《中华人民共和国政府信息公开条例》要求编制，全文包括总体情况、主动公开政府"
        "信息情况、收到和处理政府信息公开申请情况、政府信息公开行政复议和行政诉讼情况、存在的主要"
        f"问题及改进情况、其他需要报告的事项。本报告所列数据的统计期限自{year}年1月1日起至"
        f"{year}年12月31日止。"]]
    return Sections(preamble, overview, section5, section6)
