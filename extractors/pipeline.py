"""One document through the whole path: read → document model → extract → check → flag.

Pure functions with no Prefect in them, so every stage runs and tests alone; flows/ wraps
`extract_file` in tasks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .errors import NotAReport, ReadError
from .readers import check_size, read
from .result import DocumentResult
from .review import apply_rule_doubt, build_review
from .rules import check_rules
from .template import extract_fields

# Bump when a change to reading or extraction can change results: reruns redo documents
# whose recorded version differs.
EXTRACTOR_VERSION = "0.1.0"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extract_file(path: str | Path, sha256: str | None = None) -> DocumentResult:
    """Never raises for bad input: an unreadable file gives a record with status `error`."""
    path = Path(path)
    result = DocumentResult(document=path.name, sha256=sha256 or "", extractor_version=EXTRACTOR_VERSION)
    try:
        check_size(path)  # before hashing: a 2 GB file is refused without being read
        result.sha256 = result.sha256 or sha256_of(path)
        doc = read(path)
        result.format = doc.format
        extraction = extract_fields(doc)
    except ReadError as err:
        result.status, result.error_code, result.error = "error", err.code, str(err)
        return result
    except NotAReport as err:
        result.status, result.error = "not_a_report", str(err)
        return result
    readings = extraction.readings
    result.template = extraction.template
    result.rules = check_rules(readings, extraction.template, extraction.prose)
    apply_rule_doubt(readings, result.rules)
    result.review = build_review(readings, result.rules)
    for key, reading in readings.items():
        result.fields[key] = reading.value
        result.confidence[key] = round(reading.confidence, 3)
        result.provenance[key] = reading.prov
    return result
