"""`nianbao harvest` against local servers that imitate portals: listings with pagination,
report pages with attachments, redirects, failures, a GBK page, a hostile ZIP, a 5 GB
Content-Length, and a link to a loopback address that is not allowed."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from conftest import run_cli
from extractors.synth import generate
from portal_server import Portal, Route, write_manifest

PDF = generate(11, "2019", "pdf")
DOCX = generate(12, "2021", "docx")
HTML = generate(13, "2021", "html")
ZIPPED = generate(14, "2019", "docx")


def _gbk_listing(links: list[tuple[str, str]], next_page: str | None) -> bytes:
    items = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    more = f'<a href="{next_page}">下一页</a>' if next_page else ""
    page = (f'<html><head><meta charset="gbk"><title>政府信息公开年报</title></head><body>'
            f'<ul>{items}</ul><div class="page">{more}</div></body></html>')
    return page.encode("gbk")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.docx", ZIPPED.data)
        zf.writestr("XXXX.docx", ZIPPED.data)
        zf.writestr("说明.txt", "本压缩包内为年度报告。")
    # as Chinese Windows zips it: the name in GBK bytes, no UTF-8 flag (zipfile only writes UTF-8)
    return buf.getvalue().replace(b"XXXX.docx", "年报.docx".encode("gbk"))


@pytest.fixture()
def portals():
    with Portal("127.0.0.1") as portal, Portal("127.0.0.2") as other:
        portal.routes.update({
            "/files/report.pdf": Route(PDF.data, headers={"Content-Type": "application/octet-stream",
                                                           "ETag": '"v1"'}),
            "/moved": Route(status=302, headers={"Location": "/files/report.pdf"}),
            "/list/index.html": Route(_gbk_listing([("/art/2020.html", "2020年某局政府信息公开工作年度报告"),
                                                    ("/art/2019.html", "2019年某局政府信息公开工作年度报告"),
                                                    ("/news/1.html", "关于开展检查的通知")],
                                                   "index_1.html")),
            "/list/index_1.html": Route(_gbk_listing([("/art/2021.html", "某局2021年政府信息公开工作年度报告")], None)),
            "/art/2020.html": Route('<html><body><h1>2020年政府信息公开工作年度报告</h1><p>详见附件。</p>'
                                    '<a href="/files/2020.docx">附件：年度报告</a></body></html>'.encode()),
            "/files/2020.docx": Route(DOCX.data, fail_first=1),  # a 500 first: retried
            "/art/2021.html": Route(HTML.data),
            "/files/bundle.zip": Route(_zip()),
            "/missing.pdf": Route(b"gone", 404),
            "/broken.pdf": Route(b"down", 500, {"Retry-After": "0"}),
            "/slow.pdf": Route(PDF.data, delay=3),
            "/huge.pdf": Route(b"", headers={"Content-Length": str(5 * 1024 ** 3)}),
            "/to-other": Route(status=302, headers={"Location": other.url("/secret.pdf")}),
            "/links-other.html": Route(f'<html><body><h1>2020年年度报告</h1><a href="{other.url("/secret.pdf")}">'
                                       '附件</a></body></html>'.encode()),
        })
        other.routes["/secret.pdf"] = Route(PDF.data)
        yield portal, other


def _manifest(path: Path, portal: Portal) -> Path:
    rows = [("某局", 2020, portal.url("/files/report.pdf")),
            ("某局", 2020, portal.url("/moved")),  # the same file again, by redirect
            ("某局", 2020, portal.url("/list/index.html")),
            ("某局", 2021, portal.url("/list/index.html")),  # page 2 of the listing
            ("乙局", 2020, portal.url("/files/bundle.zip")),
            ("丙局", 2020, portal.url("/missing.pdf")),
            ("丙局", 2020, portal.url("/broken.pdf")),
            ("丙局", 2020, portal.url("/slow.pdf")),
            ("丙局", 2020, portal.url("/huge.pdf")),
            ("丁局", 2020, portal.url("/to-other")),
            ("丁局", 2020, portal.url("/links-other.html"))]
    return write_manifest(path, rows)


def _fetches(raw: Path) -> list[dict]:
    db = sqlite3.connect(raw / "manifest.sqlite")
    db.row_factory = sqlite3.Row
    return [dict(r) for r in db.execute("SELECT * FROM fetches ORDER BY id")]


def test_harvest_from_imitated_portals(tmp_path, portals):
    portal, other = portals
    manifest = _manifest(tmp_path / "manifest.csv", portal)
    raw = tmp_path / "raw"
    argv = ["harvest", str(manifest), "--raw", str(raw), "--allow-host", portal.address, "--timeout", "0.5"]
    code, stdout = run_cli(argv)
    assert code == 0, stdout
    fetches = _fetches(raw)
    by_url = {}
    for f in fetches:
        by_url.setdefault(f["url"].removeprefix(f"http://{portal.address}"), []).append(f)

    reports = [f for f in fetches if f["role"] == "report"]
    stored = {f["sha256"] for f in reports}
    import hashlib

    expected = {hashlib.sha256(d).hexdigest() for d in (PDF.data, DOCX.data, HTML.data, ZIPPED.data)}
    assert stored == expected  # each report once, whatever led to it
    objects = [p for p in (raw / "objects").rglob("*") if p.is_file()]
    assert len([p for p in objects if p.stem in expected]) == 4  # duplicates by hash stored once

    # redirect followed; listing pages crawled in GBK, page 2 reached; the 2019 report not taken
    assert by_url["/moved"][0]["final_url"].endswith("/files/report.pdf")
    assert portal.hits("/list/index_1.html") >= 1 and portal.hits("/art/2019.html") == 0
    assert portal.hits("/news/1.html") == 0
    assert portal.hits("/files/2020.docx") == 2  # a 500, then the file
    # the ZIP: ../ entry refused, the GBK-named member read
    zip_rows = [f for f in fetches if "#" in f["url"]]
    assert any(f["url"].endswith("#../evil.docx") and f["status"] == "skipped" for f in zip_rows)
    assert any(f["url"].endswith("#年报.docx") and f["role"] == "report" for f in zip_rows)
    assert not (tmp_path / "evil.docx").exists() and not (raw / "evil.docx").exists()
    # failures are rows, not crashes
    status = {path: rows[0]["status"] for path, rows in by_url.items()}
    assert status["/missing.pdf"] == "http_error" and status["/broken.pdf"] == "http_error"
    assert status["/slow.pdf"] == "timeout" and status["/huge.pdf"] == "too_large"
    assert portal.hits("/broken.pdf") == 4  # first try and three retries
    # never a request to a loopback address that was not allowed, redirect or link
    assert other.requests == []
    blocked = [f for f in fetches if f["status"] == "blocked"]
    assert len(blocked) == 2 and all("127.0.0.2" in f["error"] for f in blocked)
    # a User-Agent that names the tool
    assert all(h.get("User-Agent", "").startswith("nianbao/") for _, h in portal.requests)
    assert (raw / "manifest.csv").read_text(encoding="utf-8").startswith("url,final_url,fetched_at,status")
    assert not list((raw / "tmp").iterdir())

    # a rerun asks only for what failed (and fails again): nothing done is fetched twice
    before = len(portal.requests)
    code, _ = run_cli(argv)
    assert code == 0
    again = [p for p, _ in portal.requests[before:]]
    assert set(again) <= {"/missing.pdf", "/broken.pdf", "/slow.pdf", "/huge.pdf", "/to-other", "/links-other.html"}
    assert other.requests == []


def test_refresh_revalidates_with_a_conditional_request(tmp_path, portals):
    portal, _ = portals
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"agency,year,url\n某局,2020,{portal.url('/files/report.pdf')}\n", encoding="utf-8")
    raw = tmp_path / "raw"
    argv = ["harvest", str(manifest), "--raw", str(raw), "--allow-host", portal.address]
    assert run_cli(argv)[0] == 0
    portal.routes["/files/report.pdf"] = Route(status=304, headers={"ETag": '"v1"'})
    assert run_cli(argv + ["--refresh"])[0] == 0
    path, headers = portal.requests[-1]
    assert path == "/files/report.pdf" and headers.get("If-None-Match") == '"v1"'
    assert [f["status"] for f in _fetches(raw)] == ["ok"]


def test_a_manifest_without_the_columns_is_a_usage_error(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,link\n某局,http://example.invalid/\n", encoding="utf-8")
    code, _ = run_cli(["harvest", str(manifest), "--raw", str(tmp_path / "raw")])
    assert code == 2 and "agency, year, url" in capsys.readouterr().err


PICTABLES = Path(__file__).parents[1] / "eval" / "pictables"


def test_a_report_page_comes_with_its_pictures(tmp_path):
    """Portals paste the tables into report pages as pictures: the harvest fetches them with
    the page, and extraction reads the page from the raw store as it reads the same page
    saved by a browser (eval/pictables: tables as pictures beside the page)."""
    pytest.importorskip("rapidocr_onnxruntime")
    from extractors.pipeline import extract_file

    original = PICTABLES / "pictable005.html"
    html = original.read_bytes().decode("gbk")  # as many portals still write them
    with Portal() as portal:
        # named as portals name them: lazily loaded from an absolute URL, relative, and an icon that is gone
        html = html.replace('<img src="pictable005_files/table2.png"',
                            f'<img src="/loading.gif" data-src="{portal.url("/static/t2.png")}"', 1)
        html = html.replace("<body>", '<body><img src="/icons/share.gif"><img src="file:///C:/image001.png">', 1)
        portal.routes.update({
            "/art/pictable005.html": Route(html.encode("gbk")),
            "/static/t2.png": Route((PICTABLES / "pictable005_files" / "table2.png").read_bytes()),
            "/art/pictable005_files/table3.png": Route((PICTABLES / "pictable005_files" / "table3.png").read_bytes()),
        })
        manifest = write_manifest(tmp_path / "m.csv", [("黄岭县人民政府", 2020, portal.url("/art/pictable005.html"))])
        raw = tmp_path / "raw"
        code, stdout = run_cli(["harvest", str(manifest), "--raw", str(raw), "--allow-host", portal.address])
    assert code == 0, stdout
    assert portal.hits("/static/t2.png") == portal.hits("/art/pictable005_files/table3.png") == 1
    assert portal.hits("/loading.gif") == 0 and portal.hits("/icons/share.gif") >= 1
    fetches = _fetches(raw)
    assert {f["url"].rsplit("/", 1)[1] for f in fetches if f["role"] == "picture" and f["status"] == "ok"} \
        == {"t2.png", "table3.png"}
    assert not any(f["url"].startswith("file:") for f in fetches)  # the author's disk: not asked for
    crawl = sqlite3.connect(raw / "manifest.sqlite").execute("SELECT status, reports FROM crawls").fetchone()
    assert crawl == ("partial", 1)  # the icon's 404: its row is tried again next time
    page = next(f for f in fetches if f["role"] == "report")
    stored = raw / "objects" / page["sha256"][:2] / f"{page['sha256']}.html"
    assert len(list(stored.with_name(f"{stored.stem}_files").iterdir())) == 2

    harvested, saved = extract_file(stored), extract_file(original)
    assert harvested.status == "ok" and any(p.source == "ocr" for p in harvested.provenance.values())
    assert harvested.fields == saved.fields
