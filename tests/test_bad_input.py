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


def test_image_decompression_bomb_refused_before_decoding(record):
    rec = _error(record, "bomb.png", "too_large")
    assert "30000" in rec["error"] or "pixels" in rec["error"]


def test_blank_picture_is_an_error_that_says_no_text_was_found(record):
    rec = _error(record, "blank.png", "needs_ocr")
    assert "found no text" in rec["error"]


def _requests_fields_right_or_flagged(rec: dict, gold: dict) -> int:
    """Requests-table fields read right; every one read wrong must be in the review queue."""
    flagged = {item["field"] for item in rec["review"]}
    keys = [k for k in gold if k.startswith("requests.")]
    wrong = [k for k in keys if rec["fields"].get(k) != gold[k]]
    assert set(wrong) <= flagged, wrong
    return len(keys) - len(wrong)


def test_one_bit_fax_tiff_is_read(record):
    from extractors.synth import generate

    rec = record("fax.tif")
    assert rec["status"] == "ok", rec["error"]
    assert rec["format"] == "image"
    gold = generate(3, "2019", "pdf").gold["fields"]
    right = _requests_fields_right_or_flagged(rec, gold)
    # measured: all of the page's requests fields right
    assert right >= 0.95 * sum(k.startswith("requests.") for k in gold)


def test_upside_down_photo_is_turned_and_read(record):
    from extractors.synth import generate

    rec = record("upside_down.jpg")
    assert rec["status"] == "ok", rec["error"]
    gold = generate(3, "2019", "pdf").gold["fields"]
    assert _requests_fields_right_or_flagged(rec, gold) >= 0.95 * sum(k.startswith("requests.") for k in gold)


def test_corrupt_jpeg_inside_docx_leaves_the_rest_read(record):
    from extractors.synth import generate

    rec = record("corrupt_jpeg.docx")
    assert rec["status"] == "ok", rec["error"]
    gold = generate(4, "2021", "docx").gold["fields"]
    assert all(rec["fields"][k] == v for k, v in gold.items() if k.startswith(("requests.", "active.")))
