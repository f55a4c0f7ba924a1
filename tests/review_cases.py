"""Databases for the review app's tests: real synthetic reports, extracted, saved as
`nianbao run` saves them."""

from __future__ import annotations

from pathlib import Path

from extractors.pipeline import extract_file
from extractors.synth import generate
from flows import store

SCRIPT = "<script>alert(1)</script>"


def _files() -> dict[str, bytes]:
    """A PDF whose prose and table disagree (X1, a source error: three flagged fields), the
    same report as a text dump with a `<script>` in a table's header, an HTML report whose
    appeals group does not add up (R4), and a PDF that names no agency (a doubt outside
    any rule) and breaks R1."""
    text = generate(8, "2021", "txt", errors=["X1"]).data.decode("utf-8")
    return {
        "x1.pdf": generate(8, "2021", "pdf", errors=["X1"]).data,
        "script.txt": text.replace("申请人情况", "申请人情况" + SCRIPT, 1).encode("utf-8"),
        "r4.html": generate(9, "2021", "html", errors=["R4"]).data,
        "r1.pdf": generate(7, "2021", "pdf", errors=["R1"]).data,
    }


def build_review_db(folder: Path) -> dict[str, int]:
    """OUT/nianbao.sqlite in `folder` with the reports above, their files in folder/raw;
    returns report ids by file name."""
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    engine = store.connect(store.database_url(None, folder))
    run_id = store.start_run(engine, {"command": "test"})
    ids = {}
    for name, data in _files().items():
        path = raw / name
        path.write_bytes(data)
        store.save_result(engine, extract_file(path), {"raw_path": str(path)}, run_id)
    with engine.connect() as conn:
        for rid, document in conn.execute(store.reports.select().with_only_columns(
                store.reports.c.id, store.reports.c.document)):
            ids[document] = rid
    engine.dispose()
    return ids
