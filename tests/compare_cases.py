"""Per-document results of one body over several years, built as `nianbao extract` writes
them (DocumentResult → JSON), for compare's tests and benchmark: figures from the synthetic
generator's values (every one-report rule holds), each year's 上年结转 equal to the year
before's 结转下年度 (X2 holds) and 2020's 上一年项目数量 equal to 2019's count (X3 holds),
until a test changes them."""

from __future__ import annotations

import random
from pathlib import Path

from extractors.result import DocumentResult, FieldProvenance, ReviewItem
from extractors.rules import R5_ITEMS
from extractors.standard_model import APPLICANT_COLUMNS, field_keys
from extractors.synth.values import make_numbers

_PHRASES = ("深入贯彻落实政府信息公开条例", "坚持以公开为常态不公开为例外", "围绕优化营商环境",
            "加强政策解读和回应关切", "推进决策执行管理服务结果公开", "规范依申请公开办理流程",
            "完善政务公开平台建设", "重点领域信息公开持续深化", "强化政府网站内容保障",
            "加大基层政务公开标准化规范化力度", "健全信息发布审查机制", "主动回应社会公众关切",
            "政务新媒体矩阵不断完善", "公开指南和目录及时更新", "依法保障人民群众知情权")


def text_of(rng: random.Random, year: int, n: int = 6) -> str:
    """A section of `n` sentences drawn from the phrases, naming the year and a figure."""
    sentences = [f"{year}年，我区{rng.choice(_PHRASES)}，{rng.choice(_PHRASES)}，全年发布信息{rng.randint(10, 9999)}条。"]
    sentences += [f"{rng.choice(_PHRASES)}，{rng.choice(_PHRASES)}。" for _ in range(n - 1)]
    return "\n".join(sentences)


def result(agency: str, year: int, fields: dict, doubtful: tuple[str, ...] = (),
           flagged: tuple[str, ...] = (), document: str | None = None) -> DocumentResult:
    """A result as the extractor gives it: every field read cleanly (0.99) but the
    `doubtful` ones (0.4, in the review queue) and the `flagged` ones (in the queue)."""
    template = "2019" if year <= 2020 else "2021"
    values = dict.fromkeys(field_keys(template))
    values.update({k: v for k, v in fields.items() if k in values})
    values.update({"meta.agency": agency, "meta.year": year, "meta.template": template})
    confidence = {k: 0.4 if k in doubtful else 0.99 for k in values}
    review = [ReviewItem(field=k, reason="low confidence") for k in doubtful]
    review += [ReviewItem(field=k, reason="in a failed rule") for k in flagged]
    doc = document or f"{agency}_{year}.html"
    return DocumentResult(document=doc, sha256=f"{abs(hash((doc, agency, year))):064d}"[-64:],
                          extractor_version="test", template=template, fields=values,
                          confidence=confidence, review=review,
                          provenance={k: FieldProvenance(method="table") for k in values})


def series(agency: str, years: list[int], seed: int = 0, copy_text: bool = True,
           names: dict[int, str] | None = None) -> dict[int, dict]:
    """Fields of one body for each year: consecutive years agree on X2 and X3; the text
    sections are last year's with the year and figures changed (copy_text) or new ones."""
    rng = random.Random(f"{agency}:{seed}")
    out: dict[int, dict] = {}
    for year in years:
        template = "2019" if year <= 2020 else "2021"
        fields = dict(make_numbers(rng, template, "gov"))
        prev = out.get(year - 1)
        if prev:
            for c in APPLICANT_COLUMNS:
                fields[f"requests.carried.{c}"] = prev[f"requests.carry_forward.{c}"]
            if template == "2019" and year == 2020:
                for item in R5_ITEMS:
                    fields[f"active.{item}.prev"] = prev[f"active.{item}.prev"] + prev[f"active.{item}.change"]
        for i, key in enumerate(("text.overview", "text.problems", "text.other")):
            if prev and copy_text:
                fields[key] = prev[key].replace(str(year - 1), str(year))
            else:
                fields[key] = text_of(random.Random(f"{agency}:{seed}:{year}:{key}"), year, 6 - 2 * i)
        out[year] = fields
    return out


def write(folder: Path, results: list[DocumentResult]) -> Path:
    """The results as an extract folder: <document>.json each, as flows/extract.py writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    for res in results:
        (folder / f"{res.document}.json").write_text(res.model_dump_json(indent=1), encoding="utf-8")
    return folder
