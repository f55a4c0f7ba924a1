"""Template tables pasted as pictures (picture_tables): the DOCX holds an image instead of
三's Word table, the HTML an <img>, the gold is unchanged, and the image shows a ruled table."""

from __future__ import annotations

import base64
import io
import re
import zipfile

import cv2
import docx
import numpy as np
import pytest

from extractors.synth import generate
from extractors.synth.blocks import Cell, Table
from extractors.synth.pictures import table_image
from extractors.synth.scan import ScanStyle

REQUESTS_HEADER = "申请人情况"  # a header cell of 三 that no layout choice breaks or spaces


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None, "the picture does not decode"
    return image


def ruled_rows(image: np.ndarray, share: float = 0.5) -> int:
    """Pixel rows holding a dark run at least `share` of the image width: ruling lines.
    Blur and noise leave a thin line grey and gappy, hence the light threshold and the
    closing of short gaps."""
    dark = cv2.morphologyEx((image < 180).astype(np.uint8), cv2.MORPH_CLOSE,
                            np.ones((1, 7), np.uint8)) > 0
    longest = np.zeros(image.shape[0], dtype=int)
    run = np.zeros(image.shape[0], dtype=int)
    for column in dark.T:
        run = np.where(column, run + 1, 0)
        longest = np.maximum(longest, run)
    return int((longest >= share * image.shape[1]).sum())


def word_tables_text(data: bytes) -> list[str]:
    return ["".join(c.text for row in t.rows for c in row.cells)
            for t in docx.Document(io.BytesIO(data)).tables]


def media(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("word/media/")}


def test_docx_holds_an_image_instead_of_the_requests_table():
    plain = generate(11, "2019", "docx")
    pictured = generate(11, "2019", "docx", picture_tables=("requests",))
    assert sum(REQUESTS_HEADER in t for t in word_tables_text(plain.data)) == 1
    tables = word_tables_text(pictured.data)
    assert not any(REQUESTS_HEADER in t for t in tables)
    assert len(tables) == len(word_tables_text(plain.data)) - 1
    (name, image_bytes), = media(pictured.data).items()
    assert name.endswith(".png")
    image = decode(image_bytes)
    height, width = image.shape
    # 三 spans the A4 text width (~6.9 in with margins) at 150–200 dpi, taller than wide-ish
    assert 950 <= width <= 1450 and 0.5 * width <= height <= 1.6 * width
    shape, = docx.Document(io.BytesIO(pictured.data)).inline_shapes
    assert abs(shape.width.cm - 15) < 0.01


def test_picture_shows_a_ruled_table():
    pictured = generate(11, "2021", "docx", picture_tables=("requests",))
    image = decode(next(iter(media(pictured.data).values())))
    assert ruled_rows(image) >= 25  # 2021's 三 has 30-odd rows
    assert (image[:3] > 200).all() and (image[-3:] > 200).all()  # a white margin, no cut lines


@pytest.mark.parametrize("template", ["2019", "2021"])
@pytest.mark.parametrize("fmt", ["docx", "html"])
def test_gold_is_that_of_the_plain_report(template, fmt):
    plain = generate(23, template, fmt, errors=True)
    pictured = generate(23, template, fmt, errors=True, picture_tables=("requests", "appeals"),
                        picture_format="jpeg")
    assert pictured.gold == plain.gold
    assert pictured.data != plain.data


def test_html_data_uri():
    doc = generate(5, "2021", "html", picture_tables=("requests",), picture_format="jpeg")
    page = doc.data.decode("latin-1")  # any charset: the URI is ASCII
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 1 and sources[0].startswith("data:image/jpeg;base64,")
    assert REQUESTS_HEADER.encode(doc.layout.charset.removeprefix("none-")) not in doc.data
    image = decode(base64.b64decode(sources[0].split(",", 1)[1]))
    assert image.shape[1] >= 950 and doc.files == {}


def test_html_relative_file_is_written(tmp_path):
    doc = generate(5, "2019", "html", name="case_x.html", picture_tables=("requests", "appeals"),
                   picture_src="file")
    sources = re.findall(r'<img src="([^"]+)"', doc.data.decode("latin-1"))
    assert len(sources) == 2 and all(re.fullmatch(r"case_x_files/table\d+\.png", s)
                                     for s in sources)
    assert sorted(doc.files) == sorted(sources)
    doc.write(tmp_path)
    for src in sources:
        assert (tmp_path / src).read_bytes() == doc.files[src]
    appeals = decode(doc.files[sources[1]])
    assert appeals.shape[0] < appeals.shape[1] / 3  # 四's table: four rows, full width


def test_degraded_jpeg_keeps_its_lines_and_corners():
    table = Table([[Cell(f"{r}-{c}") for c in range(10)] for r in range(30)])
    style = ScanStyle(dpi=150, skew=1.4, blur=0.6, noise=8.0, jpeg_quality=55)
    image = decode(table_image(table, style, "jpeg", seed=1))
    frame = np.concatenate([image[:2].ravel(), image[-2:].ravel(),
                            image[:, :2].ravel(), image[:, -2:].ravel()])
    assert (frame > 100).all()  # the turned table's corners stay inside the picture
    h, w = image.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), -style.skew, 1.0)
    straight = cv2.warpAffine(image, turn, (w, h), borderValue=255)
    assert ruled_rows(straight) >= 31  # 30 rows: 31 lines across the whole table


def test_same_seed_same_bytes():
    a = generate(8, "2021", "docx", picture_tables=("requests",), picture_format="jpeg")
    b = generate(8, "2021", "docx", picture_tables=("requests",), picture_format="jpeg")
    assert a.data == b.data


@pytest.mark.parametrize("choices", [{"picture_tables": ("charts",)},
                                     {"picture_tables": ("requests",), "picture_format": "gif"}])
def test_bad_choices_are_refused(choices):
    with pytest.raises(ValueError):
        generate(1, "2019", "docx", **choices)


@pytest.mark.parametrize("fmt", ["txt", "pdf"])
def test_pictures_only_in_docx_and_html(fmt):
    with pytest.raises(ValueError):
        generate(1, "2019", fmt, picture_tables=("requests",))
