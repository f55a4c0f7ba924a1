"""Review in Label Studio (https://labelstud.io) instead of `nianbao review`'s own app: the
open flagged fields as Label Studio tasks, the labeling config to show them, and the
annotations of Label Studio's JSON export stored as decisions, as the app stores them.

An export is two files: OUT (e.g. tasks.json: the tasks, in Label Studio's import format,
each with the machine's value as a prediction) and OUT.with_suffix(".xml") (e.g. tasks.xml:
LABEL_CONFIG, to paste into the project's Labeling Interface). A task names its field as
data.field_id = "<report id>/<field key>" and carries the report's sha256: an annotation is
applied only to that field of that very file.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict

from PIL import Image
from sqlalchemy import Engine, select

from ..outputs import write_text_atomic
from ..store import fields, reports
from .evidence import Evidence, evidence
from .queue import (BadValue, FieldView, Filters, Item, field_view, latest_decisions, open_items, parse_value,
                    record)

# Choice labels as a reviewer reads them; the alias is what Label Studio puts in the result.
CHOICES = (("accept", "Accept: the value is right"),
           ("correct", "Correct: the value is wrong, the right one is typed below"),
           ("source_error", "Source error: the report itself prints figures that disagree (the value stays as printed)"))

_CHOICE_TAGS = "\n".join(f'    <Choice alias="{action}" value="{label}"/>' for action, label in CHOICES)

LABEL_CONFIG = f"""<View>
  <Style>
    .htx-text {{ white-space: pre-wrap; }}
    .hit {{ outline: 3px solid #e60000; background: #ffe5e5; }}
  </Style>
  <Header value="$field"/>
  <View style="display: flex; gap: 1em;">
    <Header value="$document" size="5"/>
    <Header value="$agency" size="5"/>
    <Header value="$year" size="5"/>
  </View>
  <Header value="Machine value" size="6"/>
  <Text name="machine_value" value="$machine_value"/>
  <Header value="Why it is flagged" size="6"/>
  <Text name="reasons" value="$reasons"/>
  <Text name="rules" value="$rules"/>
  <Header value="Evidence" size="6"/>
  <Image name="image" value="$image"/>
  <HyperText name="table" value="$table" inline="true"/>
  <Header value="As printed" size="6"/>
  <Text name="printed" value="$printed"/>
  <Choices name="decision" toName="machine_value" choice="single-radio" required="true">
{_CHOICE_TAGS}
  </Choices>
  <TextArea name="value" toName="machine_value" editable="true" maxSubmissions="1"
            placeholder="The right value (empty: the report does not state it)"/>
  <TextArea name="note" toName="machine_value" rows="2" placeholder="Note (optional)"/>
</View>
"""


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _strip() -> str:
    # The Image tag needs an image in every task (an empty value risks a load error shown in
    # its place); Label Studio stretches images to the view's width, so a transparent
    # 1000×1 strip takes no room.
    out = io.BytesIO()
    Image.new("LA", (1000, 1)).save(out, "PNG")
    return _png_uri(out.getvalue())


NO_IMAGE = _strip()


class Imported(TypedDict):
    recorded: int  # decisions stored
    unchanged: int  # the field's latest decision already says the same
    unannotated: int  # tasks with no annotation, or only cancelled ones
    skipped: int  # tasks not applied: each has a line in problems
    problems: list[str]


def export_tasks(engine: Engine, items: list[Item], out: Path) -> int:
    """Write the open flagged fields (not yet accepted, corrected or marked a source error)
    as tasks to `out`, and LABEL_CONFIG to out.with_suffix(".xml"); returns the number of
    tasks."""
    todo = open_items(items, latest_decisions(engine), Filters())
    tasks = [_task(field_view(engine, item)) for item in todo]
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
    write_text_atomic(out.with_suffix(".xml"), LABEL_CONFIG)
    return len(tasks)


def _task(view: FieldView) -> dict:
    item, report = view.item, view.report
    raw = report["raw_path"]
    shown = evidence(Path(raw), view.field_provenance()) if raw else Evidence("none")
    machine = _text(view.value)
    data = {
        "field_id": f"{item.report_id}/{item.field}",
        "sha256": report["sha256"],
        "document": report["document"],
        "agency": report["agency"],
        "year": report["year"],
        "field": item.field,
        "machine_value": machine,
        "confidence": item.confidence,
        "reasons": "; ".join(item.reasons),
        "rules": "\n".join(_rule_line(rule) for rule in view.failed_rules),
        "image": _png_uri(shown.png) if shown.png else NO_IMAGE,
        "table": shown.html or "",
        "printed": view.provenance.get("raw") or "",
    }
    prediction: dict = {"model_version": f"nianbao {report['extractor_version']}", "result": []}
    if view.value is not None:  # an empty value box already means null
        prediction["result"].append({"from_name": "value", "to_name": "machine_value", "type": "textarea",
                                     "value": {"text": [machine]}})
    if item.confidence is not None:
        prediction["score"] = item.confidence  # Label Studio sorts tasks by it
    return {"data": data, "predictions": [prediction]}


def _text(value) -> str:
    return "null" if value is None else str(value)


def _rule_line(rule: dict) -> str:
    values = ", ".join(f"{key}={_text(value)}" + (f" (reviewed {_text(reviewed)})" if reviewed is not None else "")
                       for key, value, reviewed in rule["fields"])
    return f"{rule['rule']} ({rule['scope']}): {rule['detail']} — {values}"


class _Skip(Exception):
    """A task whose annotation is not applied; the message says why."""


def import_annotations(engine: Engine, path: Path) -> Imported:
    """Store the latest submitted annotation of each task in a Label Studio JSON export as a
    decision by its annotator. Importing a file again adds nothing: a task whose field's
    latest decision already has the same action, reviewer, note (and corrected value) is
    unchanged. An annotation older than the field's latest decision is not applied either:
    that decision (in the app, or another import) came after it."""
    tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    with engine.connect() as conn:
        sha256 = dict(conn.execute(select(reports.c.id, reports.c.sha256)).tuples().all())
        known = set(conn.execute(select(fields.c.report_id, fields.c.key)).tuples().all())
    counts = Imported(recorded=0, unchanged=0, unannotated=0, skipped=0, problems=[])
    for task in tasks:
        try:
            counts[_apply(engine, task, sha256, known)] += 1
        except _Skip as why:
            counts["skipped"] += 1
            counts["problems"].append(f"task {task.get('id')} ({task.get('data', {}).get('field_id')}): {why}")
    return counts


def _apply(engine: Engine, task: dict, sha256: dict[int, str], known: set[tuple[int, str]]) -> str:
    data = task.get("data") or {}
    rid, _, key = str(data.get("field_id", "")).partition("/")
    report_id = int(rid) if rid.isdigit() else None
    if (report_id, key) not in known:
        raise _Skip("no such field in this database")
    if data.get("sha256") != sha256[report_id]:
        raise _Skip("the task is of another file than this database's report (sha256 differs)")
    submitted = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not submitted:
        return "unannotated"
    annotation = sorted(submitted, key=lambda a: _when(a) or datetime.min.replace(tzinfo=timezone.utc))[-1]
    answers = _answers(annotation.get("result") or [])
    action = _ACTIONS.get(answers.get("decision", ""))
    if action is None:
        raise _Skip("no decision chosen")
    try:
        value = parse_value(key, answers.get("value", "")) if action == "correct" else None
    except BadValue as err:
        raise _Skip(str(err)) from None
    note = answers.get("note", "").strip() or None
    reviewer = _reviewer(annotation.get("completed_by"))
    latest = latest_decisions(engine, report_id).get((report_id, key))
    if latest is not None:
        if (latest.action, latest.reviewer, latest.note) == (action, reviewer, note) \
                and (action != "correct" or latest.value == value):
            return "unchanged"
        when = _when(annotation)
        decided = _utc(latest.decided_at)
        if when is not None and decided > when:
            raise _Skip(f"decided since the annotation ({latest.action} by {latest.reviewer} at {decided:%Y-%m-%d %H:%M})")
    record(engine, report_id, key, action, reviewer, value, note)
    return "recorded"


# Results carry the choice's alias; its label too if the config was edited to drop aliases.
_ACTIONS = {action: action for action, _ in CHOICES} | {label: action for action, label in CHOICES}


def _answers(result: list[dict]) -> dict[str, str]:
    """Control name → the chosen choice or the typed text."""
    answers = {}
    for region in result:
        value = region.get("value") or {}
        if "choices" in value:
            answers[region.get("from_name")] = (value["choices"] or [""])[0]
        elif "text" in value:
            answers[region.get("from_name")] = "\n".join(value["text"])
    return answers


def _when(annotation: dict) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(annotation.get("updated_at") or annotation.get("created_at")))
    except (TypeError, ValueError):  # no time, or not one
        return None


def _utc(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # SQLite gives back naive UTC times


def _reviewer(completed_by) -> str:
    """The annotator: by email where the export names it (newer Label Studio versions give
    the user as an object), else by Label Studio's user id."""
    if isinstance(completed_by, dict):
        return completed_by.get("email") or f"label-studio:{completed_by.get('id')}"
    return f"label-studio:{completed_by}"
