"""Agency names: one body named many ways (extractors/agency.py)."""

from __future__ import annotations

import pytest

from extractors.agency import AliasError, canonical, group_bodies, key, load_aliases, same_body, split_parents


def test_spelling_variants_fold():
    assert key("洪泽区人民政府") == key("洪泽区 政府") == key("洪泽区政府")
    assert key("淮安市人民政府办公厅") == key("淮安市政府办公室")
    assert key("ＡＢ县（试点）人民政府") == "AB县试点政府"  # full-width, brackets, spaces


def test_parents_split_off_but_a_unit_keeps_its_own_name():
    assert split_parents(key("江苏省淮安市洪泽区人民政府")) == (("江苏省", "淮安市"), "洪泽区政府")
    assert split_parents(key("淮安市人民政府")) == ((), "淮安市政府")
    assert split_parents(key("淮安市教育局")) == ((), "淮安市教育局")  # a bureau keeps its city
    assert split_parents(key("淮安市城市管理局")) == ((), "淮安市城市管理局")  # 城市 is no place


def test_same_body():
    assert same_body("洪泽区人民政府", "淮安市洪泽区人民政府")
    assert same_body("淮安市洪泽区政府", "江苏省淮安市洪泽区人民政府")
    assert not same_body("北京市朝阳区人民政府", "长春市朝阳区人民政府")
    assert not same_body("淮安市教育局", "扬州市教育局")
    assert not same_body("洪泽区人民政府", "洪泽区教育局")


def test_group_bodies_joins_a_short_name_only_where_it_is_unambiguous():
    groups = group_bodies(["洪泽区人民政府", "淮安市洪泽区人民政府", "朝阳区政府", "北京市朝阳区政府",
                           "长春市朝阳区政府"])
    assert groups["洪泽区人民政府"] == groups["淮安市洪泽区人民政府"]
    assert len({groups["朝阳区政府"], groups["北京市朝阳区政府"], groups["长春市朝阳区政府"]}) == 3


def test_aliases(tmp_path):
    path = tmp_path / "aliases.csv"
    path.write_text("name,canonical\n洪泽县人民政府,淮安市洪泽区人民政府\n\n", encoding="utf-8")
    aliases = load_aliases(path)
    assert canonical("洪泽县 人民政府", aliases) == canonical("淮安市洪泽区政府")
    assert same_body("洪泽县人民政府", "洪泽区人民政府", aliases)
    assert not same_body("洪泽县人民政府", "洪泽区人民政府")
    path.write_text("a\n", encoding="utf-8")
    with pytest.raises(AliasError, match="line 1"):
        load_aliases(path)
    path.write_text("甲,乙\n甲,丙\n", encoding="utf-8")
    with pytest.raises(AliasError, match="two canonical names"):
        load_aliases(path)
