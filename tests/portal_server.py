"""A local HTTP server that imitates government portals for the harvest tests: routes are
scripted (status, headers, body, delay), every request is recorded."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    fail_first: int = 0  # answer 500 this many times before the real answer


class Portal:
    def __init__(self, host: str = "127.0.0.1"):
        self.routes: dict[str, Route | Callable[[], Route]] = {}
        self.requests: list[tuple[str, dict]] = []
        self._served: dict[str, int] = {}
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                portal.requests.append((self.path, dict(self.headers)))
                route = portal.routes.get(self.path)
                if callable(route):
                    route = route()
                if route is None:
                    route = Route(b"not found", 404)
                served = portal._served.get(self.path, 0)
                portal._served[self.path] = served + 1
                if served < route.fail_first:
                    route = Route(b"busy", 500, {"Retry-After": "0"})
                time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    headers = {"Content-Length": str(len(route.body)), **route.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    if int(headers["Content-Length"]) == len(route.body):
                        self.wfile.write(route.body)
                    else:
                        self.close_connection = True  # a lie about the length: send nothing
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # a client hanging up is no error here
        self.host = host
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> Portal:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


def write_manifest(path: Path, rows) -> Path:
    """A harvest manifest: (agency, year, url) rows under their header."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["agency", "year", "url"])
        writer.writerows(rows)
    return path
