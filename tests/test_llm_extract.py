"""The LLM step against a real OpenAI-compatible HTTP server on 127.0.0.1, with the real
instructor and openai clients. The server's answers are scripted (the gold values, zeros,
garbage, errors): these tests prove what the pipeline does with an answer, never how well a
model reads."""

from __future__ import annotations

import json
import threading

import pytest

from extractors.evaluate import evaluate
from extractors.pipeline import extract_file
from extractors.standard_model import section_of
from llm_cases import PLANTED, SEED, SEED_GOLD, client_for, unlabelled_requests_table
from llm_server import LlmServer, Reply, nested, request_tokens, section_of_request

SEEDS = sorted(SEED.parent.glob("*.txt"))


def gold_answer(body: dict) -> Reply:
    return Reply(answer=nested(SEED_GOLD, section_of_request(body)))


def flagged(result) -> set[str]:
    return {item.field for item in result.review}


def test_fully_read_reports_send_no_request(tmp_path):
    with LlmServer(gold_answer) as server:
        client = client_for(server.base_url, tmp_path / "cache")
        for seed in SEEDS:
            result = extract_file(seed, llm=client)
            assert result.llm.answers == [] and result.llm.requests == 0
        assert server.requests == []


@pytest.mark.parametrize("answer_mode", ["tools", "json"])
def test_unreadable_table_is_asked_alone_and_its_answer_taken(tmp_path, answer_mode):
    report = unlabelled_requests_table(tmp_path)
    before = extract_file(report)
    assert {k for k in flagged(before) if section_of(k) == "requests"}  # the table alone fails here
    with LlmServer(gold_answer) as server:
        result = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache",
                                                     answer_mode=answer_mode))
    (request,) = server.requests  # one section, one request
    assert section_of_request(request) == "requests"
    sent = json.dumps(request, ensure_ascii=False)
    assert "第1行" in sent and "行政许可" not in sent and "结果维持" not in sent  # not 二, not 四
    (answer,) = result.llm.answers
    assert answer.status == "answered" and answer.requests == 1
    assert answer.prompt_tokens == request_tokens(request) and answer.completion_tokens > 0
    assert result.llm.prompt_tokens == answer.prompt_tokens
    requests_keys = [k for k in SEED_GOLD if section_of(k) == "requests"]
    assert all(result.fields[k] == SEED_GOLD[k] for k in requests_keys)
    assert not flagged(result) & set(requests_keys)  # the section closes: every rule holds
    assert {result.provenance[k].method for k in requests_keys} == {"llm"}
    # what `nianbao eval` reports as the LLM path's accuracy (here of scripted answers)
    report = evaluate({result.document: {"fields": SEED_GOLD}}, {result.document: result})
    assert report["by_method"]["llm"]["right"] == report["by_method"]["llm"]["total"] == len(requests_keys)


def test_a_seed_section_prompt_is_at_most_2000_tokens(tmp_path):
    """Issue 4: the prompt for one section of a seed, counted by GPT-4o's tokenizer with the
    system prompt, the field guide and the answer's schema, is ≤ 2 000 tokens."""
    with LlmServer(gold_answer) as server:
        client = client_for(server.base_url, tmp_path / "cache")
        for seed in SEEDS:
            extract_file(seed, llm=client, mode="verify")  # every table asked
        by_section: dict[str, list[int]] = {}
        for body in server.requests:
            if len(body["messages"]) == 2:  # first questions, not feedback rounds (seeds print source errors)
                by_section.setdefault(section_of_request(body), []).append(request_tokens(body))
    assert sum(map(len, by_section.values())) == 3 * len(SEEDS) - 1  # one seed has no table 二 at all
    assert max(by_section["requests"]) <= 2000, by_section
    assert max(max(v) for v in by_section.values()) <= 2000


def test_failed_rules_go_back_to_the_model_once(tmp_path):
    report = unlabelled_requests_table(tmp_path)
    replies = []

    def script(body):
        answer = nested(SEED_GOLD, "requests")
        if not replies:  # the first answer misreads new.natural (39 → 33)
            answer["new"]["natural"] = 33
        replies.append(answer)
        return Reply(answer=answer)

    with LlmServer(script) as server:
        result = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache"))
    assert len(server.requests) == 2
    retry = json.dumps(server.requests[1]["messages"], ensure_ascii=False)
    assert "R1 fails for column natural: 33 + 0 ≠ 36 + 3" in retry or "R3 fails for row new" in retry
    (answer,) = result.llm.answers
    assert answer.requests == 2 and answer.feedback and result.fields["requests.new.natural"] == 39


def test_figures_that_keep_failing_are_taken_as_read_not_forced(tmp_path):
    """After its feedback round the model's reading stands: a report may print figures that
    disagree, and the model must not be pushed into inventing figures that agree."""
    report = unlabelled_requests_table(tmp_path)

    def script(body):
        answer = nested(SEED_GOLD, "requests")
        answer["new"]["natural"] = 20  # printed in the table (r5), so grounded; breaks R1 and R3
        return Reply(answer=answer)

    with LlmServer(script) as server:
        result = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache"))
    assert len(server.requests) == 2  # one feedback round, then accepted
    assert result.fields["requests.new.natural"] == 20
    assert "requests.new.natural" in flagged(result)


def test_rate_limited_then_answered(tmp_path):
    report = unlabelled_requests_table(tmp_path)
    calls = []

    def script(body):
        calls.append(1)
        if len(calls) == 1:
            return Reply(status=429, headers={"Retry-After": "0"})
        return gold_answer(body)

    with LlmServer(script) as server:
        result = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache"))
    (answer,) = result.llm.answers
    assert answer.status == "answered" and answer.requests == 2  # the retry is counted


@pytest.mark.parametrize("failure", [
    Reply(status=500, headers={"Retry-After": "0"}),
    Reply(status=429, headers={"Retry-After": "0"}),
    Reply(text="这不是 JSON {"),
    Reply(answer={"rows": "garbage"}),
    Reply(delay=1.5),
], ids=["500", "429", "malformed-json", "wrong-schema", "slow"])
def test_a_failing_endpoint_leaves_the_fields_flagged(tmp_path, failure):
    report = unlabelled_requests_table(tmp_path)
    alone = extract_file(report)
    with LlmServer(lambda body: failure) as server:
        result = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache", timeout=0.5))
    (answer,) = result.llm.answers
    assert answer.status == "error" and answer.error and answer.requests >= 1
    assert result.fields == alone.fields and flagged(result) == flagged(alone)
    assert result.llm.unanswered
    assert "the LLM was asked and failed" in next(i.reason for i in result.review if i.field == "requests.new.natural")


def test_planted_instruction_zeros_change_nothing_unflagged(tmp_path):
    report = unlabelled_requests_table(tmp_path, planted=PLANTED)

    def zeros(body):
        answer = nested(SEED_GOLD, section_of_request(body))
        for row in answer.values():
            for col in row:
                row[col] = 0
        return Reply(answer=answer)

    with LlmServer(zeros) as server:
        result = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache"))
    assert PLANTED in json.dumps(server.requests[0], ensure_ascii=False)  # it was sent, as data
    changed = {k for k in SEED_GOLD if result.fields.get(k) != SEED_GOLD[k] and section_of(k) == "requests"}
    assert changed and changed <= flagged(result)


def test_verify_flags_every_field_a_second_reading_contradicts(tmp_path):
    def zeros_for_requests(body):
        answer = nested(SEED_GOLD, section_of_request(body))
        if section_of_request(body) == "requests":
            answer = {row: {col: 0 for col in cols} for row, cols in answer.items()}
        return Reply(answer=answer)

    alone = extract_file(SEED)
    with LlmServer(zeros_for_requests) as server:
        result = extract_file(SEED, llm=client_for(server.base_url, tmp_path / "cache"), mode="verify")
    assert {a.section for a in result.llm.answers} == {"requests", "appeals"}  # it prints no table 二
    assert result.fields == alone.fields  # readings of the table are kept
    contradicted = {k for k in SEED_GOLD if section_of(k) == "requests" and SEED_GOLD[k] not in (0, None)}
    assert contradicted <= flagged(result)
    agreed = [k for k in SEED_GOLD if section_of(k) == "appeals"]
    assert all(result.confidence[k] >= alone.confidence[k] for k in agreed)
    assert not flagged(result) & set(agreed)


def test_cached_rerun_makes_no_request(tmp_path):
    report = unlabelled_requests_table(tmp_path)
    with LlmServer(gold_answer) as server:
        first = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache"))
        asked = len(server.requests)
        again = extract_file(report, llm=client_for(server.base_url, tmp_path / "cache"))
        assert len(server.requests) == asked == 1
    assert [a.status for a in again.llm.answers] == ["cached"] and again.llm.requests == 0
    assert again.fields == first.fields and again.review == first.review


def test_the_cache_tells_endpoints_apart(tmp_path):
    # Two servers may serve one model name: an answer of one is not taken for the other's.
    report = unlabelled_requests_table(tmp_path)
    with LlmServer(gold_answer) as one, LlmServer(gold_answer) as other:
        extract_file(report, llm=client_for(one.base_url, tmp_path / "cache"))
        again = extract_file(report, llm=client_for(other.base_url, tmp_path / "cache"))
        assert len(one.requests) == len(other.requests) == 1
    assert [a.status for a in again.llm.answers] == ["answered"]


def test_token_budget_stops_asking(tmp_path):
    report = unlabelled_requests_table(tmp_path)
    with LlmServer(gold_answer) as server:
        client = client_for(server.base_url, tmp_path / "cache", token_budget=100)
        first = extract_file(report, llm=client, mode="verify")
    assert len(server.requests) == 1  # the first request spends the budget
    statuses = [a.status for a in first.llm.answers]
    assert statuses[0] == "answered" and set(statuses[1:]) == {"budget"}
    assert client.totals["over_budget"] == len(statuses) - 1 >= 1


def test_requests_in_flight_stay_within_the_limit(tmp_path):
    report = unlabelled_requests_table(tmp_path)

    def slow(body):
        return Reply(answer=nested(SEED_GOLD, section_of_request(body)), delay=0.3)

    with LlmServer(slow) as server:
        client = client_for(server.base_url, tmp_path / "cache", concurrency=2)
        # six documents at once, each with its own content (so the cache does not answer)
        reports = [unlabelled_requests_table(_folder(tmp_path, i), planted=f"第{i}份。") for i in range(6)]
        threads = [threading.Thread(target=extract_file, args=(r,), kwargs={"llm": client}) for r in reports]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(server.requests) == 6 and server.max_in_flight == 2
    assert report.exists()


def _folder(root, i):
    folder = root / f"doc{i}"
    folder.mkdir()
    return folder


def test_every_http_request_passes_the_per_minute_limit(tmp_path):
    report = unlabelled_requests_table(tmp_path)
    calls = []

    def script(body):
        calls.append(1)
        return Reply(status=429, headers={"Retry-After": "0"}) if len(calls) == 1 else gold_answer(body)

    class Recording:
        acquired = 0

        def try_acquire(self, name):
            self.acquired += 1
            return True

    with LlmServer(script) as server:
        client = client_for(server.base_url, tmp_path / "cache")
        client._per_minute = limiter = Recording()
        extract_file(report, llm=client)
    assert limiter.acquired == len(server.requests) == 2  # the retry of the 429 too
