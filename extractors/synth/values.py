"""Gold values: who reports, for which year, and table figures consistent with R1–R6.

Figures are skewed the way real reports are: most cells 0, a town or a bureau with a
handful of requests, a few governments with hundreds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from extractors.standard_model import (
    APPEAL_GROUPS, APPEAL_PARTS, APPLICANTS, OTHER_SUBROWS, REQUEST_ROWS, RESULT_ROWS, field_keys,
)

# Invented place names, all in GB2312 so that every HTML charset variant can encode them.
_CITIES = ("临川", "青阳", "安平", "云溪", "白河", "丰宁", "长乐", "桃源", "清河", "永安",
           "宁远", "通江", "石门", "新化", "南丰", "金川", "江阳", "平湖", "东港", "西林")
_COUNTIES = ("兴安", "乐平", "梅山", "松阳", "大田", "三江", "龙泉", "黄岭", "武宁", "定远")
_DISTRICTS = ("城关", "河东", "新城", "高新", "滨湖", "北塔", "南湖", "开发")
_TOWNS = ("大田", "石桥", "长岭", "白沙", "新店", "马头", "青龙", "柳林", "双河", "杨村")
_BUREAUS = ("自然资源局", "教育局", "卫生健康局", "交通运输局", "市场监督管理局", "民政局",
            "文化广电旅游体育局", "住房和城乡建设局", "生态环境局", "人力资源和社会保障局")


@dataclass(frozen=True)
class Agency:
    name: str
    we: str      # how the report refers to itself in prose: 我市, 我局, 我镇 …
    level: str   # gov | bureau | base: drives how busy the agency is


def make_agency(rng: random.Random) -> Agency:
    city, county = rng.choice(_CITIES), rng.choice(_COUNTIES)
    kind = rng.choice(("city", "county", "district", "bureau", "city_bureau", "street", "town",
                       "town_gov"))
    if kind == "city":
        return Agency(f"{city}市人民政府", "我市", "gov")
    if kind == "county":
        return Agency(f"{county}县人民政府", "我县", "gov")
    if kind == "district":
        return Agency(f"{city}市{rng.choice(_DISTRICTS)}区人民政府", "我区", "gov")
    if kind == "bureau":
        return Agency(f"{county}县{rng.choice(_BUREAUS)}", "我局", "bureau")
    if kind == "city_bureau":
        return Agency(f"{city}市{rng.choice(_BUREAUS)}", "我局", "bureau")
    if kind == "street":
        return Agency(f"{city}市{rng.choice(_DISTRICTS)}区{rng.choice(_TOWNS)}街道办事处",
                      "我街道", "base")
    if kind == "town":
        return Agency(f"{city}市{rng.choice(_TOWNS)}镇", "我镇", "base")
    return Agency(f"{county}县{rng.choice(_TOWNS)}镇人民政府", "我镇", "base")


def make_year(rng: random.Random, template: str) -> int:
    return rng.choice((2019, 2020)) if template == "2019" else rng.randint(2021, 2025)


def _skewed(rng: random.Random, hi: int) -> int:
    """0..hi, log-uniform: small numbers much more often than large ones."""
    return int(math.exp(rng.uniform(0, math.log(hi + 1)))) - 1


def _maybe(rng: random.Random, p: float, value: int) -> int:
    return value if rng.random() < p else 0


def _split(rng: random.Random, n: int, weights: dict[str, float]) -> dict[str, int]:
    counts = dict.fromkeys(weights, 0)
    if n and sum(weights.values()) > 0:
        for name in rng.choices(list(weights), list(weights.values()), k=n):
            counts[name] += 1
    return counts


def make_numbers(rng: random.Random, template: str, level: str) -> dict[str, int | float]:
    """Every numeric key of the template, all rules satisfied."""
    values: dict[str, int | float] = {}
    values.update(_active(rng, template, level))
    values.update(_requests(rng, template, level))
    values.update(_appeals(rng, level))
    numeric = [k for k in field_keys(template) if k.split(".")[0] not in ("meta", "text")]
    assert set(values) == set(numeric), set(numeric) ^ set(values)
    return values


def _active(rng: random.Random, template: str, level: str) -> dict[str, int | float]:
    big = {"gov": 1.0, "bureau": 0.4, "base": 0.05}[level]
    v: dict[str, int | float] = {}

    def money() -> float:
        return round(rng.uniform(0, 60000 * big), 2) if rng.random() < 0.6 else 0.0

    if template == "2019":
        made = _maybe(rng, 0.1 * big, rng.randint(1, 3))
        v |= {"active.regulations.made": made, "active.regulations.published": made,
              "active.regulations.total": made + _maybe(rng, 0.2, _skewed(rng, 40))}
        made = _maybe(rng, 0.3 + 0.5 * big, _skewed(rng, int(60 * big) + 2))
        published = max(0, made - _maybe(rng, 0.2, 1))
        v |= {"active.normative.made": made, "active.normative.published": published,
              "active.normative.total": published + _maybe(rng, 0.7, _skewed(rng, int(500 * big) + 5))}
        for item, hi in (("licensing", 600), ("other_services", 1200), ("penalty", 5000),
                         ("coercion", 300)):
            prev = _maybe(rng, 0.3 + 0.6 * big, _skewed(rng, int(hi * big) + 3))
            change = rng.randint(-min(prev, 30), 40) if rng.random() < 0.7 else 0
            v |= {f"active.{item}.prev": prev, f"active.{item}.change": change,
                  f"active.{item}.decisions": _maybe(rng, 0.5 + 0.4 * big,
                                                     _skewed(rng, int(20000 * big) + 5))}
        prev = _maybe(rng, 0.2 + 0.5 * big, _skewed(rng, 60))
        v |= {"active.fees.prev": prev,
              "active.fees.change": rng.randint(-min(prev, 26), 5) if rng.random() < 0.5 else 0}
        v |= {"active.procurement.projects": _maybe(rng, 0.5, _skewed(rng, int(2500 * big) + 3)),
              "active.procurement.amount": money()}
        return v
    for item, scale in (("regulations", 0.1 * big), ("normative", 0.3 + 0.5 * big)):
        issued = _maybe(rng, scale, _skewed(rng, int(50 * big) + 2))
        repealed = _maybe(rng, scale / 2, _skewed(rng, int(20 * big) + 1))
        v |= {f"active.{item}.issued": issued, f"active.{item}.repealed": repealed,
              f"active.{item}.in_force": issued + _maybe(rng, 0.7, _skewed(rng, int(400 * big) + 3))}
    for item, hi in (("licensing", 30000), ("penalty", 8000), ("coercion", 500)):
        v[f"active.{item}.decisions"] = _maybe(rng, 0.4 + 0.5 * big, _skewed(rng, int(hi * big) + 3))
    v["active.fees.amount"] = money() if rng.random() < 0.3 else 0.0
    return v


_RESULT_WEIGHTS = {
    "granted": 5.0, "partial": 1.0,
    "denied_secret": 0.05, "denied_law": 0.15, "denied_safety": 0.1, "denied_third_party": 0.2,
    "denied_internal": 0.15, "denied_process": 0.3, "denied_enforcement": 0.1, "denied_query": 0.1,
    "unable_not_held": 3.0, "unable_create": 0.4, "unable_unclear": 0.3,
    "rejected_petition": 0.4, "rejected_repeat": 0.5, "rejected_publication": 0.1,
    "rejected_massive": 0.1, "rejected_confirm": 0.2,
    "other": 0.8, "other_no_correction": 0.3, "other_no_fee": 0.03, "other_misc": 0.6,
}
_APPLICANT_WEIGHTS = {"natural": (3.0, 10.0), "commercial": (0.0, 2.0), "research": (0.0, 0.3),
                      "social": (0.0, 0.3), "legal": (0.0, 0.6), "other": (0.0, 0.6)}


def _requests(rng: random.Random, template: str, level: str) -> dict[str, int]:
    scale = rng.choices(("none", "few", "some", "many"),
                        {"gov": (1, 3, 4, 2), "bureau": (2, 5, 3, 1), "base": (6, 5, 1, 0)}[level])[0]
    new_total = {"none": 0, "few": rng.randint(1, 12), "some": rng.randint(13, 80),
                 "many": rng.randint(81, 900)}[scale]
    weights = {c: rng.uniform(*w) if rng.random() < 0.6 or c == "natural" else 0.0
               for c, w in _APPLICANT_WEIGHTS.items()}
    new = _split(rng, new_total, weights)
    # Each agency favours some outcomes; zeroing some weights leaves the many empty rows.
    results = {}
    for r in RESULT_ROWS[template]:
        weight = _RESULT_WEIGHTS[r] * rng.uniform(0.2, 2.0)
        results[r] = weight if r == "granted" or rng.random() < 0.7 else 0.0
    v: dict[str, int] = {}
    for c in APPLICANTS:
        carried = _maybe(rng, 0.25, rng.randint(0, max(1, new[c] // 8))) if new[c] else 0
        forward = _maybe(rng, 0.3, rng.randint(0, (new[c] + carried) // 6))
        v[f"requests.new.{c}"], v[f"requests.carried.{c}"] = new[c], carried
        v[f"requests.carry_forward.{c}"] = forward
        handled = new[c] + carried - forward
        v[f"requests.total.{c}"] = handled
        for row, n in _split(rng, handled, results).items():
            v[f"requests.{row}.{c}"] = n
    for row in REQUEST_ROWS[template]:
        v[f"requests.{row}.total"] = sum(v[f"requests.{row}.{c}"] for c in APPLICANTS)
    return v


def _appeals(rng: random.Random, level: str) -> dict[str, int]:
    v: dict[str, int] = {}
    busy = {"gov": 0.45, "bureau": 0.3, "base": 0.08}[level]
    for group in APPEAL_GROUPS:
        n = _maybe(rng, busy, _skewed(rng, 25) + 1)
        parts = _split(rng, n, {"upheld": 4.0, "corrected": 1.0, "other": 1.0, "pending": 1.5})
        for part in APPEAL_PARTS:
            v[f"{group}.{part}"] = parts[part]
        v[f"{group}.total"] = n
    return v


def blank_zero_cells(fields: dict[str, object], rng: random.Random, rate: float) -> None:
    """Leave some zero cells of tables 三 and 四 empty, as many reports do: gold becomes null."""
    for key, value in fields.items():
        if key.split(".")[0] in ("requests", *APPEAL_GROUPS) and value == 0 and rng.random() < rate:
            fields[key] = None


def fold_other_rows(fields: dict[str, object]) -> None:
    """Template 2021's （六） sub-rows printed as the one older row 其他处理: `other` holds
    their sum (null where all three are), and the sub-rows are not stated (spec: "The older
    （六） row in later reports")."""
    for c in (*APPLICANTS, "total"):
        parts = [fields[f"requests.{r}.{c}"] for r in OTHER_SUBROWS]
        stated = [v for v in parts if v is not None]
        fields[f"requests.other.{c}"] = sum(stated) if stated else None
        for r in OTHER_SUBROWS:
            fields[f"requests.{r}.{c}"] = None


# What a 2021 report printing 二 in 2019's columns leaves unstated, and what it prints that
# the 2021 model has no key for (处理决定数量 is 2021's 本年处理决定数量: it keeps its gold).
_OLDER_ACTIVE_UNSTATED = ("active.regulations.issued", "active.regulations.repealed",
                          "active.regulations.in_force", "active.normative.issued",
                          "active.normative.repealed", "active.normative.in_force",
                          "active.fees.amount")


def older_active(rng: random.Random, level: str, fields: dict[str, object]) -> dict[str, object]:
    """Table 二 in template 2019's items and columns in a 2021 report: the figures it prints
    that have no 2021 key (returned), and the 2021 keys it does not state (set to null)."""
    printed = {k: v for k, v in _active(rng, "2019", level).items() if k not in fields}
    for key in _OLDER_ACTIVE_UNSTATED:
        fields[key] = None
    return printed
