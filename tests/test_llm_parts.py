"""The LLM step's parts on their own: settings, rendering, grounding, weighing an answer in."""

from __future__ import annotations

import pytest

from extractors.document import Cell, Paragraph, Block, Table
from extractors.llm.asks import plan_asks, render_table, section_ask
from extractors.llm.grounding import grounded, ignores_section
from extractors.llm.merge import AGREED, LLM_ALONE, merge_answer
from extractors.llm.prompt import load_prompt
from extractors.llm.schemas import answer_model
from extractors.llm.settings import SettingsError, load_settings, mode_from
from extractors.result import FieldProvenance, Reading
from extractors.standard_model import field_keys, section_of
from extractors.template.sections import Section


def test_no_model_means_no_llm():
    assert load_settings({}) is None
    assert mode_from(None, configured=False) == "off"
    assert mode_from(None, configured=True) == "fallback"


def test_settings_from_file_and_environment(tmp_path):
    config = tmp_path / "llm.toml"
    config.write_text('[llm]\nmodel = "qwen-plus"\nbase_url = "https://example.invalid/v1"\nrpm = 30\n'
                      'token_budget = 500000\n', encoding="utf-8")
    settings = load_settings({"NIANBAO_LLM_CONFIG": str(config), "NIANBAO_LLM_RPM": "10",
                              "OPENAI_API_KEY": "k", "NIANBAO_LLM_TEMPERATURE": "none"})
    assert (settings.model, settings.rpm, settings.token_budget, settings.api_key) == ("qwen-plus", 10, 500000, "k")
    assert settings.temperature is None and settings.answer_mode == "tools"


@pytest.mark.parametrize("env", [
    {"NIANBAO_LLM_MODEL": "m", "NIANBAO_LLM_RPM": "fast"},
    {"NIANBAO_LLM_MODEL": "m", "NIANBAO_LLM_CONCURRENCY": "0"},
    {"NIANBAO_LLM_MODEL": "m", "NIANBAO_LLM_ANSWER_MODE": "xml"},
])
def test_unusable_settings_are_errors(env):
    with pytest.raises(SettingsError):
        load_settings(env)


def test_unknown_setting_in_file_is_an_error(tmp_path):
    config = tmp_path / "llm.toml"
    config.write_text('[llm]\nmodel = "m"\nrmp = 30\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="rmp"):
        load_settings({"NIANBAO_LLM_CONFIG": str(config)})


def test_mode_must_be_known():
    with pytest.raises(SettingsError):
        mode_from("always", configured=True)


def _table() -> Table:
    return Table(id="t2", rows=[
        [Cell(text="信息内容", row=0, col=0, rowspan=2), Cell(text="本年处理决定数量", row=0, col=1, colspan=2)],
        [Cell(text="行政许可", row=1, col=1), Cell(text="1,234", row=1, col=2)],
    ])


def test_tables_render_with_cell_ids_and_merges():
    assert render_table(_table()) == "表t2\n||c0|c1|c2|\n|r0|信息内容|本年处理决定数量|<|\n|r1|^|行政许可|1,234|"


def test_a_section_is_rendered_alone_with_its_printed_numbers():
    section = Section("active", "二、主动公开政府信息情况",
                      [Block(paragraph=Paragraph(text="本年收费 251000元。")), Block(table=_table())])
    ask = section_ask("active", "2021", [section], [])
    assert ask.content.startswith("本年收费 251000元。\n表t2")
    assert {251000.0, 1234.0} <= ask.printed and ask.figures == (1234.0,)
    assert ask.keys == tuple(k for k in field_keys("2021") if section_of(k) == "active")
    assert section_ask("active", "2021", [Section("active", "二、主动公开")], []) is None  # nothing to read


def test_sections_asked_by_mode():
    def reading(key, confidence):
        return Reading(key, FieldProvenance("table"), 1, confidence)

    sections = [Section(name, name, [Block(paragraph=Paragraph(text="共1件"))]) for name in ("active", "requests", "appeals")]
    readings = {"requests.new.natural": reading("requests.new.natural", 0.3),
                "active.licensing.decisions": reading("active.licensing.decisions", 0.99)}
    assert [a.section for a in plan_asks("fallback", "2021", sections, {}, readings, [])] == ["requests"]
    assert [a.section for a in plan_asks("verify", "2021", sections, {}, readings, [])] == ["active", "requests", "appeals"]
    assert plan_asks("off", "2021", sections, {}, readings, []) == []


def test_grounding():
    printed = frozenset({0.0, 18.0, 251000.0, 182.32})
    assert grounded("active.licensing.change", -18, printed)  # printed as 减18
    assert grounded("active.fees.amount", 25.1, printed)  # printed as 251000元
    assert grounded("active.procurement.amount", 182.32, printed)
    assert grounded("requests.new.natural", None, printed)  # null claims nothing
    assert not grounded("requests.new.natural", 7, printed)


def test_an_answer_that_ignores_the_figures_is_caught():
    section = Section("requests", "三", [Block(table=Table(id="t1", rows=[
        [Cell(text=t, row=0, col=i) for i, t in enumerate(["新收", "5", "7", "12"])]]))])
    ask = section_ask("requests", "2019", [section], [])
    assert ignores_section(ask, {"requests.new.natural": 0, "requests.new.commercial": 0})
    assert not ignores_section(ask, {"requests.new.natural": 5, "requests.new.commercial": 7,
                                     "requests.new.total": 12})


def _ask_with(numbers):
    section = Section("appeals", "四", [Block(table=Table(id="t1", rows=[
        [Cell(text=t, row=0, col=i) for i, t in enumerate(["行政复议", *numbers])]]))])
    return section_ask("appeals", "2019", [section], [])


def test_merge_agreement_disagreement_and_llm_only():
    ask = _ask_with(["3", "1", "0", "0", "4"])
    readings = {
        "review.upheld": Reading("review.upheld", FieldProvenance("table"), 3, 0.75),  # fuzzy label
        "review.corrected": Reading("review.corrected", FieldProvenance("table"), 1, 0.99),
        "review.other": Reading("review.other", FieldProvenance("absent"), None, 0.25),
        "review.pending": Reading("review.pending", FieldProvenance("table"), None, 0.2),
    }
    merge_answer(readings, ask, {"review.upheld": 3, "review.corrected": 4, "review.other": 0,
                                 "review.pending": 9})
    assert readings["review.upheld"].confidence == AGREED
    assert readings["review.corrected"].value == 1 and readings["review.corrected"].confidence < 0.7
    assert "the LLM read 4" in readings["review.corrected"].prov.note
    assert readings["review.other"].value == 0 and readings["review.other"].prov.method == "llm"
    assert readings["review.other"].confidence == LLM_ALONE
    assert readings["review.pending"].value is None  # 9 is printed nowhere: not taken
    assert "not printed in the section" in readings["review.pending"].prov.note


def test_every_answer_model_has_a_field_guide_and_the_standard_keys():
    prompt = load_prompt()
    for template in ("2019", "2021"):
        for section in ("active", "requests", "appeals"):
            guide = prompt.parts[f"fields {section} {template}"]
            model = answer_model(section, template)
            names = set(model.model_fields)
            assert all(name in guide for name in names), (section, template)
            nested = {f"{name}.{leaf}" for name, info in model.model_fields.items()
                      for leaf in info.annotation.model_fields}
            prefix = "" if section == "appeals" else f"{section}."
            assert {prefix + k for k in nested} == {k for k in field_keys(template) if section_of(k) == section}
            assert all(leaf in guide for k in nested for leaf in [k.split(".")[1]])
