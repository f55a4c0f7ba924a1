"""The review web app: the queue, one flagged field at a time with its evidence, and the
decisions (accept, correct, source error, skip) stored with reviewer and time.

Safe on a shared machine: only the Host names of the address it was started on are
answered (a page on another site cannot reach it by DNS rebinding); every form carries a
per-server token and a request from another origin is refused (cross-site requests);
pages are autoescaped templates under a Content-Security-Policy with no inline script, so
a report's `<script>` shows as text; no path is ever taken from a request: evidence is
found by report id and field key, and the only files served are the app's own assets and a
report's source file, found by report id and sent as a download (never shown in the app's
origin, where an HTML report's scripts would run).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.middleware.trustedhost import TrustedHostMiddleware

from extractors.standard_model import APPEAL_GROUPS

from .. import export as exports
from .decided import NoSuchRule, decide_rule, decided_fields, undo
from .evidence import Evidence, cell_image, evidence
from .queue import (ACTIONS, BadValue, Filters, FieldView, Item, field_view, latest_decisions, open_items,
                    parse_value, record)
from .reports import report_names, shown_values

HERE = Path(__file__).parent
SECTIONS = ("meta", "active", "requests", "appeals", "text")
RULES = ("R1", "R2", "R3", "R4", "R5", "R6", "X1")
_CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


@dataclass
class Review:
    """What the app serves: the database, the queue's items, where exports go."""
    engine: Engine
    items: list[Item]
    reviewer: str
    export_dir: Path | None

    @staticmethod
    def raw_path(stored: str | None) -> Path | None:
        return Path(stored) if stored else None


def create_app(review: Review, hosts: list[str]) -> FastAPI:
    """`hosts`: the Host header values to answer (host, host:port)."""
    app = FastAPI(title="nianbao review", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    token = secrets.token_urlsafe(32)
    index = {(i.report_id, i.field): i for i in review.items}
    names = report_names(review.engine)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        if request.method == "POST" and not _same_origin(request):
            return Response("cross-site request refused", status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make forms post Origin: null
        return response

    def page(request: Request, name: str, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"token": token, "reviewer": review.reviewer,
                                                          **context})

    @app.get("/", response_class=HTMLResponse)
    def queue(request: Request, report: int | None = None, section: str | None = None,
              rule: str | None = None, reason: str | None = None):
        filters = Filters(report, section or None, rule or None, reason or None)
        decided = latest_decisions(review.engine)
        todo = open_items(review.items, decided, filters)
        shown = todo[:200]
        return page(request, "queue.html", items=shown, values=shown_values(review.engine, shown), names=names,
                    left=len(todo), total=len(review.items),
                    done=sum(1 for d in decided.values() if d.action != "skip"),
                    filters=filters, query=_query(filters), sections=SECTIONS, rules=RULES,
                    reports=sorted({names[i.report_id] for i in review.items}, key=lambda n: (n.label, n.id)))

    @app.get("/next")
    def next_item(report: int | None = None, section: str | None = None, rule: str | None = None,
                  reason: str | None = None):
        filters = Filters(report, section or None, rule or None, reason or None)
        todo = open_items(review.items, latest_decisions(review.engine), filters)
        if not todo:
            return RedirectResponse(f"/?{_query(filters)}", status_code=303)
        first = todo[0]
        return RedirectResponse(f"/field/{first.report_id}/{first.field}?{_query(filters)}", status_code=303)

    @app.get("/field/{report_id}/{key}", response_class=HTMLResponse)
    def field(request: Request, report_id: int, key: str, report: int | None = None,
              section: str | None = None, rule: str | None = None, reason: str | None = None,
              error: str | None = None):
        item = index.get((report_id, key))
        if item is None:
            raise HTTPException(404, "no such flagged field")
        filters = Filters(report, section or None, rule or None, reason or None)
        view = field_view(review.engine, item)
        left = len(open_items(review.items, latest_decisions(review.engine), filters))
        return page(request, "field.html", view=view, about=names[report_id], left=left, filters=filters,
                    query=_query(filters), evidence=_evidence(review, view), error=error, actions=ACTIONS,
                    appeal_groups=APPEAL_GROUPS)

    @app.get("/source/{report_id}")
    def source_file(report_id: int):
        name = names.get(report_id)
        if name is None or not name.has_file:
            raise HTTPException(404, "the run kept no source file for this report")
        # a download: an HTML report opened here would run its scripts as this app
        return FileResponse(name.raw_path, media_type="application/octet-stream", filename=name.document,
                            content_disposition_type="attachment")

    @app.get("/evidence/{report_id}/{key}.png")
    def evidence_image(report_id: int, key: str):
        item = index.get((report_id, key))
        if item is None:
            raise HTTPException(404, "no such flagged field")
        view = field_view(review.engine, item)
        raw = review.raw_path(view.report["raw_path"])
        png = cell_image(raw, view.field_provenance()) if raw else None
        if png is None:
            raise HTTPException(404, "no page image for this field")
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/decide")
    def decide(report_id: int = Form(), key: str = Form(), action: str = Form(), value: str = Form(""),
               note: str = Form(""), csrf: str = Form(""), report: str = Form(""), section: str = Form(""),
               rule: str = Form(""), reason: str = Form("")):
        if not secrets.compare_digest(csrf, token):
            raise HTTPException(403, "stale or missing form token: reload the page")
        if (report_id, key) not in index or action not in ACTIONS:
            raise HTTPException(400, "no such flagged field or action")
        filters = Filters(int(report) if report.isdigit() else None, section or None, rule or None,
                          reason or None)
        try:
            typed = parse_value(key, value) if action == "correct" else None
        except BadValue as err:
            return RedirectResponse(f"/field/{report_id}/{key}?{_query(filters, error=str(err))}",
                                    status_code=303)
        record(review.engine, report_id, key, action, review.reviewer, typed, note)
        return RedirectResponse(f"/next?{_query(filters)}", status_code=303)

    @app.post("/decide-rule")
    def decide_whole_rule(report_id: int = Form(), rule: str = Form(), scope: str = Form(), note: str = Form(""),
                          csrf: str = Form(""), report: str = Form(""), section: str = Form(""),
                          rule_filter: str = Form(""), reason: str = Form("")):
        if not secrets.compare_digest(csrf, token):
            raise HTTPException(403, "stale or missing form token: reload the page")
        try:
            decide_rule(review.engine, report_id, rule, scope, review.reviewer, note)
        except NoSuchRule as err:
            raise HTTPException(400, str(err)) from None
        filters = Filters(int(report) if report.isdigit() else None, section or None, rule_filter or None,
                          reason or None)
        return RedirectResponse(f"/next?{_query(filters)}", status_code=303)

    @app.get("/decided", response_class=HTMLResponse)
    def decided(request: Request):
        done = decided_fields(review.engine, review.items)
        return page(request, "decided.html", decided=done, names=names, query="")

    @app.post("/undo")
    def undo_decision(report_id: int = Form(), key: str = Form(), csrf: str = Form("")):
        if not secrets.compare_digest(csrf, token):
            raise HTTPException(403, "stale or missing form token: reload the page")
        if (report_id, key) not in index:
            raise HTTPException(400, "no such flagged field")
        undo(review.engine, report_id, key, review.reviewer)
        return RedirectResponse("/decided", status_code=303)

    @app.post("/export", response_class=HTMLResponse)
    def export(request: Request, csrf: str = Form("")):
        if not secrets.compare_digest(csrf, token):
            raise HTTPException(403, "stale or missing form token: reload the page")
        if review.export_dir is None:
            raise HTTPException(400, "no export folder: start the app with --out")
        files = exports.export(review.engine, review.export_dir)
        return page(request, "exported.html", files=files)

    return app


def _same_origin(request: Request) -> bool:
    """A browser names the origin of a form it posts; it must be this app's own."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") in (None, "same-origin", "none")
    return origin == f"{request.url.scheme}://{request.headers.get('host')}"


def _query(filters: Filters, **extra) -> str:
    pairs = {"report": filters.report, "section": filters.section, "rule": filters.rule,
             "reason": filters.reason, **extra}
    return urlencode({k: v for k, v in pairs.items() if v is not None})


def _evidence(review: Review, view: FieldView) -> Evidence:
    """The page's evidence: an image the browser fetches, a table with the cell marked, or
    the text as printed."""
    raw = review.raw_path(view.report["raw_path"])
    if raw is None:
        return Evidence("none", note="the run kept no source file for this report")
    return evidence(raw, view.field_provenance(),
                    image_url=f"/evidence/{view.item.report_id}/{view.item.field}.png")
