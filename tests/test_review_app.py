"""The review app over HTTP: queue order and filters, decisions kept as an audit trail,
reviewed values in the exports and the gold files, and the app's defences (cross-site
posts, foreign Host headers, path traversal, a report's `<script>`)."""

from __future__ import annotations

import csv
import hashlib
import json
import re

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from extractors.evaluate import load_gold
from flows import store
from flows.review.app import Review, create_app
from flows.review.gold import export_gold
from extractors.pipeline import extract_file
from extractors.synth import generate
from flows.review.queue import BadValue, Filters, latest_decisions, load_items, open_items, parse_value
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
    with open(folder / "export" / "fields.csv", encoding="utf-8-sig") as fh:
        rows = {(r["document"], r["key"]): r for r in csv.DictReader(fh)}
    assert rows[("x1.pdf", first)]["value_num"] == "2" and rows[("x1.pdf", first)]["decision"] == "corrected"
    assert rows[("x1.pdf", first)]["reviewer"] == "tester"
    assert rows[("x1.pdf", second)]["decision"] == "source_error"
    assert rows[("x1.pdf", second)]["value_num"] == str(int(machine[second]))  # as printed
    assert rows[("x1.pdf", third)]["decision"] == "accepted"
    assert rows[("r4.html", "suit_direct.total")]["decision"] == ""

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


def _exported(client, token, folder) -> dict[tuple[str, str], dict]:
    client.post("/export", data={"csrf": token})
    with open(folder / "export" / "fields.csv", encoding="utf-8-sig") as fh:
        return {(r["document"], r["key"]): r for r in csv.DictReader(fh)}


def test_the_queue_shows_body_year_and_value(served):
    client, engine, items, ids, _ = served
    page = lxml.html.fromstring(client.get("/").text)
    rows = {tuple(td.text_content().strip() for td in tr.iter("td"))[:3] for tr in page.iter("tr")}
    assert ("桃源市人民政府 2024年", "suit_direct.total", "4") in rows  # r4.html, as the report names itself
    assert ("r1.pdf 2021年", "meta.agency", "null") in rows  # a report naming no body: its file
    options = [o.text_content() for o in page.xpath('//select[@name="report"]/option')]
    assert "桃源市人民政府 2024年" in options


def test_a_failed_rule_is_decided_once_for_its_fields(served):
    client, engine, items, ids, folder = served
    rid = ids["r4.html"]
    token = _token(client.get("/").text)
    fields = [i.field for i in items if i.report_id == rid]
    assert len(fields) == 5 and all(i.rules == ("R4",) for i in items if i.report_id == rid)
    _decide(client, token, rid, "suit_direct.other", "correct", "1")  # decided before: kept
    page = client.get(f"/field/{rid}/suit_direct.total").text
    assert "The report prints this error: decide all 5 fields" in page
    form = {"csrf": token, "report_id": rid, "rule": "R4", "scope": "group suit_direct"}
    assert client.post("/decide-rule", data={**form, "csrf": "guess"}).status_code == 403
    assert client.post("/decide-rule", data={**form, "scope": "group review"}).status_code == 400
    reply = client.post("/decide-rule", data=form, follow_redirects=False)
    assert reply.status_code == 303
    decided = latest_decisions(engine, rid)
    assert {k: d.action for (_, k), d in decided.items()} == {
        **{k: "source_error" for k in fields}, "suit_direct.other": "correct"}
    assert not open_items(items, latest_decisions(engine), Filters(report=rid))
    rows = _exported(client, token, folder)
    assert rows[("r4.html", "suit_direct.total")]["decision"] == "source_error"
    assert rows[("r4.html", "suit_direct.other")]["value_num"] == "1"


def test_undo_opens_the_field_again_and_keeps_the_trail(served):
    client, engine, items, ids, folder = served
    rid = ids["x1.pdf"]
    token = _token(client.get("/").text)
    first, second, _ = [i.field for i in items if i.report_id == rid]
    _decide(client, token, rid, first, "correct", "5")
    _decide(client, token, rid, second, "accept")
    listed = client.get("/decided").text
    assert 'id="decided-count">2<' in listed and first in listed and second in listed
    assert client.post("/undo", data={"csrf": "", "report_id": rid, "key": first}).status_code == 403
    reply = client.post("/undo", data={"csrf": token, "report_id": rid, "key": first}, follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/decided"
    assert (rid, first) not in latest_decisions(engine)
    assert first in {i.field for i in open_items(items, latest_decisions(engine), Filters(report=rid))}
    assert 'id="decided-count">1<' in client.get("/decided").text
    with engine.connect() as conn:
        trail = conn.execute(select(store.decisions).order_by(store.decisions.c.id)).all()
    assert [(r.field, r.action) for r in trail] == [(first, "correct"), (second, "accept"), (first, "undo")]
    assert trail[-1].reviewer == "tester" and "correct" in trail[-1].note
    rows = _exported(client, token, folder)
    assert rows[("x1.pdf", first)]["decision"] == "" and rows[("x1.pdf", first)]["value_num"] != "5"
    assert rows[("x1.pdf", second)]["decision"] == "accepted"
    client.post("/undo", data={"csrf": token, "report_id": rid, "key": first})  # nothing left to undo
    _decide(client, token, rid, first, "skip")
    with engine.connect() as conn:
        assert [r.action for r in conn.execute(select(store.decisions.c.action))][3:] == ["skip"]
    assert latest_decisions(engine)[(rid, first)].action == "skip"  # open, skipped


@pytest.fixture()
def run_folder(tmp_path):
    """A `run` output: the file kept under its hash, the manifest's body, year and URL."""
    data = generate(9, "2021", "html", errors=["R4"]).data
    raw = tmp_path / "raw" / f"{hashlib.sha256(data).hexdigest()}.html"
    raw.parent.mkdir()
    raw.write_bytes(data)
    engine = store.connect(store.database_url(None, tmp_path))
    source = {"agency": "某市交通运输局", "year": 2022, "url": "https://www.example.gov.cn/xxgk/2023/nb.html",
              "raw_path": str(raw)}
    store.save_result(engine, extract_file(raw), source, store.start_run(engine, {"command": "run"}))
    odd = generate(7, "2021", "html", errors=["R1"]).data
    odd_raw = tmp_path / "raw" / f"{hashlib.sha256(odd).hexdigest()}.html"
    odd_raw.write_bytes(odd)
    store.save_result(engine, extract_file(odd_raw), {"url": "javascript:alert(1)", "raw_path": str(odd_raw)},
                      store.start_run(engine, {"command": "run"}))
    engine.dispose()
    return tmp_path, raw, odd_raw


def test_a_run_folder_names_reports_by_body_and_year_and_links_the_source(run_folder):
    folder, raw, odd_raw = run_folder
    source = open_source(str(folder))
    items = load_items(source.engine)
    client = TestClient(create_app(Review(source.engine, items, "tester", None), ["testserver"]))
    queue = lxml.html.fromstring(client.get("/").text).text_content()
    assert "某市交通运输局 2022年" in queue
    assert not re.search(r"[0-9a-f]{64}", queue)  # no hash shown
    item = next(i for i in items if i.document == raw.name)
    page = client.get(f"/field/{item.report_id}/{item.field}").text
    shown = lxml.html.fromstring(page)
    assert shown.get_element_by_id("report-name").text_content() == "某市交通运输局 2022年"
    assert shown.get_element_by_id("source-url").get("href") == "https://www.example.gov.cn/xxgk/2023/nb.html"
    assert not re.search(r"[0-9a-f]{64}", shown.xpath("//main")[0].text_content())
    download = client.get(shown.get_element_by_id("source-file").get("href"))
    assert download.status_code == 200 and download.content == raw.read_bytes()
    assert download.headers["content-disposition"].startswith("attachment")  # never run in the app's origin
    assert download.headers["content-type"] == "application/octet-stream"
    other = next(i for i in items if i.document == odd_raw.name)
    page = client.get(f"/field/{other.report_id}/{other.field}").text
    assert "javascript:" not in page and 'id="source-url"' not in page
    odd_raw.unlink()  # the file gone: no link, and nothing served
    page = client.get(f"/field/{other.report_id}/{other.field}").text
    assert 'id="source-file"' not in page
    assert client.get(f"/source/{other.report_id}").status_code == 404
    assert client.get("/source/999").status_code == 404
