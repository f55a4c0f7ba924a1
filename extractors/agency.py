"""Which reporting body a name stands for. Reports name one body many ways: 洪泽区人民政府 and
淮安市洪泽区人民政府, 人民政府 and 政府, 办公厅 and 办公室, full-width letters and stray spaces.

    key(name)                     the comparison form of one name (spelling variants folded)
    canonical(name, aliases)      key() after the alias file's say: the body's key
    same_body(a, b, aliases)      one body? equal keys, or one key the other's with a parent
                                  prefix (省/市/区/县 … names) left off
    group_bodies(names, aliases)  for a dataset: each name → the canonical key of its body
    load_aliases(path)            an alias CSV (name, canonical name) for what rules cannot tell

A name without its parent (洪泽区政府) joins the fuller one (淮安市洪泽区政府) only within a
dataset that holds exactly one fuller form of it: 朝阳区政府 beside both 北京市朝阳区政府 and
长春市朝阳区政府 stays a body of its own rather than be guessed into one of them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

# Spelling variants of one body's name: the longer form first.
_VARIANTS = (("人民政府", "政府"), ("办公厅", "办公室"))
_DROP = re.compile(r"[\s\u3000·•\"'“”‘’《》()（）\[\]【】]")
# One administrative unit at the start of a name: a place name and its level. The place
# name holds no level character itself, so 淮安市洪泽区 splits as 淮安市 | 洪泽区.
_UNIT = re.compile(r"[^省市区县州盟旗镇乡]{1,8}?(?:自治区|自治州|自治县|自治旗|特别行政区|地区|街道|"
                   r"省|市|区|县|州|盟|旗|镇|乡)")
# Words that end like a unit but name no place (城市管理局 is no 城市 unit's 管理局).
_NOT_UNITS = frozenset({"城市", "城区", "市区", "社区", "园区", "景区", "街区", "小区", "郊区", "山区",
                        "牧区", "林区", "矿区", "辖区", "城乡", "老区"})


class AliasError(ValueError):
    """An alias file that cannot be used, with the line that says why."""


def key(name: str) -> str:
    """The comparison form of a name: NFKC (full-width → half-width), no spaces, brackets or
    quotes, 人民政府 → 政府, 办公厅 → 办公室."""
    text = _DROP.sub("", unicodedata.normalize("NFKC", name))
    for long, short in _VARIANTS:
        text = text.replace(long, short)
    return text


def split_parents(name_key: str) -> tuple[tuple[str, ...], str]:
    """A key as (parent units, the body under them): 淮安市洪泽区政府 → (('淮安市',), '洪泽区政府');
    江苏省淮安市教育局 → (('江苏省',), '淮安市教育局'). The body keeps its own unit, so a unit's
    government (淮安市政府) has no parent to lose."""
    units, rest = [], name_key
    while (m := _UNIT.match(rest)) and m.group(0) not in _NOT_UNITS:
        units.append(m.group(0))
        rest = rest[m.end():]
    if not units:
        return (), name_key
    return tuple(units[:-1]), units[-1] + rest


def canonical(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """The key of the body `name` stands for: the alias file's canonical name where it lists
    the name (matched by key, so spelling variants of a listed name match too), else the
    name's own key. Parents are kept: group_bodies decides where a shorter name belongs."""
    k = key(name)
    return key(aliases[k]) if aliases and k in aliases else k


def same_body(a: str, b: str, aliases: Mapping[str, str] | None = None) -> bool:
    """Whether two names stand for one body: equal canonical keys, or the same body under
    parents of which one name gives a part the other extends (洪泽区政府, 淮安市洪泽区政府 and
    江苏省淮安市洪泽区政府 are one; 北京市朝阳区政府 and 长春市朝阳区政府 are not)."""
    ka, kb = canonical(a, aliases), canonical(b, aliases)
    if ka == kb:
        return True
    (pa, body_a), (pb, body_b) = split_parents(ka), split_parents(kb)
    if body_a != body_b:
        return False
    short, long = sorted((pa, pb), key=len)
    return long[len(long) - len(short):] == short  # the nearer parents must agree


def group_bodies(names: Iterable[str], aliases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each name → the canonical key of its body, within one dataset. A name is put with the
    fullest form of its body in the dataset when that form is the only one it can belong to;
    where two bodies under different parents could claim it, it keeps its own key."""
    names = list(dict.fromkeys(names))
    keys = {n: canonical(n, aliases) for n in names}
    by_body: dict[str, set[str]] = defaultdict(set)
    for k in set(keys.values()):
        by_body[split_parents(k)[1]].add(k)
    target: dict[str, str] = {}
    for k in set(keys.values()):
        claims = {other for other in by_body[split_parents(k)[1]]
                  if _depth(other) >= _depth(k) and same_body(k, other)}
        # the fullest forms that claim it (none fuller extends them): one → that body;
        # several → ambiguous, it stays as named
        fullest = [c for c in claims
                   if not any(_depth(d) > _depth(c) and same_body(c, d) for d in claims)]
        target[k] = fullest[0] if len(fullest) == 1 else k
    return {n: target[keys[n]] for n in names}


def _depth(name_key: str) -> int:
    return len(split_parents(name_key)[0])


def load_aliases(path: Path) -> dict[str, str]:
    """An alias CSV: each row `name, canonical name` (a header row naming the columns `name`
    and `canonical` is allowed). Returns key(name) → canonical name."""
    aliases: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for line, row in enumerate(csv.reader(fh), 1):
                cells = [c.strip() for c in row]
                if not any(cells) or (line == 1 and cells[:1] == ["name"]):
                    continue
                if len(cells) < 2 or not cells[0] or not cells[1]:
                    raise AliasError(f"{path}, line {line}: expected `name, canonical name`, got {row!r}")
                k = key(cells[0])
                if aliases.get(k, cells[1]) != cells[1]:
                    raise AliasError(f"{path}, line {line}: {cells[0]} is given two canonical names "
                                     f"({aliases[k]}, {cells[1]})")
                aliases[k] = cells[1]
    except UnicodeDecodeError as err:
        raise AliasError(f"{path}: not UTF-8 text ({err})") from None
    return aliases
