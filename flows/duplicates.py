"""The same report several times: a DOCX, its PDF and a re-published copy, or two files of one
body and year with different figures (a corrected re-issue, a report filed under the wrong
year). Each would count again in every sum, so the dataset's reports are grouped:

- a **group** is one body and year: the body as extractors.agency.group_bodies settles its
  names within the dataset (洪泽区人民政府 and 淮安市洪泽区人民政府 are one), the year the
  report's own (meta.year), else the one its source gave (a manifest row);
- one report of each group is its **primary**, the one the wide table holds; every other is
  a **duplicate** (it prints the same figures as the primary) or a **conflict** (some figure
  differs: each such field is flagged, on both reports, with the other's value).

Only reports read as reports (status ok) that name a body and a year are grouped; an error,
a file that is no report, or a report whose body or year is unknown gets no group and no role.

The primary is the best read report of its group, by in turn:
1. fewest rule failures blamed on the extraction (a misread figure);
2. fewest fields flagged for review;
3. fewest fields read by OCR (a text layer over a scan of the same page);
4. fewest rule failures blamed on the report itself (a corrected re-issue fixes them);
5. the document's name, then its sha256: stable from run to run.

"Same figures" compares every table field of either report (the keys of tables 二, 三 and
四, not the text sections, which formats cut differently): equal numbers, or both not
stated. The per-document JSONs stay each file's own reading: the grouping is the dataset's. No I/O here: flows.outputs (`extract`) and flows.groups_db (the database)
hand the reports in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from extractors.agency import group_bodies
from extractors.result import DocumentResult, ReviewItem, Value
from extractors.standard_model import is_numeric_key

@dataclass(frozen=True)
class Member:
    """What grouping needs of one report: its body and year, its figures, how well it was read."""
    id: str  # unique in the dataset: the document id of `extract` (its JSON's name less .json), a row id
    name: str  # the document's name, as a reason shows it
    agency: str
    year: int
    figures: dict[str, Value]  # table fields only: key → value (None: not stated)
    rank: tuple  # the primary is the member with the least rank (see the module's docstring)

    @classmethod
    def read(cls, id: str, name: str, sha256: str, agency, year, figures: Mapping[str, Value], *,
             extraction_failures: int, flagged: int, ocr: int, source_failures: int) -> Member | None:
        """A report as a member, or None when its body or year is unknown."""
        agency, year = _text(agency), _year(year)
        if not agency or not year:
            return None
        rank = (extraction_failures, flagged, ocr, source_failures, name, sha256)
        return cls(id, name, agency, year, {k: v for k, v in figures.items() if is_numeric_key(k)}, rank)

    @classmethod
    def of(cls, doc: str, result: DocumentResult, agency: str | None = None,
           year: int | None = None) -> Member | None:
        """The report `result` (document id `doc`) as a member, or None when it cannot be
        grouped. `agency` and `year`: what its source says (a manifest row), used where the
        report states none."""
        if result.status != "ok":
            return None
        failures = Counter(r.blame for r in result.rules if r.status == "fail")
        return cls.read(doc, doc, result.sha256,
                        _text(result.fields.get("meta.agency")) or agency,
                        _year(result.fields.get("meta.year")) or year, result.fields,
                        extraction_failures=failures["extraction"], flagged=len({i.field for i in result.review}),
                        ocr=sum(1 for p in result.provenance.values() if p.source == "ocr"),
                        source_failures=failures["source"])


@dataclass(frozen=True)
class Difference:
    """One table field that two reports of a group print differently."""
    key: str
    value: Value  # this report's
    other: str  # the other report (its name)
    other_value: Value


@dataclass
class Placement:
    """A report's place in its group."""
    group: str  # "<body's canonical key>/<year>"
    role: str  # primary, duplicate or conflict
    primary: str  # the group's primary (Member.id)
    size: int  # reports in the group
    differences: list[Difference] = field(default_factory=list)  # none unless conflicts

    def review_items(self) -> list[ReviewItem]:
        """One review item per field that differs from another report of the group."""
        by_key: dict[str, list[Difference]] = defaultdict(list)
        for d in self.differences:
            by_key[d.key].append(d)
        return [ReviewItem(field=key, reason=_reason(self, diffs)) for key, diffs in by_key.items()]


def place(members: Iterable[Member], aliases: Mapping[str, str] | None = None) -> dict[str, Placement]:
    """Each member's id → its placement. `aliases`: extractors.agency.load_aliases."""
    members = list(members)
    body_of = group_bodies((m.agency for m in members), aliases)
    groups: dict[str, list[Member]] = defaultdict(list)
    for m in members:
        groups[f"{body_of[m.agency]}/{m.year}"].append(m)
    placed: dict[str, Placement] = {}
    for group, found in groups.items():
        primary, *others = sorted(found, key=lambda m: m.rank)
        head = placed[primary.id] = Placement(group, "primary", primary.id, len(found))
        for other in others:
            diffs = differences(other, primary)
            placed[other.id] = Placement(group, "conflict" if diffs else "duplicate", primary.id,
                                         len(found), diffs)
            head.differences += [Difference(d.key, d.other_value, other.name, d.value) for d in diffs]
    return placed


def place_results(results: Iterable[tuple[str, DocumentResult]],
                  aliases: Mapping[str, str] | None = None) -> dict[str, Placement]:
    """place() for per-document results as (document id, result); the reports' own body
    and year. Results are read one at a time and only their figures kept."""
    return place(filter(None, (Member.of(doc, result) for doc, result in results)), aliases)


def differences(member: Member, primary: Member) -> list[Difference]:
    """The table fields `member` prints otherwise than `primary`, in key order."""
    keys = sorted(set(member.figures) | set(primary.figures))
    return [Difference(k, member.figures.get(k), primary.name, primary.figures.get(k))
            for k in keys if not _same(member.figures.get(k), primary.figures.get(k))]


def flag(result: DocumentResult, placement: Placement | None) -> DocumentResult:
    """`result` with a review item for each field another report of its group prints
    otherwise. In memory only: the per-document JSON stays the reading of its own file."""
    if placement and placement.differences:
        result.review = [*result.review, *placement.review_items()]
    return result


def counts(roles: Iterable[tuple[str | None, str | None]]) -> dict[str, int]:
    """For the summary, from each document's (group, role): groups, those with duplicates
    and with conflicts, and the reports that are duplicates and conflicts (left out of the
    wide table)."""
    by_group: dict[str, set[str]] = defaultdict(set)
    found = Counter()
    for group, role in roles:
        if group:
            by_group[group].add(role)
            found[role] += 1
    return {"groups": len(by_group),
            "groups_with_duplicates": sum("duplicate" in r for r in by_group.values()),
            "groups_with_conflicts": sum("conflict" in r for r in by_group.values()),
            "duplicates": found["duplicate"], "conflicts": found["conflict"]}


def in_wide_table(role: str | None) -> bool:
    """The wide table holds one report per body and year: its primary (and the documents
    that are in no group, role None: errors, files that are no report, reports of unknown
    body or year)."""
    return role in (None, "primary")


def _reason(placement: Placement, diffs: list[Difference]) -> str:
    others = "; ".join(f"{d.other} prints {_shown(d.other_value)}" for d in diffs)
    role = "the primary" if placement.role == "primary" else f"a {placement.role}"
    return (f"this report ({role} of {placement.group}) prints {_shown(diffs[0].value)}; "
            f"another report of the same body and year differs: {others}")


def _shown(value: Value) -> str:
    return "nothing (not stated)" if value is None else str(value)


def _same(a: Value, b: Value) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) < 1e-9
    return a == b


def _text(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _year(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
