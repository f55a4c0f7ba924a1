"""Harvest from a loopback portal built as real ones are: Hanweb-style listings (/col/…/index.html,
GBK) and report pages (/art/….html, .shtml) whose report sits behind a download link with no
extension (/module/download/downfile.jsp?classid=0&fileid=…, /go/12 redirecting to the file),
named only in the link text, the query, a 附件： block, a javascript: link, or the answer's
Content-Disposition (UTF-8 or GBK); manifest rows naming one listing for several years; a
year added later; the coverage of every row and the exit status."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import zipfile
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import run_cli
from extractors.synth import generate
from flows.harvest.manifest import ManifestError, read_manifest
from flows.harvest.raw_store import RawStore
from portal_server import Portal, Route, write_manifest

PDF_A = generate(301, "2021", "pdf").data
DOCX_B = generate(302, "2021", "docx").data
DOCX_C = generate(303, "2021", "docx").data
PDF_D = generate(304, "2021", "pdf").data
DOCX_E = generate(305, "2021", "docx").data
OLE_F = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088)  # a Word 97/WPS container's first sector
PDF_2019 = generate(307, "2019", "pdf").data
DOCX_2020 = generate(308, "2021", "docx").data
PDF_2021 = generate(309, "2021", "pdf").data


def _zip(name: str, data: bytes) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, data)
    return buf.getvalue()


ZIP_G = _zip("report.docx", generate(310, "2021", "docx").data)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def page(body: str, title: str = "政府信息公开") -> bytes:
    """A portal page around `body`: its navigation and footer as portals print them, in GBK."""
    return (f'<html><head><meta charset="gbk"><title>{title}</title></head><body>'
            '<div class="nav"><a href="/index.html">首页</a> <a href="/col/col9/index.html">下载中心</a></div>'
            f'<div class="main">{body}</div>'
            '<div class="foot">主办单位：某市人民政府办公室 网站标识码：1234000000 ICP备12345678号</div>'
            '</body></html>').encode("gbk")


def gbk_header(text: str) -> str:
    """A header value whose bytes are GBK, as some portals send file names (http.server
    writes a str as Latin-1, so these bytes go out as they are)."""
    return text.encode("gbk").decode("latin-1")


def report_page(title: str, attachment: str) -> bytes:
    return page(f"<h1>{title}</h1><p>发布日期：2021-01-25</p><p>现将本机关年度报告公布如下。</p>{attachment}", title)


ROUTES = {
    # A: the file named only by the query of a download script
    "/art/2021/1/25/art_1_1.html": Route(report_page(
        "甲局2020年政府信息公开工作年度报告",
        '<p>附件：<a href="/module/download/downfile.jsp?classid=0&fileid=7781&filename=a1b2c3.pdf">'
        'a1b2c3.pdf</a></p>')),
    "/module/download/downfile.jsp?classid=0&fileid=7781&filename=a1b2c3.pdf": Route(
        PDF_A, headers={"Content-Type": "application/octet-stream"}),
    # B: /go/12 redirects to a path with no extension; the link's text names the file
    "/art/2021/1/26/art_1_2.shtml": Route(report_page(
        "乙局2020年政府信息公开工作年度报告", '<a href="/go/12">乙局2020年政府信息公开工作年度报告.docx</a>')),
    "/go/12": Route(status=302, headers={"Location": "/upload/2021/0126/b7781"}),
    "/upload/2021/0126/b7781": Route(DOCX_B, headers={"Content-Type": "application/octet-stream"}),
    # C: 点击下载 in a 附件 block; the answer names the file (RFC 6266, UTF-8)
    "/art/2021/1/27/art_1_3.html": Route(report_page(
        "丙局2020年政府信息公开工作年度报告",
        '<div class="fujian"><span>附件：</span><ul><li><a href="/module/download/downfile.jsp?classid=0'
        '&fileid=7783">点击下载</a></li></ul></div>')),
    "/module/download/downfile.jsp?classid=0&fileid=7783": Route(DOCX_C, headers={
        "Content-Disposition": "attachment; filename*=UTF-8''" + quote("丙局2020年度报告.docx")}),
    # D: a javascript: link carrying the path
    "/art/2021/1/28/art_1_4.html": Route(report_page(
        "丁局2020年政府信息公开工作年度报告",
        '<p><a href="javascript:void(0)" onclick="openAttach(\'/attach/0/d4e5f6\')">2020年年报全文</a></p>')),
    "/attach/0/d4e5f6": Route(PDF_D),
    # E: 查看原文, answered with a GBK file name in Content-Disposition
    "/art/2021/1/29/art_1_5.html": Route(report_page(
        "戊局2020年政府信息公开工作年度报告", '<p><a href="/DownloadAttach?id=9">查看原文</a></p>')),
    "/DownloadAttach?id=9": Route(DOCX_E, headers={
        "Content-Disposition": gbk_header('attachment; filename="戊局2020年年度报告.docx"')}),
    # F: in a 附件 block, no name anywhere: the bytes say it is an OLE document
    "/art/2021/1/30/art_1_6.html": Route(report_page(
        "己局2020年政府信息公开工作年度报告",
        '<p>附件1：<a href="/attach/0/f00f">己局年度报告</a></p>')),
    "/attach/0/f00f": Route(OLE_F),
    # G: a ZIP behind a redirect, named by Content-Disposition only
    "/art/2021/1/31/art_1_7.html": Route(report_page(
        "庚局2020年政府信息公开工作年度报告", '<p><a href="/go/13">附件下载</a></p>')),
    "/go/13": Route(status=302, headers={"Location": "/dl/13"}),
    "/dl/13": Route(ZIP_G, headers={"Content-Disposition": 'attachment; filename="gen2020.zip"'}),
    # H: a report page beside links to other years' reports (往年年报, 上一篇): not a listing
    "/art/2021/2/1/art_1_8.html": Route(report_page(
        "辛局2020年政府信息公开工作年度报告",
        '<p>附件：<a href="/up/h8">辛局年报</a></p><div class="related">往年年报：'
        '<a href="/art/h2019.html">辛局2019年政府信息公开工作年度报告</a> '
        '<a href="/art/h2018.html">辛局2018年政府信息公开工作年度报告</a></div>'
        '<p>上一篇：<a href="/art/h2019.html">辛局2019年政府信息公开工作年度报告</a></p>')),
    "/up/h8": Route(PDF_2021),
    "/art/h2019.html": Route(report_page("辛局2019年政府信息公开工作年度报告", '<p>附件：<a href="/up/h9">年报</a></p>')),
    "/up/h9": Route(PDF_2019),
    # the download centre the navigation links to: never followed from a report page
    "/col/col9/index.html": Route(page('<a href="/files/form.doc">申请表.doc</a>')),
}
ROWS = [("甲局", 2020, "/art/2021/1/25/art_1_1.html"), ("乙局", 2020, "/art/2021/1/26/art_1_2.shtml"),
        ("丙局", 2020, "/art/2021/1/27/art_1_3.html"), ("丁局", 2020, "/art/2021/1/28/art_1_4.html"),
        ("戊局", 2020, "/art/2021/1/29/art_1_5.html"), ("己局", 2020, "/art/2021/1/30/art_1_6.html"),
        ("庚局", 2020, "/art/2021/1/31/art_1_7.html"), ("辛局", 2020, "/art/2021/2/1/art_1_8.html")]
EXPECTED = {"甲局": sha(PDF_A), "乙局": sha(DOCX_B), "丙局": sha(DOCX_C), "丁局": sha(PDF_D),
            "戊局": sha(DOCX_E), "己局": sha(OLE_F), "庚局": sha(zipfile.ZipFile(BytesIO(ZIP_G)).read("report.docx")),
            "辛局": sha(PDF_2021)}


def _listing(items: list[tuple[str, str]]) -> bytes:
    lis = "".join(f'<li><a href="{href}" target="_blank">{text}</a><span>2021-01-2{i}</span></li>'
                  for i, (href, text) in enumerate(items))
    return page(f'<ul class="list">{lis}</ul>', "政府信息公开年度报告")


LISTING = "/col/col1229/index.html"
YEARS = {
    2019: ("/art/2020/1/20/art_9_1.html", "某局2019年政府信息公开工作年度报告",
           '<p>附件：<a href="/module/download/downfile.jsp?classid=0&fileid=9001&filename=2019nb.pdf">'
           '2019年年报.pdf</a></p>', "/module/download/downfile.jsp?classid=0&fileid=9001&filename=2019nb.pdf",
           PDF_2019),
    2020: ("/art/2021/1/20/art_9_2.html", "某局2020年政府信息公开工作年度报告",
           '<p><a href="/go/20">某局2020年政府信息公开工作年度报告.docx</a></p>', "/go/20", DOCX_2020),
    2021: ("/art/2022/1/20/art_9_3.html", "某局2021年政府信息公开工作年度报告",
           '<p>附件：<a href="/P020220120.pdf">某局2021年年度报告</a></p>', "/P020220120.pdf", PDF_2021),
}


def _serve_years(portal: Portal, years: list[int]) -> None:
    portal.routes[LISTING] = Route(_listing([(YEARS[y][0], YEARS[y][1]) for y in sorted(years, reverse=True)]))
    for year in years:
        href, title, attachment, file_path, data = YEARS[year]
        portal.routes[href] = Route(report_page(title, attachment))
        portal.routes[file_path] = Route(data)


def _db(raw: Path) -> sqlite3.Connection:
    db = sqlite3.connect(raw / "manifest.sqlite")
    db.row_factory = sqlite3.Row
    return db


def _coverage(path: Path) -> dict[tuple[str, str], dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {(r["agency"], r["year"]): r for r in csv.DictReader(fh)}


def _harvest(manifest: Path, raw: Path, portal: Portal, *more: str) -> tuple[int, str]:
    return run_cli(["harvest", str(manifest), "--raw", str(raw), "--allow-host", portal.address, *more])


def test_attachments_behind_download_links_are_fetched(tmp_path):
    with Portal() as portal:
        portal.routes.update(ROUTES)
        manifest = write_manifest(tmp_path / "m.csv", [(a, y, portal.url(p)) for a, y, p in ROWS])
        code, stdout = _harvest(manifest, tmp_path / "raw", portal)
        assert code == 0, stdout
        assert portal.hits("/col/col9/index.html") == 0 and portal.hits("/files/form.doc") == 0
        assert portal.hits("/art/h2019.html") == 0  # other years' reports beside a report
    reports = {r["agency"]: r for r in _db(tmp_path / "raw").execute(
        "SELECT * FROM fetches WHERE role = 'report' AND status = 'ok'")}
    assert {a: r["sha256"] for a, r in reports.items()} == EXPECTED  # 8 of 8, each under its row
    assert all(r["year"] == "2020" for r in reports.values())
    assert reports["己局"]["format"] == "doc" and reports["庚局"]["url"].endswith("#report.docx")
    names = {r["url"].rsplit("/", 1)[-1]: r["filename"] for r in _db(tmp_path / "raw").execute(
        "SELECT url, filename FROM fetches WHERE filename IS NOT NULL")}
    assert names["downfile.jsp?classid=0&fileid=7783"] == "丙局2020年度报告.docx"
    assert names["DownloadAttach?id=9"] == "戊局2020年年度报告.docx"
    coverage = _coverage(tmp_path / "raw" / "coverage.csv")
    assert {k: r["outcome"] for k, r in coverage.items()} == {(a, "2020"): "found" for a, _, _ in ROWS}
    assert "coverage: 8 manifest rows — found 8" in stdout


def test_one_listing_for_several_years(tmp_path):
    """Rows of one listing: each takes its own year's report, a year not listed takes nothing
    and says so, and a year added later is fetched on a plain rerun."""
    raw = tmp_path / "raw"
    with Portal() as portal:
        _serve_years(portal, [2019, 2020])
        listing = portal.url(LISTING)
        rows = [("某局", 2018, listing), ("某局", 2019, listing), ("某局", 2020, listing)]
        manifest = write_manifest(tmp_path / "m.csv", rows)
        code, stdout = _harvest(manifest, raw, portal)
        assert code == 0, stdout
        taken = {r["year"]: r["sha256"] for r in _db(raw).execute(
            "SELECT year, sha256 FROM fetches WHERE role = 'report'")}
        assert taken == {"2019": sha(PDF_2019), "2020": sha(DOCX_2020)}  # never one year's under another
        coverage = _coverage(raw / "coverage.csv")
        assert coverage[("某局", "2018")]["outcome"] == "no report listed"
        assert f"no report of 2018 listed at {listing} (it lists 2019, 2020)" in coverage[("某局", "2018")]["reason"]
        assert "某局 2018: no report listed — no report of 2018 listed" in stdout
        assert portal.hits(LISTING) == 1  # one fetch of the listing serves every row

        # the portal publishes 2021; the manifest gets a row for it: a plain rerun fetches it alone
        _serve_years(portal, [2019, 2020, 2021])
        manifest = write_manifest(tmp_path / "m.csv", [*rows, ("某局", 2021, listing)])
        before = len(portal.requests)
        code, stdout = _harvest(manifest, raw, portal)
        assert code == 0, stdout
        asked = [p for p, _ in portal.requests[before:]]
        assert YEARS[2021][3] in asked and YEARS[2019][3] not in asked and "/go/20" not in asked
        again = _coverage(raw / "coverage.csv")
        assert again[("某局", "2021")]["outcome"] == "found"
        assert again[("某局", "2018")]["outcome"] == "no report listed"  # looked for again: still not there


def test_a_file_for_two_rows_and_mismatches(tmp_path):
    """One page's attachment (no year anywhere) taken by two rows keeps both rows' records
    (the second is a duplicate); a file named as another year's is not taken; one naming
    another body is taken and the mismatch recorded."""
    raw = tmp_path / "raw"
    with Portal() as portal:
        portal.routes.update({
            "/art/nb.html": Route(page('<h1>政府信息公开工作年度报告</h1><p>附件：<a href="/up/x1">年报</a></p>')),
            "/up/x1": Route(PDF_A),
            "/files/" + quote("某局2020年政府信息公开工作年度报告.pdf"): Route(PDF_D),
            "/art/other.html": Route(report_page("乙局年度报告", '<a href="/up/x2">丙局2020年政府信息公开工作年度报告.docx</a>')),
            "/up/x2": Route(DOCX_B),
            "/art/t2019.html": Route(report_page("丁局2019年政府信息公开工作年度报告", '<p>附件：<a href="/up/x3">年报</a></p>')),
            "/up/x3": Route(DOCX_C),
        })
        rows = [("某局", 2019, portal.url("/art/nb.html")), ("某局", 2020, portal.url("/art/nb.html")),
                ("某局", 2021, portal.url("/files/" + quote("某局2020年政府信息公开工作年度报告.pdf"))),
                ("乙局", 2020, portal.url("/art/other.html")), ("丁局", 2020, portal.url("/art/t2019.html"))]
        code, stdout = _harvest(write_manifest(tmp_path / "m.csv", rows), raw, portal)
        assert code == 0, stdout
        assert portal.hits("/up/x1") == 1
    records = _db(raw).execute("SELECT year, role FROM fetches WHERE url LIKE '%/up/x1' ORDER BY year").fetchall()
    assert [tuple(r) for r in records] == [("2019", "report"), ("2020", "report")]  # both rows' records
    coverage = _coverage(raw / "coverage.csv")
    outcomes = {k: r["outcome"] for k, r in coverage.items()}
    assert sorted([outcomes[("某局", "2019")], outcomes[("某局", "2020")]]) == ["duplicate", "found"]
    assert outcomes[("某局", "2021")] == "year mismatch"
    assert "the manifest says 2021" in coverage[("某局", "2021")]["reason"]
    assert outcomes[("丁局", "2020")] == "year mismatch" and portal.hits("/up/x3") == 0  # by the page's title
    assert outcomes[("乙局", "2020")] == "agency mismatch" and "丙局" in coverage[("乙局", "2020")]["reason"]
    assert not _db(raw).execute("SELECT 1 FROM fetches WHERE role = 'report' AND year = '2021'").fetchall()
    assert len(RawStore(raw).reports()) == 2  # the 2020-named file is stored under no row's year


def test_every_row_failed_exits_non_zero_and_says_why(tmp_path, capsys):
    with Portal() as portal:
        portal.routes["/r.pdf"] = Route(PDF_A)
        manifest = write_manifest(tmp_path / "m.csv", [("某局", 2020, portal.url("/r.pdf")),
                                                       ("乙局", 2020, portal.url("/gone.pdf"))])
        code, stdout = run_cli(["harvest", str(manifest), "--raw", str(tmp_path / "raw")])  # no --allow-host
        assert portal.requests == []
    assert code == 1
    assert (f"某局 2020: fetch failed — refused: 127.0.0.1 is a loopback address; allow it with "
            f"--allow-host {portal.address}") in stdout
    assert "no manifest row gave a report" in capsys.readouterr().err
    assert _coverage(tmp_path / "raw" / "coverage.csv")[("某局", "2020")]["outcome"] == "fetch failed"


def test_a_manifest_as_excel_saves_it_with_files_on_disk(tmp_path):
    """GB18030 bytes, Chinese headers, 2019年, and paths instead of URLs: a file beside the
    manifest, a folder of files, and a path that is not there."""
    reports = tmp_path / "disk"
    (reports / "more").mkdir(parents=True)
    (reports / "r2019.pdf").write_bytes(PDF_2019)
    (reports / "more" / "r2020.docx").write_bytes(DOCX_2020)
    (reports / ".hidden.pdf").write_bytes(PDF_A)
    manifest = tmp_path / "清单.csv"
    manifest.write_bytes("单位,年度,备注,链接\r\n某局,2019年,,disk/r2019.pdf\r\n乙局,2020年度,,disk/more\r\n"
                         "丙局,２０２０,,disk/none.pdf\r\n".encode("gb18030"))
    rows = read_manifest(manifest)
    assert [(r.agency, r.year, r.url) for r in rows] == [
        ("某局", 2019, str(reports / "r2019.pdf")), ("乙局", 2020, str(reports / "more")),
        ("丙局", 2020, str(reports / "none.pdf"))]
    code, stdout = run_cli(["harvest", str(manifest), "--raw", str(tmp_path / "raw")])
    assert code == 0, stdout
    taken = {(r["agency"], r["year"], r["sha256"]) for r in _db(tmp_path / "raw").execute(
        "SELECT * FROM fetches WHERE role = 'report'")}
    assert taken == {("某局", "2019", sha(PDF_2019)), ("乙局", "2020", sha(DOCX_2020))}
    assert f"丙局 2020: fetch failed — no such file: {reports / 'none.pdf'}" in stdout


@pytest.mark.parametrize("text, error", [
    ("name,link\n某局,http://example.invalid/\n", "no column agency, year"),
    ("机关,年份,网址\n某局,十九年,http://example.invalid/\n", "line 2: year '十九年' is not a year"),
])
def test_manifest_errors_say_what_to_do(tmp_path, text, error):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=error):
        read_manifest(manifest)


def test_a_raw_store_of_the_earlier_layout_is_carried_over(tmp_path):
    """Version 1 kept one fetch per (url, source) and one crawl per source: opened now, its
    rows are kept under the new keys."""
    raw = tmp_path / "raw"
    raw.mkdir()
    db = sqlite3.connect(raw / "manifest.sqlite")
    columns = ("url", "final_url", "fetched_at", "status", "http_status", "sha256", "size", "format", "role",
               "agency", "year", "source", "parent", "etag", "last_modified", "error")
    db.executescript(f"CREATE TABLE fetches (id INTEGER PRIMARY KEY, {', '.join(c + ' TEXT' for c in columns)}, "
                     "UNIQUE (url, source)); CREATE INDEX fetches_sha ON fetches (sha256); "
                     "CREATE TABLE crawls (source TEXT PRIMARY KEY, agency TEXT, year TEXT, finished_at TEXT, "
                     "status TEXT, reports INTEGER, note TEXT);")
    db.execute("INSERT INTO fetches (url, status, sha256, format, role, agency, year, source) VALUES "
               "('http://x/r.pdf', 'ok', 'ab', 'pdf', 'report', '某局', '2020', 'http://x/r.pdf')")
    db.execute("INSERT INTO crawls VALUES ('http://x/r.pdf', '某局', '2020', 'now', 'done', 1, '')")
    db.commit()
    db.close()
    store = RawStore(raw)
    from flows.harvest.crawl import Row

    row = Row("某局", 2020, "http://x/r.pdf")
    assert store.fetched("http://x/r.pdf", row)["sha256"] == "ab" and store.crawl(row)["status"] == "done"
    assert not store.crawled(row)  # its outcome unknown: crawled again, from the store
    store.close()


NOTICE = "关于开展2020年度安全生产检查的通知\n\n各乡镇、各部门：\n请各单位于12月31日前完成自查。\n\n某县应急管理局\n".encode()


def test_run_writes_the_coverage_and_exits_by_it(tmp_path):
    """`run`: export/coverage.csv and the coverage table hold every row's outcome, a fetched
    file that is no report among them; the closing summary counts them."""
    from sqlalchemy import create_engine, text

    report, other = generate(311, "2021", "txt"), generate(312, "2019", "txt")
    said = other.gold["fields"]
    with Portal() as portal:
        _serve_years(portal, [2019])
        portal.routes.update({"/r/report.txt": Route(report.data), "/r/notice.txt": Route(NOTICE),
                              "/r/other.txt": Route(other.data)})
        rows = [(report.gold["fields"]["meta.agency"], report.gold["fields"]["meta.year"], portal.url("/r/report.txt")),
                ("某局", 2020, portal.url("/r/notice.txt")), ("某局", 2018, portal.url(LISTING)),
                ("乙局", 2020, portal.url("/r/gone.pdf")),
                (said["meta.agency"], said["meta.year"] + 1, portal.url("/r/other.txt"))]  # the report states its own
        manifest = write_manifest(tmp_path / "m.csv", rows)
        out = tmp_path / "out"
        code, stdout = run_cli(["run", str(manifest), "--out", str(out), "--allow-host", portal.address,
                                "--workers", "1", "--ocr-engine", "off"])
    assert code == 0, stdout
    outcomes = {k: r["outcome"] for k, r in _coverage(out / "export" / "coverage.csv").items()}
    assert outcomes == {(rows[0][0], str(rows[0][1])): "found", ("某局", "2020"): "not a report",
                        ("某局", "2018"): "no report listed", ("乙局", "2020"): "fetch failed",
                        (said["meta.agency"], str(said["meta.year"] + 1)): "year mismatch"}
    assert (f"the report states {said['meta.year']}, the manifest {said['meta.year'] + 1}"
            in _coverage(out / "export" / "coverage.csv")[(said["meta.agency"], str(said["meta.year"] + 1))]["reason"])
    engine = create_engine(f"sqlite:///{out}/nianbao.sqlite")
    with engine.connect() as conn:
        table = {(r.agency, r.year): r.outcome for r in conn.execute(text("SELECT * FROM coverage"))}
    engine.dispose()
    assert table == {(a, int(y)): o for (a, y), o in outcomes.items()}
    assert ("coverage: 5 manifest rows — found 1, no report listed 1, fetch failed 1, not a report 1, "
            "year mismatch 1" in stdout)
    assert f"乙局 2020: fetch failed — {portal.url('/r/gone.pdf')}: the portal answered HTTP 404" in stdout


@pytest.mark.parametrize("header", [
    b"attachment; filename*=UTF-8''" + quote("年度报告.docx").encode(),  # RFC 6266
    'attachment; filename="年度报告.docx"'.encode("gbk"),  # GBK bytes as Latin-1, as Java servlets send them
    'attachment; filename="年度报告.docx"'.encode("utf-8"),
    b"attachment;filename=" + quote("年度报告.docx", encoding="gbk").encode(),  # URLEncoder.encode(name, "GBK")
    b"attachment;filename=" + quote("年度报告.docx").encode(),
])
def test_content_disposition_names_as_portals_send_them(header):
    from flows.harvest.fetch import disposition_filename

    assert disposition_filename([(b"Content-Disposition", header)]) == "年度报告.docx"


def test_links_as_portals_write_them():
    from flows.harvest.links import parse_page

    html = page('<p>附件：<a href="javascript:void(0)" onclick="openFile(\'/attach/0/a1\')">年报</a></p>'
                '<p><a href="javascript:window.open(\'/uploadfiles/2021/b2.pdf\')">全文</a></p>'
                '<p><a href="/download.do?fileName=c3.docx">c3</a></p><p><a href="/x/d4">2020年度报告.wps</a></p>'
                '<p><a href="/e5">新闻</a></p><p><a href="/f6" download>保存</a></p>'
                '<iframe src="/pdfjs/web/viewer.html?file=/up/g7.pdf"></iframe><iframe src="/video/h8"></iframe>')
    links = {link.url.rsplit("/", 1)[-1]: link for link in parse_page(html, "http://h/art/1.shtml").links}
    assert {k for k, link in links.items() if link.is_attachment()} == {
        "a1", "b2.pdf", "download.do?fileName=c3.docx", "d4", "f6", "g7.pdf"}
    assert "h8" not in links
    assert links["a1"].attached and not links["e5"].is_attachment() and not links["index.html"].is_attachment()
