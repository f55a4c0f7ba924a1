"""DOC/WPS/RTF/ODT through LibreOffice: a DOCX made with python-docx is converted by soffice
here, read back, and its 三 table fragment checked cell by cell."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from docx import Document as DocxDocument

from extractors.errors import ReadError
from extractors.readers import office
from extractors.readers.office import read_office

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None,
                                   reason="LibreOffice (soffice) not installed")

TITLE = "某某市人民政府2020年政府信息公开工作年度报告"
BEFORE = "三、收到和处理政府信息公开申请情况"
AFTER = "四、政府信息公开行政复议、行政诉讼情况"
DENIED = ["1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”"]


def _make_docx(path: Path) -> None:
    """Title, heading, a 三 table fragment (label columns merged down and across), heading."""
    doc = DocxDocument()
    doc.add_paragraph(TITLE)
    doc.add_paragraph(BEFORE)
    table = doc.add_table(rows=6, cols=5)
    table.style = "Table Grid"

    def put(r0, c0, r1, c1, text):
        cell = table.cell(r0, c0)
        if (r0, c0) != (r1, c1):
            cell = cell.merge(table.cell(r1, c1))
        cell.text = text

    put(0, 0, 0, 2, "一、本年新收政府信息公开申请数量")
    put(1, 0, 5, 0, "三、本年度办理结果")
    put(1, 1, 1, 2, "（一）予以公开")
    put(2, 1, 4, 1, "（三）不予公开")
    for k, label in enumerate(DENIED):
        put(2 + k, 2, 2 + k, 2, label)
    put(5, 1, 5, 2, "（七）总计")
    for r in range(6):
        put(r, 3, r, 3, str(10 + r))
        put(r, 4, r, 4, "" if r == 3 else str(20 + r))
    doc.add_paragraph(AFTER)
    doc.save(path)


def _soffice_convert(source: Path, fmt: str, outdir: Path, profile: Path) -> Path:
    subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", fmt, "--outdir", str(outdir), str(source)],
                   check=True, capture_output=True, timeout=180)
    return outdir / f"{source.stem}.{fmt}"


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """The same report as .doc, .wps (a copy of the .doc, as Kingsoft saves it), .rtf and .odt."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) not installed")
    tmp = tmp_path_factory.mktemp("office")
    source = tmp / "report.docx"
    _make_docx(source)
    files = {fmt: _soffice_convert(source, fmt, tmp, tmp / "profile") for fmt in ("doc", "rtf", "odt")}
    files["wps"] = tmp / "report.wps"
    shutil.copyfile(files["doc"], files["wps"])
    return files


def _cells(doc):
    [table] = doc.tables()
    return {(c.row, c.col): c for row in table.rows for c in row}, table


@needs_soffice
@pytest.mark.parametrize("fmt", ["doc", "wps", "rtf", "odt"])
def test_office_file_reads_table_with_merged_cells(converted, fmt):
    doc = read_office(converted[fmt])
    assert doc.format == fmt and doc.path == str(converted[fmt])
    cells, table = _cells(doc)
    assert len(table.rows) == 6
    assert cells[(0, 0)].text == "一、本年新收政府信息公开申请数量" and cells[(0, 0)].colspan == 3
    result = cells[(1, 0)]
    assert (result.text, result.rowspan, result.colspan) == ("三、本年度办理结果", 5, 1)
    denied = cells[(2, 1)]
    assert (denied.text, denied.rowspan) == ("（三）不予公开", 3)
    assert [cells[(2 + k, 2)].text for k in range(3)] == DENIED
    assert (cells[(5, 1)].text, cells[(5, 1)].colspan) == ("（七）总计", 2)
    assert [cells[(r, 3)].text for r in range(6)] == [str(10 + r) for r in range(6)]
    assert cells[(3, 4)].text == "" and cells[(4, 4)].text == "24"
    # nothing else starts inside the merged label cells
    assert not [k for k in cells if k[1] == 0 and 1 < k[0] <= 5]


@needs_soffice
def test_office_paragraphs_come_around_the_table_in_order(converted):
    doc = read_office(converted["doc"])
    order = ["T" if b.table else b.paragraph.text for b in doc.blocks]
    assert order == [TITLE, BEFORE, "T", AFTER]


@needs_soffice
def test_damaged_doc_is_reported_corrupt_with_soffice_message(converted, tmp_path):
    data = converted["doc"].read_bytes()
    path = tmp_path / "half.doc"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as err:
        read_office(path)
    assert err.value.code == "corrupt"
    assert "could not be loaded" in str(err.value)


@needs_soffice
def test_ole_header_with_garbage_is_not_read_as_text(tmp_path):
    path = tmp_path / "junk.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 20)
    with pytest.raises(ReadError) as err:
        read_office(path)
    assert err.value.code == "corrupt"


@needs_soffice
def test_hung_conversion_is_killed_with_its_process_group(converted, monkeypatch):
    started = []
    popen = subprocess.Popen

    def spy(*args, **kwargs):
        proc = popen(*args, **kwargs)
        started.append(proc.pid)
        return proc

    monkeypatch.setattr(office, "SOFFICE_TIMEOUT", 0.05)
    monkeypatch.setattr(office.subprocess, "Popen", spy)
    with pytest.raises(ReadError) as err:
        read_office(converted["doc"])
    assert err.value.code == "corrupt" and "did not finish" in str(err.value)
    [pid] = started
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)  # signal 0: only asks whether the group still exists
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("soffice's process group outlived the timeout")


def test_missing_soffice_names_the_tool(tmp_path, monkeypatch):
    path = tmp_path / "report.doc"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no soffice on it
    with pytest.raises(ReadError) as err:
        read_office(path)
    assert err.value.code == "missing_tool"
    assert "soffice" in str(err.value) and "libreoffice-writer-nogui" in str(err.value)


def test_non_office_file_is_unsupported(tmp_path):
    path = tmp_path / "report.doc"
    path.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(ReadError) as err:
        read_office(path)
    assert err.value.code == "unsupported"


@needs_soffice
def test_doc_whose_requests_table_is_a_picture_is_read_by_ocr(tmp_path):
    """Word 97 files carry pasted pictures too: LibreOffice keeps them, and OCR reads them."""
    pytest.importorskip("rapidocr_onnxruntime")
    from extractors.pipeline import extract_file
    from extractors.synth import generate

    report = generate(21, "2021", "docx", picture_tables=("requests",))
    source = tmp_path / "pictured.docx"
    source.write_bytes(report.data)
    doc_file = _soffice_convert(source, "doc", tmp_path, tmp_path / "profile")
    result = extract_file(doc_file)
    assert result.status == "ok", result.error
    gold = report.gold["fields"]
    requests = [k for k in gold if k.startswith("requests.")]
    assert all(result.provenance[k].source == "ocr" for k in requests if result.provenance[k].method == "table")
    wrong = [k for k in requests if result.fields[k] != gold[k]]
    assert len(wrong) <= 0.02 * len(requests), wrong
    assert {item.field for item in result.review} >= set(wrong)
