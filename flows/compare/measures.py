"""Derived measures of one report, each a share in [0, 1] (none where the denominator is 0
or not stated; a null part counts as 0):

    share_granted           (予以公开 + 部分公开) / 总计: requests.granted.total +
                            requests.partial.total over requests.total.total
    share_not_held          不掌握 / 总计: requests.unable_not_held.total over requests.total.total
    share_denied            不予公开 / 总计: the eight requests.denied_*.total over requests.total.total
    review_correction_rate  行政复议 结果纠正 / 总计: review.corrected over review.total
    suit_correction_rate    行政诉讼 结果纠正 / 总计, both kinds of suit: suit_direct.corrected +
                            suit_after_review.corrected over suit_direct.total + suit_after_review.total
    carried_forward_share   结转下年度继续办理 / (本年新收 + 上年结转): requests.carry_forward.total
                            over requests.new.total + requests.carried.total
"""

from __future__ import annotations

from extractors.standard_model import REQUEST_ROWS

from .sources import Report

_DENIED = tuple(f"requests.{r}.total" for r in REQUEST_ROWS["2021"] if r.startswith("denied_"))
MEASURES = {
    "share_granted": (("requests.granted.total", "requests.partial.total"), ("requests.total.total",)),
    "share_not_held": (("requests.unable_not_held.total",), ("requests.total.total",)),
    "share_denied": (_DENIED, ("requests.total.total",)),
    "review_correction_rate": (("review.corrected",), ("review.total",)),
    "suit_correction_rate": (("suit_direct.corrected", "suit_after_review.corrected"),
                             ("suit_direct.total", "suit_after_review.total")),
    "carried_forward_share": (("requests.carry_forward.total",), ("requests.new.total", "requests.carried.total")),
}
MEASURE_COLUMNS = ("agency", "year", "document", *MEASURES)


def _sum(report: Report, keys: tuple[str, ...]) -> float | None:
    values = [report.fields.get(k) for k in keys]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(numbers) if numbers else None


def measures(report: Report) -> dict[str, float | None]:
    out = {}
    for name, (top, bottom) in MEASURES.items():
        numerator, denominator = _sum(report, top), _sum(report, bottom)
        out[name] = (numerator or 0) / denominator if denominator else None
    return out
