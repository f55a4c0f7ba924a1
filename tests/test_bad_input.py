"""Bad input through `nianbao extract` (the shared run in conftest): each file gets a clear
error or not_a_report record, the batch finishes, and nothing half-written is left."""

from __future__ import annotations

from pathlib import Path

from flows import outputs


def test_batch_finishes_despite_bad_input(extract_run):
    assert extract_run.code == 0
    docs = extract_run.summary["documents"]
    assert docs["unprocessed"] == 0
    assert docs["extracted"] == docs["total"] == len(extract_run.summary["files"])
    # the good seeds after the bad files were still extracted
    assert sum(Path(f["path"]).parent.name == "seeds" and f["status"] == "ok"
               for f in extract_run.summary["files"]) == 5


def test_no_partial_output_left(extract_run):
    leftovers = [p.name for p in extract_run.out.iterdir() if p.name.endswith(outputs.TMP_SUFFIX)]
    assert leftovers == []
    for path, result in outputs.iter_results(extract_run.out):
        assert result is not None, f"{path.name} is not a complete record"


def _error(record, name: str, code: str) -> dict:
    rec = record(name)
    assert rec["status"] == "error", rec
    assert rec["error_code"] == code
    assert name in rec["error"]  # the message says which file
    assert rec["fields"] == {}
    return rec


def test_empty_file(record):
    _error(record, "empty.pdf", "empty")


def test_truncated_pdf(record):
    # Half of a real report: PyMuPDF repairs it silently and reads what is left, so the
    # reader has to notice the truncation rather than report a half-empty report as ok.
    rec = _error(record, "truncated.pdf", "corrupt")
    assert "truncated" in rec["error"]


def test_encrypted_pdf(record):
    rec = _error(record, "encrypted.pdf", "encrypted")
    assert "password" in rec["error"]


def test_docx_zip_bomb(record):
    rec = record("bomb.docx")
    assert rec["status"] == "error" and rec["error_code"] in ("too_large", "corrupt"), rec


def test_sparse_2gb_file_refused_unread(record):
    rec = _error(record, "huge.pdf", "too_large")
    assert rec["sha256"] == ""  # never hashed, so never read


def test_non_report_pdf(record):
    rec = record("speech.pdf")
    assert rec["status"] == "not_a_report" and rec["format"] == "pdf"
    assert rec["error"]


def test_html_without_tables(record):
    rec = record("page.html")
    assert rec["status"] == "not_a_report" and rec["format"] == "html"


def test_pdf_named_docx(record):
    rec = record("report_pdf.docx")
    assert rec["status"] == "ok" and rec["format"] == "pdf"


def test_docx_named_pdf(record):
    rec = record("report_docx.pdf")
    assert rec["status"] == "ok" and rec["format"] == "docx"
