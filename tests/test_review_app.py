"""The review app over HTTP: queue order and filters, decisions kept as an audit trail,
reviewed values in the exports and the gold files, and the app's defences (cross-site
posts, foreign Host headers, path traversal, a report's `<script>`)."""

from __future__ import annotations

import csv
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from extractors.evaluate import load_gold
from flows import store
from flows.review.app import Review, create_app
from flows.review.gold import export_gold
from flows.review.queue import BadValue, latest_decisions, load_items, parse_value
from flows.review.source import open_source
from review_cases import SCRIPT, build_review_db


@pytest.fixture()
def served(tmp_path):
    ids = build_review_db(tmp_path)
    source = open_source(str(tmp_path))
    items = load_items(source.engine)
    app = create_app(Review(source.engine, items, "tester", tmp_path / "export"), ["testserver"])
    with TestClient(app) as client:
        yield client, source.engine, items, ids, tmp_path


def _token(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _decide(client, token, report_id, key, action, value="", note="", **extra):
    return client.post("/decide", data={"csrf": token, "report_id": report_id, "key": key, "action": action,
                                        "value": value, "note": note, **extra}, follow_redirects=False)


def test_queue_puts_fields_in_failed_rules_first_then_least_confident(served):
    _, _, items, ids, _ = served
    assert {i.report_id for i in items} == set(ids.values())
    in_rules = [bool(i.rules) for i in items]
    assert in_rules == sorted(in_rules, reverse=True)  # all in-rule items before the others
    for group in (True, False):
        conf = [i.confidence or 0 for i in items if bool(i.rules) == group]
        assert conf == sorted(conf)
    assert (items[-1].report_id, items[-1].field) == (ids["r1.pdf"], "meta.agency")  # no rule behind it
    assert not items[-1].rules and items[0].rules


def test_filters_and_count_left(served):
    client, _, items, ids, _ = served
    page = client.get("/").text
    assert f"<strong>{len(items)}</strong> flagged fields left" in page
    by_rule = client.get("/", params={"rule": "R4"}).text
    r4 = [i for i in items if "R4" in i.rules]
    assert r4 and f"<strong>{len(r4)}</strong> flagged" in by_rule
    assert all(i.report_id == ids["r4.html"] for i in r4)
    mine = client.get("/next", params={"report": ids["x1.pdf"], "section": "requests"}, follow_redirects=False)
    assert mine.headers["location"].startswith(f"/field/{ids['x1.pdf']}/requests.")
    by_reason = client.get("/", params={"reason": "prose says 2"}).text
    assert by_reason.count('href="/field/') == sum(1 for i in items if any("prose says 2" in r for r in i.reasons))


def test_field_page_shows_rule_with_other_fields_and_the_evidence(served):
    client, _, _, ids, _ = served
    rid = ids["x1.pdf"]
    page = client.get(f"/field/{rid}/requests.other_misc.total").text
    assert "X1 fails" in page and "prose says 2, table says 1" in page
    # the other fields of the failed rule, with their values
    assert "requests.other_no_correction.total" in page and "requests.other_no_fee.total" in page
    src = re.search(r'id="evidence-image" src="([^"]+)"', page).group(1)
    png = client.get(src)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    table = client.get(f"/field/{ids['script.txt']}/requests.other_misc.total").text
    assert 'class="hit"' in table


def test_decisions_are_kept_beside_the_machine_values_and_exported(served):
    client, engine, items, ids, folder = served
    rid = ids["x1.pdf"]
    token = _token(client.get("/").text)
    keys = [i.field for i in items if i.report_id == rid]
    assert len(keys) == 3
    first, second, third = keys
    reply = _decide(client, token, rid, first, "correct", "2")
    assert reply.status_code == 303 and reply.headers["location"].startswith("/next")
    _decide(client, token, rid, second, "source_error", note="table and prose disagree")
    _decide(client, token, rid, third, "skip")
    _decide(client, token, rid, third, "accept")
    _decide(client, token, rid, third, "skip")  # a later skip does not undo the accept

    with engine.connect() as conn:
        rows = conn.execute(select(store.decisions).order_by(store.decisions.c.id)).all()
        machine = dict(conn.execute(select(store.fields.c.key, store.fields.c.value_num).where(
            store.fields.c.report_id == rid)).tuples().all())
    assert [r.action for r in rows] == ["correct", "source_error", "skip", "accept", "skip"]
    assert all(r.reviewer == "tester" and r.decided_at is not None for r in rows)
    assert rows[0].value_num == 2 and rows[0].machine_num == machine[first] != 2  # the machine's value stays
    decided = latest_decisions(engine)
    assert decided[(rid, third)].action == "accept"
    assert (rid, first) not in {(i.report_id, i.field) for i in items
                                if decided.get((i.report_id, i.field)) is None}

    client.post("/export", data={"csrf": token})
    with open(folder / "export" / "fields.csv", encoding="utf-8") as fh:
        rows = {(r["document"], r["field"]): r for r in csv.DictReader(fh)}
    assert rows[("x1.pdf", first)]["value"] == "2" and rows[("x1.pdf", first)]["origin"] == "corrected"
    assert rows[("x1.pdf", first)]["reviewer"] == "tester"
    assert rows[("x1.pdf", second)]["origin"] == "source_error"
    assert rows[("x1.pdf", second)]["value"] == str(int(machine[second]))  # as printed
    assert rows[("x1.pdf", third)]["origin"] == "accepted"
    assert rows[("r4.html", "suit_direct.total")]["origin"] == "machine"

    written = export_gold(engine, items, folder / "gold")
    assert [p.name for p in written] == ["x1.json"]  # the only report with every flag decided
    gold = load_gold(folder / "gold")["x1.pdf"]
    assert gold["template"] == "2021" and gold["fields"][first] == 2
    assert gold["fields"]["meta.year"] == json.loads(written[0].read_text())["fields"]["meta.year"]
    assert [e["rule"] for e in gold["source_errors"]] == ["X1"]
    assert second in gold["source_errors"][0]["fields"]
    assert "table and prose disagree" in gold["source_errors"][0]["note"]


def test_bad_values_are_refused_with_a_message(served):
    client, engine, _, ids, _ = served
    token = _token(client.get("/").text)
    reply = _decide(client, token, ids["x1.pdf"], "requests.other_misc.total", "correct", "2.5",
                    follow_redirects=True)
    assert "a count is a whole number" in client.get(reply.headers["location"]).text
    assert latest_decisions(engine) == {}
    assert parse_value("active.fees.amount", "182.32") == 182.32
    assert parse_value("requests.new.total", "") is None
    with pytest.raises(BadValue):
        parse_value("meta.year", "20x1")


def test_cross_site_and_tokenless_posts_are_refused(served):
    client, engine, items, _, _ = served
    item = items[0]
    token = _token(client.get("/").text)
    form = {"csrf": token, "report_id": item.report_id, "key": item.field, "action": "accept"}
    assert client.post("/decide", data=form, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/decide", data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post("/decide", data={**form, "csrf": "guess"}).status_code == 403
    assert client.post("/export", data={"csrf": ""}).status_code == 403
    assert latest_decisions(engine) == {}
    same = client.post("/decide", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert same.status_code == 303 and latest_decisions(engine)[(item.report_id, item.field)].action == "accept"
    # a page under another name (DNS rebinding) is not answered
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize("path", ["/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
                                  "/static/..%2f..%2f..%2fetc%2fpasswd", "/evidence/1/..%2f..%2fetc%2fpasswd.png",
                                  "/field/1/..%2f..%2fnianbao.sqlite", "/nianbao.sqlite", "/raw/x1.pdf"])
def test_no_file_outside_the_app_is_served(served, path):
    client = served[0]
    reply = client.get(path)
    assert reply.status_code in (400, 404)
    assert b"root:" not in reply.content and b"SQLite format" not in reply.content and b"%PDF" not in reply.content
    assert client.get("/static/app.js").status_code == 200


def test_a_reports_script_shows_as_text(served):
    client, _, _, ids, _ = served
    page = client.get(f"/field/{ids['script.txt']}/requests.other_misc.total")
    assert SCRIPT not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
