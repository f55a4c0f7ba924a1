"""A real OpenAI-compatible HTTP server on 127.0.0.1 for the LLM tests: it answers
POST /v1/chat/completions as the tests script it — with recorded answers, malformed JSON,
429s, 500s, slow answers — and records every request it receives.

Answers go back the way the client asked for them: as a tool call when the request carries
`tools` (instructor's TOOLS mode), as message content otherwise (JSON mode). Token counts in
`usage` are real counts of GPT-4o's tokenizer (o200k_base) over what was sent and answered.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bpe_openai import get_encoding

from extractors.standard_model import section_of

_TOKENS = get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(_TOKENS.encode(text))


def request_tokens(body: dict) -> int:
    """Tokens of a request's messages and tool schemas, as the model would read them."""
    text = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    if body.get("tools"):
        text += json.dumps(body["tools"], ensure_ascii=False)
    return count_tokens(text)


@dataclass
class Reply:
    """What the server does with one request."""
    status: int = 200
    answer: dict | None = None  # the object to answer with (as tool arguments or content)
    text: str | None = None  # raw content instead of an object: malformed JSON, prose
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[dict], Reply]  # the request's JSON body → the reply


class LlmServer:
    def __init__(self, script: Script):
        self.script = script
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    reply = server.script(body)
                    time.sleep(reply.delay)
                    payload = server._payload(body, reply)
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> LlmServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @staticmethod
    def _payload(body: dict, reply: Reply) -> bytes:
        if reply.status != 200:
            return json.dumps({"error": {"message": f"scripted {reply.status}", "type": "server_error"}}).encode()
        content = reply.text if reply.text is not None else json.dumps(reply.answer, ensure_ascii=False)
        message: dict = {"role": "assistant", "content": content}
        if body.get("tools") and reply.text is None:
            name = body["tools"][0]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function", "function": {"name": name, "arguments": content}}]}
        return json.dumps({
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "test"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}],
            "usage": {"prompt_tokens": request_tokens(body), "completion_tokens": count_tokens(content),
                      "total_tokens": request_tokens(body) + count_tokens(content)},
        }, ensure_ascii=False).encode()


def section_of_request(body: dict) -> str:
    """Which section a request asks about, by the field names its schema carries."""
    text = json.dumps(body, ensure_ascii=False)
    if "carry_forward" in text:
        return "requests"
    if "suit_direct" in text:
        return "appeals"
    return "active"


def nested(flat: dict, section: str) -> dict:
    """Gold's flat keys of one section as the answer model nests them."""
    prefix = "" if section == "appeals" else f"{section}."
    tree: dict = {}
    for key, value in flat.items():
        if section_of(key) != section:
            continue
        node = tree
        *parents, leaf = key[len(prefix):].split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree
