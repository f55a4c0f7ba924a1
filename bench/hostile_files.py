"""Benchmark: one `nianbao extract` over every kind of hostile file a portal may serve (the
table of issue 17 and the earlier attacks), as a user's run meets them, then `nianbao review
export` of the result. Measured and checked:

- the wall time of the run (target: within 10 minutes), and the peak memory of the whole
  process tree (the sum of each process's PSS, sampled every 0.2 s; target: under 2 GB);
- a record for every file, with what became of it;
- no request at the loopback servers the files point at (an HTTP server that answers, and a
  socket that accepts and never answers) and no open of the outside files they name;
- no CSV cell that a spreadsheet would run as a formula; `review export` succeeding.

    .venv/bin/python bench/hostile_files.py [--out bench/hostile_results.md] [--keep DIR]

The files are built here (the big ones are generated, never committed), most with the
builders of the tests that pin each fix (tests/test_hostile_*.py).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from extractors.synth import generate  # noqa: E402
from test_hostile_docx_html import BILLIONS, docx, p, picture, tc, tr  # noqa: E402
from test_hostile_office import Opens, Server, _odt, _rtf  # noqa: E402
from test_hostile_pdf import pdf_claiming, ruled_grid_pdf, with_huge_page  # noqa: E402
from test_hostile_values_names import (FORMULA_NAME, GBK_NAME, _csv_cells, _dangerous,  # noqa: E402
                                       _hostile_2019)

NIANBAO = Path(sys.executable).with_name("nianbao")
MINUTES, GIGABYTES = 10, 2


def build(folder: Path, http: str, silent: str, outside: Path) -> None:
    """One file per kind of attack, named after it."""
    report_txt = generate(3, "2021", "txt").data.decode("utf-8")
    report_pdf = generate(5, "2021", "pdf").data
    put = lambda name, data: (folder / name).write_bytes(data)  # noqa: E731

    # PDF: page counts that lie, a grid of four million cells, a page of 14 400 pt
    put("count_2e31.pdf", pdf_claiming(2**31 - 1, ["one real page"]))
    put("count_1e6_over_2.pdf", pdf_claiming(1_000_000, ["page one", "page two"]))
    put("grid_2000.pdf", ruled_grid_pdf(2000))
    put("report_with_14400pt_page.pdf", with_huge_page(report_pdf))
    # DOCX: spans and offsets of two billion, 1500 nested hyperlinks, a dangling picture
    cells = tc("x", f'<w:gridSpan w:val="{BILLIONS}"/>')
    put("gridspan_2e9.docx", docx(p("表格") + "<w:tbl>" + tr(cells) * 20 + "</w:tbl>"))
    put("gridbefore_2e9.docx", docx(p("表格") + "<w:tbl>" + tr(tc("1") + tc("2"), f'<w:gridBefore w:val="{BILLIONS}"/>')
                                    + tr(tc("3") + tc("4")) + "</w:tbl>"))
    nested = "<w:p>" + '<w:hyperlink r:id="rX">' * 1500 + "<w:r><w:t>深处</w:t></w:r>" + "</w:hyperlink>" * 1500 + "</w:p>"
    put("nested_hyperlinks.docm", docx(nested, macro=True))
    put("dangling_picture.docx", docx(p("2020年政府信息公开工作年度报告") + picture("rId9"),
                                      '<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
                                      'officeDocument/2006/relationships/image" Target="media/none.png"/>'))
    # XML entities: an external one (XXE) and a billion laughs
    put("xxe.docx", _with_doctype(docx(p("&xxe;")),
                                  f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "{(outside / "secret.txt").as_uri()}">]>'))
    laughs = '<!DOCTYPE d [<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY {chr(98 + k)} "{("&" + chr(97 + k) + ";") * 10}">' for k in range(8)) + "]>"
    put("billion_laughs.docx", _with_doctype(docx(p("&i;")), laughs))
    # HTML: spans that grow with the square of the rows; one table picture shown 400 times;
    # pictures from outside the page's folder and the network
    put("rowspan_colspan.html", ("<html><body><table>" + "<tr><td rowspan=600 colspan=1000>x</td></tr>" * 600
                                 + "</table></body></html>").encode())
    table_png = (ROOT / "eval" / "pictables" / "pictable005_files" / "table2.png").read_bytes()
    (folder / "repeated_files").mkdir()
    (folder / "repeated_files" / "t.png").write_bytes(table_png)
    put("repeated.html", ("<html><body><p>" + "正文" * 150 + "</p>" + '<img src="repeated_files/t.png">' * 400
                          + "</body></html>").encode())
    put("outside_pictures.html", (f'<html><body><p>年度报告</p><img src="{http}/a.png"><img src="{silent}/b.png">'
                                  f'<img src="{(outside / "secret.png").as_uri()}"><img src="../../secret.png">'
                                  f'<img src="//127.0.0.1/c.png"></body></html>').encode())
    # Numbers too long for any dataset, in a cell and in prose
    for digits in (400, 5000):
        put(f"digits_{digits}.txt", report_txt.replace("\t553\n", f"\t{'9' * digits}\n", 1)
            .replace("申请703宗", f"申请{'7' * digits}宗", 1).encode())
    # Names: GBK bytes; text, agency and file name that start formulas (with a 30-digit count)
    with open(os.path.join(os.fsencode(folder), GBK_NAME), "wb") as fh:
        fh.write(report_txt.encode())
    put(FORMULA_NAME, _hostile_2019().encode())
    # DOC, ODT and RTF with linked pictures: the network and outside files
    links = [f"{http}/linked.png", f"{silent}/silent.png", (outside / "secret.png").as_uri()]
    _odt(folder / "linked.odt", links, paragraph_background=(outside / "secret.png").as_uri())
    _rtf(folder / "linked.rtf", [str(outside / "secret.png"), f"{http}/rtf.png"])
    with tempfile.TemporaryDirectory() as tmp:
        _odt(Path(tmp) / "linked_doc.odt", links[:1] + links[2:])
        subprocess.run(["soffice", f"-env:UserInstallation={Path(tmp, 'profile').as_uri()}", "--headless",
                        "--convert-to", "doc", "--outdir", str(folder), str(Path(tmp) / "linked_doc.odt")],
                       check=True, capture_output=True, timeout=300)
    # and a good report, which must come out whole
    put("good.pdf", report_pdf)


def _with_doctype(package: bytes, doctype: str) -> bytes:
    """The DOCX with a DOCTYPE put before its document element."""
    import io
    import zipfile

    source, out = zipfile.ZipFile(io.BytesIO(package)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:document", doctype.encode() + b"<w:document", 1)
            zf.writestr(item, data)
    return out.getvalue()


def _tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        current = todo.pop()
        seen.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return seen


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
    except (OSError, StopIteration):
        return 0


def run_measured(cmd: list[str]) -> tuple[int, float, float, int]:
    """The command's exit status, wall seconds, peak PSS of its process tree (MB), and the
    most processes it had at once."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, most = 0, 0
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    while proc.poll() is None:
        pids = _tree(proc.pid)
        peak, most = max(peak, sum(map(_pss_kb, pids))), max(most, len(pids))
        time.sleep(0.2)
    reader.join()
    print("".join(output[-12:]))
    return proc.returncode, time.perf_counter() - start, peak / 1024, most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "hostile_results.md")
    parser.add_argument("--keep", type=Path, help="build and run in this folder, and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="nianbao-hostile-"))
    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)
    http, silent_url = (f"http://127.0.0.1:{server.server_address[1]}",
                        f"http://127.0.0.1:{silent.getsockname()[1]}")
    outside = work / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text("root:x:0:0")
    (outside / "secret.png").write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="))
    files = work / "files"
    files.mkdir()
    build(files, http, silent_url, outside)
    opens = Opens(outside)
    server.take()
    out = work / "out"
    code, seconds, peak_mb, most = run_measured([str(NIANBAO), "extract", str(files), "--out", str(out)])
    export = subprocess.run([str(NIANBAO), "review", "export", str(out)], capture_output=True, text=True)
    silent.setblocking(False)
    silent_hits = 0
    try:
        while True:
            silent.accept()[0].close()
            silent_hits += 1
    except BlockingIOError:
        pass
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = []
    for entry in sorted(summary["files"], key=lambda f: f["path"]):
        record = json.loads((out / entry["json"]).read_text(encoding="utf-8"))
        outcome = record["status"] + (f" ({record['error_code']})" if record.get("error_code") else "")
        left = "; ".join(record.get("warnings") or [])
        rows.append((Path(entry["path"]).name, outcome, entry["seconds"], left[:120]))
    csvs = list(out.rglob("*.csv"))
    opened, requests = sorted(opens.take()), server.take()
    inputs = [f for f in files.iterdir() if f.is_file()]
    formulas = [(p.name, c) for p in csvs for row in _csv_cells(p) for c in row if _dangerous(c)]
    checks = {
        f"exit status 0 (got {code})": code == 0,
        f"within {MINUTES} minutes ({seconds:.0f} s)": seconds <= MINUTES * 60,
        f"process tree under {GIGABYTES} GB (peak {peak_mb:.0f} MB)": peak_mb < GIGABYTES * 1024,
        f"a record for every file ({len(rows)} of {len(inputs)})": len(rows) == len(inputs),
        f"no request at the HTTP server ({requests})": not requests,
        f"no connection at the silent socket ({silent_hits})": silent_hits == 0,
        f"no outside file opened ({opened})": not opened,
        f"no formula-like CSV cell in {len(csvs)} CSVs ({formulas[:3]})": not formulas,
        f"review export succeeds (exit {export.returncode})": export.returncode == 0,
    }
    lines = ["# Hostile files: one `nianbao extract` over all of them", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores; "
             f"{len(rows)} files, at most {most} processes at once.", "",
             *(f"- {'PASS' if ok else 'FAIL'}: {what}" for what, ok in checks.items()), "",
             "| file | record | seconds | parts left out |", "| --- | --- | --- | --- |",
             *(f"| {name} | {outcome} | {secs if secs is not None else ''} | {left} |"
               for name, outcome, secs, left in rows), ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    server.shutdown()
    if not all(checks.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
