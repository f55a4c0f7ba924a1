"""Shared by the flow and bad-input tests: one `nianbao extract` run over the seeds plus every
bad input (Prefect runs are slow to start, so the suite makes just this one and a rerun)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import tempfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.cli import main
from flows.prefect_api import prepare_prefect_env

# Before anything imports Prefect, which reads its settings once.
prepare_prefect_env(Path(tempfile.gettempdir()) / "nianbao-test-prefect")

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "eval" / "seeds"
GOLD = REPO / "eval" / "gold"

PG_ENV = "NIANBAO_TEST_POSTGRES"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A results database for one test: SQLite in tmp_path, and PostgreSQL where
    NIANBAO_TEST_POSTGRES names one (a schema of its own, dropped after); skipped if not."""
    from sqlalchemy import create_engine, text

    from flows import store

    if request.param == "sqlite":
        yield store.database_url(None, tmp_path)
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (export {PG_ENV}=$(bash scripts/postgres.sh | tail -n1))")
    base = store.database_url(base, tmp_path)
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:  # libpq's options: every connection of the test works in its own schema
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()




def run_cli(argv: list[str]) -> tuple[int, str]:
    """`nianbao ARGV` in this process: (exit code, stdout). The environment is put back after:
    the CLI passes choices to its workers through it (--ocr-engine off sets NIANBAO_OCR), and
    one test's choice must not switch OCR off for the tests after it."""
    out = io.StringIO()
    environ = dict(os.environ)
    try:
        with contextlib.redirect_stdout(out):
            try:
                code = main(argv)
            except SystemExit as exit_:
                code = exit_.code
    finally:
        os.environ.clear()
        os.environ.update(environ)
    return code, out.getvalue()


def _pdf(text: str) -> bytes:
    import fitz

    doc = fitz.open()
    doc.new_page().insert_textbox(fitz.Rect(50, 50, 550, 800), text, fontname="china-s", fontsize=11)
    data = doc.tobytes()
    doc.close()
    return data


def make_bad_inputs(folder: Path) -> None:
    """One file per kind of bad input, named after it."""
    import fitz

    from extractors.synth import generate

    folder.mkdir(parents=True)
    (folder / "empty.pdf").write_bytes(b"")
    report_pdf = generate(3, "2019", "pdf").data
    (folder / "truncated.pdf").write_bytes(report_pdf[:len(report_pdf) // 2])
    doc = fitz.open()
    doc.new_page().insert_text((50, 50), "2020年政府信息公开工作年度报告", fontname="china-s")
    doc.save(folder / "encrypted.pdf", encryption=fitz.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    doc.close()
    # 1 GiB of zeros as word/document.xml, streamed: ~5 MB on disk, ~1 s to build
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            zeros = bytes(1 << 20)
            for _ in range(1024):
                fh.write(zeros)
    with open(folder / "huge.pdf", "wb") as fh:
        fh.truncate(2 * 1024 ** 3)  # sparse: takes no disk space
    (folder / "speech.pdf").write_bytes(_pdf(
        "2021年政府工作报告\n各位代表：\n现在，我代表市人民政府，向大会报告政府工作，请予审议。\n"
        "一、2020年工作回顾\n过去一年，全市地区生产总值增长5.2%，城乡居民收入稳步增长。"))
    (folder / "page.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>通知</title></head><body>"
        "<p>关于开展安全生产检查的通知</p><p>各单位：请做好相关工作。</p></body></html>",
        encoding="utf-8")
    (folder / "report_pdf.docx").write_bytes(report_pdf)
    (folder / "report_docx.pdf").write_bytes(generate(4, "2021", "docx").data)
    _bad_pictures(folder, report_pdf)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width × height 1-bit pixels but holds one tiny data chunk: what a
    decompression bomb looks like before anything is decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _bad_pictures(folder: Path, report_pdf: bytes) -> None:
    """Issue 3's bad pictures: a 30000×30000 bomb, a blank page, a 1-bit fax TIFF and an
    upside-down photo of the requests-table page, a DOCX holding a corrupt JPEG."""
    import fitz
    from docx import Document
    from PIL import Image

    from extractors.synth import generate

    (folder / "bomb.png").write_bytes(_png_header(30000, 30000))
    Image.new("L", (1240, 1754), 255).save(folder / "blank.png")
    page = fitz.open(stream=report_pdf, filetype="pdf")[1]  # the requests table
    pix = page.get_pixmap(dpi=200, colorspace=fitz.csGRAY)
    gray = Image.frombytes("L", (pix.w, pix.h), pix.samples)
    gray.convert("1").save(folder / "fax.tif", compression="group4", dpi=(200, 200))
    gray.rotate(180).save(folder / "upside_down.jpg", quality=80)
    # a report in DOCX with a picture whose JPEG data is cut short and overwritten
    doc = Document(io.BytesIO(generate(4, "2021", "docx").data))
    good = io.BytesIO()
    Image.new("L", (400, 300), 200).save(good, "JPEG")
    doc.add_picture(io.BytesIO(good.getvalue()))
    saved = io.BytesIO()
    doc.save(saved)
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(folder / "corrupt_jpeg.docx", "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("word/media/"):
                data = data[:300] + bytes(range(256)) * 4  # header kept, scan data garbage, no end
            dst.writestr(info, data)


@dataclass
class Run:
    inputs: Path
    out: Path
    code: int
    stdout: str
    summary: dict


@pytest.fixture(scope="session")
def extract_run(tmp_path_factory) -> Run:
    """inputs/seeds (the five seeds), inputs/dup (a seed again: same name, other folder),
    inputs/bad (make_bad_inputs), hidden files, and the output folder inside inputs/."""
    inputs = tmp_path_factory.mktemp("inputs")
    shutil.copytree(SEEDS, inputs / "seeds")
    (inputs / "dup").mkdir()
    shutil.copy(SEEDS / "000_0fd88f05dde60c98.txt", inputs / "dup")
    make_bad_inputs(inputs / "bad")
    (inputs / ".hidden.txt").write_text("not an input")
    (inputs / ".git").mkdir()
    (inputs / ".git" / "notes.txt").write_text("not an input")
    out = inputs / "results"
    code, stdout = run_cli(["extract", str(inputs), "--out", str(out), "--workers", "2"])
    return Run(inputs, out, code, stdout, json.loads((out / "summary.json").read_text()))


@pytest.fixture(scope="session")
def record(extract_run):
    """The per-document JSON of an input of the shared run, by file name."""
    by_name = {Path(f["path"]).name: f for f in extract_run.summary["files"]}

    def load(name: str) -> dict:
        return json.loads((extract_run.out / by_name[name]["json"]).read_text(encoding="utf-8"))

    return load
