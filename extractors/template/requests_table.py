"""Table 三: 收到和处理政府信息公开申请情况 → `requests.<row>.<column>`."""

from __future__ import annotations

import re

from ..document import Cell, Table
from ..result import Reading
from ..standard_model import APPLICANT_COLUMNS, OTHER_SUBROWS, REQUEST_ROWS, request_rows
from .labels import REQUEST_ROW_PATTERNS, match_label, normalize, strip_numbering
from .rows import CONF_AMBIGUOUS_ROW, CONF_REPAIRED, RowView, cell_reading
from .values import MAX_DIGITS

N = len(APPLICANT_COLUMNS)
_GROUP = re.compile(r"\(([一二三四五六七])\)")  # （三） of 三（三）不予公开, after normalize
_NUMBERED = re.compile(r"^([(（][一二三四五六七八九十\d]+[)）]|\d+[.、]|[一二三四五六七八九十]+[.、])")
_OTHER = ("其他", "其它")  # 2021's 3.其他 under （六）其他处理
_HEADER_WORDS = {"自然人": "natural", "商业企业": "commercial", "科研机构": "research",
                 "社会公益组织": "social", "法律服务机构": "legal", "其他": "other", "总计": "total"}


def is_requests_table(rows: list[RowView]) -> bool:
    hits = {m.key for rv in rows if len(rv.values) >= 3
            for m in [match_label(rv.label, REQUEST_ROW_PATTERNS)] if m and m.exact}
    return len(hits) >= 4 or bool(hits & {"new", "granted", "carry_forward"}) and len(hits) >= 2


def read_requests(tables: list[list[RowView]], template: str, grid_reliable: bool) -> dict[str, Reading]:
    """Read every row of the 三 table(s); a table split across pages arrives as several."""
    readings: dict[str, Reading] = {}
    rows_read: set[str] = set()
    group = ""
    unplaced: list[tuple[int, RowView, dict[int, str]]] = []  # rows of figures, label not read
    placed: list[tuple[int, str]] = []  # (position, key) of the rows read by their labels
    at = 0
    for rows in tables:
        header_cols = _header_columns(rows[0].table) if grid_reliable and rows else {}
        for rv in _join_rows_split_by_page_break(rows):
            marks = _GROUP.findall(normalize(rv.label))
            if marks:
                group = marks[-1]
            if not rv.values:
                continue
            at += 1
            key, exact = _row_key(rv, group, template) if rv.labels else (None, False)
            if key is None:
                if len(rv.values) >= N:
                    unplaced.append((at, rv, header_cols))
                continue
            if key in rows_read:
                continue
            rows_read.add(key)
            placed.append((at, key))
            readings.update(_row_readings(key, exact, rv, header_cols))
    for key, rv, header_cols in _placed_by_order(unplaced, placed, template, rows_read):
        rows_read.add(key)
        readings.update(_row_readings(key, False, rv, header_cols, note=_BY_ORDER))
    if template == "2021" and "other" in rows_read:
        _place_other_row(readings, rows_read)
    return readings


_BY_ORDER = "label not read (OCR); the row placed by the template's order between the rows around it"


def _placed_by_order(unplaced, placed, template: str, rows_read: set[str]):
    """Rows of figures whose label OCR garbled (4保护第游合法权益, 3、其他 cut from its group),
    given the keys the template's fixed row order leaves for them: only between two rows read
    by their labels, and only where exactly as many keys are missing there as rows stand
    there. Their figures then face R2 and R3 like any other row's."""
    order = request_rows(template, "other" in rows_read)
    for (a, first), (b, last) in zip(placed, placed[1:]):
        if first not in order or last not in order or order.index(first) >= order.index(last):
            continue
        between = [u for u in unplaced if a < u[0] < b]
        missing = [k for k in order[order.index(first) + 1:order.index(last)] if k not in rows_read]
        if between and len(between) == len(missing) == b - a - 1:
            for key, (_, rv, header_cols) in zip(missing, between):
                yield key, rv, header_cols


def _place_other_row(readings: dict[str, Reading], rows_read: set[str]) -> None:
    """A row labelled （六）其他处理 in a 2021 report. Without any of the sub-rows 1.–3. it is
    the older single row and stays `other` (spec: "The older （六） row in later reports").
    Beside sub-rows it is their group's line: the 3.其他 row when that one has no label of its
    own, else a subtotal the template lacks, which no field takes."""
    subrows = rows_read & set(OTHER_SUBROWS)
    if not subrows:
        return
    other = {k: readings.pop(k) for k in [k for k in readings if k.startswith("requests.other.")]}
    if "other_misc" in subrows:
        return
    for key, reading in other.items():
        reading.key = key.replace("requests.other.", "requests.other_misc.")
        readings[reading.key] = reading


def _join_rows_split_by_page_break(rows: list[RowView]) -> list[RowView]:
    """A row that Word let break over a page arrives as two: one half with the figures, the
    other with blank cells, the label cut between them. Joined where one half is blank, a
    half's label names no row by itself, and the joined label does."""
    out: list[RowView] = []
    for rv in rows:
        if not rv.labels and len(rv.values) == N + 1 and rv.values[0].text.strip().isdigit():
            # "3.其他" cut after its number: the "3" stands where the label goes.
            rv = RowView(rv.table, rv.values[:1], rv.values[1:])
        prev = out[-1] if out else None
        if prev is not None and _halves_of_one_row(prev, rv):
            values = rv.values if all(not c.text.strip() for c in prev.values) else prev.values
            cut = prev.labels[-1].model_copy(update={"text": prev.labels[-1].text + rv.labels[-1].text})
            out[-1] = RowView(rv.table, prev.labels[:-1] + rv.labels[:-1] + [cut], values)
        else:
            out.append(rv)
    return out


def _halves_of_one_row(a: RowView, b: RowView) -> bool:
    if not (a.labels and b.labels and a.values and len(a.values) == len(b.values)):
        return False
    blank_a = all(not c.text.strip() for c in a.values)
    blank_b = all(not c.text.strip() for c in b.values)
    if blank_a == blank_b:
        return False
    # Judge each half by its own last label cell: a group cell spanning rows (（六）其他处理)
    # would make any fragment beside it look like a row of its own.
    if _NUMBERED.match(normalize(b.labels[-1].text)):
        return False  # a numbered label opens a row of its own, it continues none
    alone = [_names_a_row(x.labels[-1].text) for x in (a, b)]
    return not all(alone) and _names_a_row(a.labels[-1].text + b.labels[-1].text)


def _names_a_row(label: str) -> bool:
    return (match_label(label, REQUEST_ROW_PATTERNS) is not None
            or strip_numbering(normalize(label)) in _OTHER)


def _row_key(rv: RowView, group: str, template: str) -> tuple[str | None, bool]:
    bare = strip_numbering(normalize(rv.labels[-1].text))
    if bare in _OTHER and group == "六":
        return ("other" if template == "2019" else "other_misc"), True
    match = match_label(rv.label, REQUEST_ROW_PATTERNS)
    if match is None:
        return None, False
    if len(rv.labels) > 1 and rv.labels[-1].text.strip() \
            and match_label(rv.labels[-1].text, REQUEST_ROW_PATTERNS) is None \
            and match_label(" ".join(c.text for c in rv.labels[:-1]), REQUEST_ROW_PATTERNS) is not None:
        # What matched is the group's label beside the row's own, which OCR garbled:
        # （六）其他处理 | 1.申请人无正当理由… is the sub-row 1., not the older row （六）.
        return None, False
    key = match.key
    if key.startswith("other_") and template == "2019":
        return None, False
    if key == "total" and group not in ("七", ""):
        # 总计 under another group is that group's subtotal row, which the template lacks.
        return None, False
    return key, match.exact


def _row_readings(key: str, exact: bool, rv: RowView,
                  header_cols: dict[int, str], note: str | None = None) -> dict[str, Reading]:
    cells = rv.values
    confidence_cap = 1.0
    if len(cells) > N:
        repaired = _rejoin_split_number(cells)
        if repaired is not None:
            cells, note, confidence_cap = repaired, "a number split over two cells, rejoined because R3 then holds", CONF_REPAIRED
        elif all(not c.text.strip() for c in cells[: len(cells) - N]):
            cells = cells[len(cells) - N:]
        else:
            cells, note, confidence_cap = cells[-N:], f"{len(rv.values)} value cells where {N} expected", CONF_AMBIGUOUS_ROW
    if len(cells) < N and header_cols and all(c.col in header_cols for c in cells):
        columns = [header_cols[c.col] for c in cells]
    else:
        if len(cells) < N:
            note, confidence_cap = f"{len(cells)} value cells where {N} expected", CONF_AMBIGUOUS_ROW
        columns = list(APPLICANT_COLUMNS[N - len(cells):])
    out: dict[str, Reading] = {}
    for column, cell in zip(columns, cells):
        reading = cell_reading(f"requests.{key}.{column}", cell, "count", rv.label, exact,
                               rv.table, note)
        reading.confidence = min(reading.confidence, confidence_cap)
        out[reading.key] = reading
    return out


def _rejoin_split_number(cells: list[Cell]) -> list[Cell] | None:
    """Two adjacent digit cells that together make the row add up (R3) were one number."""
    if len(cells) != N + 1 or not all(_plain_count(c.text) for c in cells):
        return None
    found = []
    for i in range(N):
        joined = cells[i].model_copy(update={"text": cells[i].text.strip() + cells[i + 1].text.strip()})
        candidate = cells[:i] + [joined] + cells[i + 2:]
        if not _plain_count(joined.text):
            continue
        numbers = [int(c.text) for c in candidate]
        if sum(numbers[:-1]) == numbers[-1]:
            found.append(candidate)
    return found[0] if len(found) == 1 else None


def _plain_count(text: str) -> bool:
    """Digits that int() takes (isdigit() admits '①', which it refuses) and the dataset holds."""
    text = text.strip()
    return text.isdecimal() and len(text) <= MAX_DIGITS


def _header_columns(table: Table) -> dict[int, str]:
    """Grid column → applicant column, from the header cells, when the grid is real."""
    cols: dict[int, str] = {}
    for row in table.rows[:4]:
        for cell in row:
            key = _HEADER_WORDS.get(normalize(cell.text))
            if key and cell.colspan == 1:
                cols[cell.col] = key
    return cols if sorted(cols.values()) == sorted(APPLICANT_COLUMNS) else {}


def request_keys(template: str) -> list[str]:
    return [f"requests.{r}.{c}" for r in REQUEST_ROWS[template] for c in APPLICANT_COLUMNS]
