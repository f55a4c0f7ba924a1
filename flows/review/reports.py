"""How the app names a report and what it shows beside a queued field: body and year (a
`run` folder names its files by hash, which tells a reviewer nothing), where the report
came from, the machine's value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, tuple_

from ..store import fields, reports, value_of
from .queue import Item


@dataclass(frozen=True)
class ReportName:
    id: int
    document: str
    agency: str | None
    year: int | None
    url: str | None  # where it was harvested from (run mode)
    raw_path: str | None  # the file read

    @property
    def label(self) -> str:
        """Body and year where the report or the manifest says them; the file's name (cut
        short: a run names files by their hash) where the body is not known."""
        year = f"{self.year}年" if self.year else None
        body = self.agency or (self.document if len(self.document) <= 24 else self.document[:12] + "…")
        return " ".join(p for p in (body, year) if p)

    @property
    def has_file(self) -> bool:
        return bool(self.raw_path) and Path(self.raw_path).is_file()


def report_names(engine: Engine) -> dict[int, ReportName]:
    with engine.connect() as conn:
        rows = conn.execute(select(reports.c.id, reports.c.document, reports.c.agency, reports.c.year,
                                   reports.c.final_url, reports.c.url, reports.c.raw_path)).all()
    return {r.id: ReportName(r.id, r.document, r.agency, r.year, _web(r.final_url) or _web(r.url), r.raw_path)
            for r in rows}


def _web(url: str | None) -> str | None:
    """Only a web address is made a link (not javascript: or file: from a manifest)."""
    return url if url and url.lower().startswith(("http://", "https://")) else None


def shown_values(engine: Engine, items: list[Item]) -> dict[tuple[int, str], object]:
    """The machine's value of each of `items` (a page of the queue)."""
    wanted = [(i.report_id, i.field) for i in items]
    if not wanted:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(fields.c.report_id, fields.c.key, fields.c.value_num, fields.c.value_text)
                            .where(tuple_(fields.c.report_id, fields.c.key).in_(wanted))).all()
    return {(r.report_id, r.key): value_of(r.key, r.value_num, r.value_text) for r in rows}
