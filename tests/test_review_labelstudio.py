"""Review in Label Studio: the open flagged fields as tasks with their evidence and the
machine's value pre-filled, a labeling config that fits them, and a Label Studio export
read back as decisions (once, whatever it holds)."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from sqlalchemy import select

from flows import store
from flows.review.labelstudio import CHOICES, NO_IMAGE, export_tasks, import_annotations
from flows.review.queue import field_view, load_items, record
from flows.review.source import open_source
from review_cases import SCRIPT, build_review_db

AT = "2024-05-01T08:00:00.000000Z"  # when the annotations were made: before the test runs


@pytest.fixture()
def exported(tmp_path):
    ids = build_review_db(tmp_path)
    engine = open_source(str(tmp_path)).engine
    items = load_items(engine)
    out = tmp_path / "labelstudio" / "tasks.json"
    count = export_tasks(engine, items, out)
    tasks = json.loads(out.read_text(encoding="utf-8"))
    yield engine, items, ids, out, count, {t["data"]["field_id"]: t for t in tasks}
    engine.dispose()


def _png(uri: str) -> Image.Image:
    head, _, data = uri.partition(",")
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)), formats=["PNG"])


def test_tasks_carry_the_field_its_evidence_and_the_machine_value(exported):
    engine, items, ids, _, count, tasks = exported
    assert count == len(tasks) == len(items)
    assert set(tasks) == {f"{i.report_id}/{i.field}" for i in items}
    with engine.connect() as conn:
        sha = dict(conn.execute(select(store.reports.c.id, store.reports.c.sha256)).tuples().all())
    for item in items:
        task = tasks[f"{item.report_id}/{item.field}"]
        data = task["data"]
        assert data["sha256"] == sha[item.report_id] and data["field"] == item.field
        machine = field_view(engine, item).value
        assert data["machine_value"] == ("null" if machine is None else str(machine))
        [prediction] = task["predictions"]
        assert prediction["model_version"] == "nianbao " + store.saved_reports(engine)[data["sha256"]]["extractor_version"]
        if machine is not None:
            assert prediction["result"] == [{"from_name": "value", "to_name": "machine_value", "type": "textarea",
                                             "value": {"text": [str(machine)]}}]

    x1 = tasks[f"{ids['x1.pdf']}/requests.other_misc.total"]["data"]
    assert x1["document"] == "x1.pdf" and isinstance(x1["year"], int)
    assert x1["rules"].startswith("X1 (prose “") and "prose says 2, table says 1 — " in x1["rules"]
    assert "requests.other_no_fee.total=" in x1["rules"] and "prose says 2" in x1["reasons"]
    for field_id, task in tasks.items():
        if field_id.startswith(f"{ids['x1.pdf']}/"):  # a page crop, cell outlined
            assert _png(task["data"]["image"]).height > 20 and task["data"]["table"] == ""
        if field_id.startswith(f"{ids['script.txt']}/"):  # the text dump's table, cell marked
            table = task["data"]["table"]
            assert 'class="hit"' in table and SCRIPT not in table and task["data"]["image"] == NO_IMAGE
    assert _png(NO_IMAGE).size == (1000, 1)


def test_the_labeling_config_names_what_the_tasks_hold(exported):
    *_, out, _, tasks = exported
    root = ET.fromstring(out.with_suffix(".xml").read_text(encoding="utf-8"))
    wanted = {el.get("value")[1:] for el in root.iter() if (el.get("value") or "").startswith("$")}
    assert {"image", "table", "printed", "machine_value", "field"} <= wanted
    assert all(wanted <= set(task["data"]) for task in tasks.values())
    objects = {el.get("name"): el.tag for el in root.iter() if el.tag in ("Image", "HyperText", "Text")}
    assert objects["image"] == "Image" and objects["table"] == "HyperText" and objects["printed"] == "Text"
    [choices] = root.iter("Choices")
    assert choices.get("name") == "decision"
    assert [c.get("alias") for c in choices] == ["accept", "correct", "source_error"]
    assert {t.get("name") for t in root.iter("TextArea")} == {"value", "note"}
    assert all(c.get("toName") in objects for c in [choices, *root.iter("TextArea")])


def _annotation(aid: int, decision: str | None = None, value: str | None = None, note: str | None = None,
                by: object = 3, at: str = AT, cancelled: bool = False) -> dict:
    result = []
    if decision is not None:
        result.append({"from_name": "decision", "to_name": "machine_value", "type": "choices",
                       "value": {"choices": [decision]}})
    for name, text in (("value", value), ("note", note)):
        if text is not None:
            result.append({"from_name": name, "to_name": "machine_value", "type": "textarea", "value": {"text": [text]}})
    return {"id": aid, "completed_by": by, "result": result, "was_cancelled": cancelled, "ground_truth": False,
            "created_at": at, "updated_at": at, "lead_time": 4.2}


def test_annotations_become_decisions_once(exported):
    engine, items, ids, out, _, tasks = exported
    x1, txt, r4, r1 = (ids[name] for name in ("x1.pdf", "script.txt", "r4.html", "r1.pdf"))
    answers = {
        # corrected after an earlier accept: the latest annotation counts
        f"{x1}/requests.other_misc.total": [_annotation(1, "accept", "1", at="2024-04-30T08:00:00Z"),
                                            _annotation(2, "correct", "2", by={"id": 7, "email": "li@example.org"})],
        f"{x1}/requests.other_no_fee.total": [_annotation(3, "source_error", note="table and prose disagree")],
        f"{r4}/suit_direct.total": [_annotation(4, dict(CHOICES)["accept"])],  # a config without aliases
        f"{txt}/requests.other_no_correction.total": [_annotation(5, "correct")],  # value box emptied: null
        f"{r4}/suit_direct.upheld": [_annotation(6, "correct", "9", cancelled=True)],
        f"{txt}/requests.other_misc.total": [_annotation(7, "correct", "2.5")],
        f"{txt}/requests.other_no_fee.total": [_annotation(8, note="not sure")],
        f"{r1}/meta.agency": [_annotation(9, "accept")],  # corrected in the app since
    }
    export = [{"id": n, **task, "annotations": answers.get(field_id, [])}
              for n, (field_id, task) in enumerate(tasks.items(), start=100)]
    some = export[0]
    export.append({**some, "id": 1, "data": {**some["data"], "field_id": "999/requests.new.total"},
                   "annotations": [_annotation(10, "accept")]})
    export.append({**some, "id": 2, "data": {**some["data"], "sha256": "0" * 64},
                   "annotations": [_annotation(11, "accept")]})
    path = out.parent / "export.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    record(engine, r1, "meta.agency", "correct", "tester", "某市某局")

    got = import_annotations(engine, path)
    problems = got.pop("problems")
    assert got == {"recorded": 4, "unchanged": 0, "unannotated": len(tasks) - 7, "skipped": 5}
    assert len(problems) == 5
    for expected in ("999/requests.new.total): no such field", "sha256 differs", "a count is a whole number, not '2.5'",
                     "requests.other_no_fee.total): no decision chosen", "decided since the annotation (correct by tester"):
        assert any(expected in p for p in problems), expected

    def decisions():
        with engine.connect() as conn:
            return [(r.report_id, r.field, r.action, store.value_of(r.field, r.value_num, r.value_text), r.reviewer, r.note)
                    for r in conn.execute(select(store.decisions).order_by(store.decisions.c.id))]

    machine = {f"{i.report_id}/{i.field}": field_view(engine, i).value for i in items}
    first, *imported = decisions()
    assert first == (r1, "meta.agency", "correct", "某市某局", "tester", None)
    assert sorted(imported) == [
        (x1, "requests.other_misc.total", "correct", 2, "li@example.org", None),
        (x1, "requests.other_no_fee.total", "source_error", machine[f"{x1}/requests.other_no_fee.total"],
         "label-studio:3", "table and prose disagree"),
        (txt, "requests.other_no_correction.total", "correct", None, "label-studio:3", None),
        (r4, "suit_direct.total", "accept", machine[f"{r4}/suit_direct.total"], "label-studio:3", None),
    ]

    again = import_annotations(engine, path)
    assert (again["recorded"], again["unchanged"], again["skipped"]) == (0, 4, 5)
    assert len(decisions()) == 5

    export_tasks(engine, items, out)
    left = {t["data"]["field_id"] for t in json.loads(out.read_text(encoding="utf-8"))}
    decided = {f"{r1}/meta.agency", f"{x1}/requests.other_misc.total", f"{x1}/requests.other_no_fee.total",
               f"{txt}/requests.other_no_correction.total", f"{r4}/suit_direct.total"}
    assert left == set(tasks) - decided


def test_round_trip_through_the_command_line(tmp_path):
    from conftest import run_cli

    ids = build_review_db(tmp_path)
    tasks_file = tmp_path / "ls" / "tasks.json"
    tasks_file.parent.mkdir()
    code, out = run_cli(["review", "label-studio-export", str(tmp_path), "--out", str(tasks_file)])
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    assert code == 0 and f"{len(tasks)} tasks" in out and tasks_file.with_suffix(".xml").is_file()
    task = next(t for t in tasks if t["data"]["field_id"].startswith(f"{ids['r4.html']}/"))
    exported_back = [{**task, "id": 1, "annotations": [_annotation(7, "source_error", note="printed so")]}]
    back = tmp_path / "ls" / "export.json"
    back.write_text(json.dumps(exported_back, ensure_ascii=False), encoding="utf-8")
    code, out = run_cli(["review", "label-studio-import", str(tmp_path), str(back)])
    assert code == 0 and "1 decisions recorded" in out
    source = open_source(str(tmp_path))
    with source.engine.connect() as conn:
        row = conn.execute(select(store.decisions)).one()
    assert (f"{row.report_id}/{row.field}", row.action, row.note) == (task["data"]["field_id"], "source_error",
                                                                      "printed so")
