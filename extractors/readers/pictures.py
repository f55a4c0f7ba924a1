"""Pictures as report content: image files (a scan or a phone photo of a report), and pictures
pasted into DOCX or HTML files (tables published as screenshots). Each is made into a PDF page
and read by the PDF reader's OCR path, so it yields the same paragraphs and tables, with the
same provenance and scores, as a scanned PDF.

Pillow reads the image header first, so a decompression bomb is refused before any pixel
is decoded; then it decodes each frame (multi-page and 1-bit fax TIFFs included) to grey.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import urllib.parse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf
from PIL import Image, ImageOps, UnidentifiedImageError

from ..document import Block, Document
from ..errors import ReadError
from . import MAX_BYTES

MAX_FRAMES = 200  # pages of one TIFF; more is not a report
MIN_SIDE = 64  # pixels: smaller pictures are icons, bullets or rules, never a table
A4_WIDTH_INCHES = 8.27
# The text in a picture has no size of its own; OCR expects a page scanned at 100–400 dpi.
# A resolution the file states in that range is a scanner's and is believed; otherwise (none,
# or a screen's 72/96) the picture is taken to be a page wide, which puts both a full-page
# scan and a screenshot of a table at a size OCR reads well.
MIN_DPI, MAX_DPI = 100, 400
# Picture pages (frames) of one DOCX/HTML file looked at for OCR: each costs a table test and
# perhaps ~3 s of OCR, and the sandbox's 600 s for a document fits about 150 (a scan saved as
# Word has a picture a page). Later pictures stay unread, which the document's warnings say.
MAX_PICTURE_PAGES = 150
# The raster formats reports use. Pillow would otherwise try every format it knows, EPS among
# them, which it renders by running Ghostscript on the file's PostScript.
FORMATS = ("PNG", "JPEG", "TIFF", "GIF", "BMP", "WEBP")  # JPEG covers MPO (camera) files


def picture_pages(data: bytes, name: str) -> pymupdf.Document:
    """Each frame of an image file as one page of a new PDF, scaled as described above."""
    from ..ocr.page_image import check_pixels  # OCR's limit; late: text formats never load cv2

    with warnings.catch_warnings():
        # Pillow warns past 89 M pixels and raises past twice that; our own limit is lower.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except Image.DecompressionBombError as err:
            raise ReadError("too_large", f"{name}: {err}") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
            raise ReadError("corrupt", f"{name}: not a readable image ({err})") from None
        frames = getattr(image, "n_frames", 1)
        if frames > MAX_FRAMES:
            raise ReadError("too_large", f"{name}: {frames} frames; over the {MAX_FRAMES}-page limit")
        pdf = pymupdf.open()
        for frame in range(frames):
            image.seek(frame)
            check_pixels(*image.size, f"{name}: frame {frame + 1}" if frames > 1 else name)
            try:
                png, size = _grey_png(image)
            except (OSError, ValueError, SyntaxError) as err:
                raise ReadError("corrupt", f"{name}: the image data is damaged ({err})") from None
            dpi = _scale_dpi(image)
            page = pdf.new_page(width=size[0] * 72 / dpi, height=size[1] * 72 / dpi)
            page.insert_image(page.rect, stream=png)
    return pdf


def _grey_png(image: Image.Image) -> tuple[bytes, tuple[int, int]]:
    """The frame decoded, upright by its EXIF orientation (phone photos), transparency laid
    on white (a screenshot's clear background would turn black), in grey, as PNG."""
    frame = ImageOps.exif_transpose(image) if image.format == "JPEG" else image
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    grey = frame if frame.mode in ("1", "L") else frame.convert("L")
    out = io.BytesIO()
    grey.save(out, "PNG", compress_level=1)  # fast: MuPDF decodes it once more to render
    return out.getvalue(), grey.size


def _scale_dpi(image: Image.Image) -> float:
    stated = image.info.get("dpi", (0, 0))[0]
    if MIN_DPI <= float(stated) <= MAX_DPI:
        return float(stated)
    return min(MAX_DPI, max(72.0, image.size[0] / A4_WIDTH_INCHES))


def read_image(path: Path) -> Document:
    """An image file: every frame OCR'd as a page of a scan."""
    from .pdf import read_pages

    path = Path(path)
    pdf = picture_pages(path.read_bytes(), path.name)
    try:
        return read_pages(pdf, str(path), "image")
    finally:
        pdf.close()


Loader = Callable[[str], bytes | None]  # a picture of a DOCX/HTML file by the name its reader gave it


@dataclass
class _Seen:
    """What a document's runs of pictures have taken so far."""
    looked_at: set[str] = field(default_factory=set)  # pictures (sha256) decoded once already
    read: set[str] = field(default_factory=set)  # those OCR read into the document
    pages: int = 0  # picture pages looked at, against MAX_PICTURE_PAGES
    over: bool = False  # a picture was left unread for the cap
    warnings: list[str] = field(default_factory=list)  # the OCR reader's, about parts it left out


def read_pictures(doc: Document, load: Loader) -> None:
    """Pictures of `doc` (Image blocks named by what `load` takes) replaced in place by what
    OCR reads on them. Read are pictures that hold a ruled table, or all of them when the
    document has almost no text of its own. Runs of pictures with nothing between are read as
    one scan, so a table that goes on from one picture to the next is joined like a table
    over a page break. A picture that cannot be decoded, where OCR finds nothing, or past
    MAX_PICTURE_PAGES, stays an Image block. Each picture is read once: the same bytes shown
    again (a page repeating one picture hundreds of times) add nothing, and a repeat of one
    that was read is dropped."""
    if not any(b.image is not None and b.image.name for b in doc.blocks):
        return  # none to load: the OCR engine is not started for nothing
    from ..ocr import reader_engine

    if reader_engine() is None:
        return
    scanned = doc.looks_scanned()
    seen = _Seen()
    out: list[Block] = []
    run: list[Block] = []
    for block in doc.blocks + [Block()]:  # the empty block ends the last run
        if block.image is not None:
            run.append(block)
            continue
        if run:
            out += _read_run(run, load, scanned, doc.path, seen)
            run = []
        if block.paragraph is not None or block.table is not None:
            out.append(block)
    doc.blocks = out
    _renumber_tables(doc)
    doc.warnings += seen.warnings
    if seen.over:
        doc.warnings.append(f"pictures past the first {MAX_PICTURE_PAGES} pages of them not read "
                            "(the cap on OCR in one document)")


def _read_run(run: list[Block], load: Callable[[str], bytes | None], scanned: bool,
              path: str, seen: _Seen) -> list[Block]:
    """One run of consecutive pictures: those worth reading as the pages of one scan."""
    from ..ocr import holds_table
    from .pdf import read_pages

    pdf = pymupdf.open()
    names: list[str] = []  # per page of `pdf`: the picture it came from, its frame, its sha256
    frame_of: list[int] = []
    digest_of: list[str] = []
    digests: list[str | None] = []  # per block of the run
    for block in run:
        name = block.image.name
        data = load(name) if name else None
        digest = hashlib.sha256(data).hexdigest() if data else None
        digests.append(digest)
        if digest is None or digest in seen.looked_at:
            continue
        if seen.pages >= MAX_PICTURE_PAGES:
            seen.over = True  # not even decoded
            continue
        seen.looked_at.add(digest)
        try:
            pages = picture_pages(data, name)
        except ReadError:
            continue  # a damaged or oversized picture: the rest of the document is still read
        for k, page in enumerate(pages):
            try:
                if _too_small(page):
                    continue
                if seen.pages >= MAX_PICTURE_PAGES:
                    seen.over = True
                    break
                seen.pages += 1
                if not (scanned or holds_table(page)):
                    continue
            except ReadError:
                continue  # too large to render for OCR: as above
            pdf.insert_pdf(pages, from_page=k, to_page=k)
            names.append(name)
            frame_of.append(k + 1)
            digest_of.append(digest)
        pages.close()
    blocks: list[Block] = []
    try:
        read = read_pages(pdf, path, "picture") if pdf.page_count else None
    except ReadError:
        read = None  # a picture the checks above let through still fails: keep the text
    finally:
        pdf.close()
    if read is not None:
        # its page numbers count the run's picture pages: say which picture each came from
        seen.warnings += [f"{', '.join(dict.fromkeys(names))}: {w}" for w in read.warnings]
    if read is not None and (read.paragraphs() or read.tables()):
        seen.read.update(digest_of)
        for block in read.blocks:
            for prov in _provenances(block):
                if prov.page is not None:
                    prov.image, prov.page = names[prov.page - 1], frame_of[prov.page - 1]
        blocks = [b for b in read.blocks if b.image is None]
    return blocks + [b for b, digest in zip(run, digests) if digest is None or digest not in seen.read]


def _too_small(page: pymupdf.Page) -> bool:
    [info] = page.get_image_info()
    return min(info["width"], info["height"]) < MIN_SIDE


def _provenances(block: Block):
    if block.paragraph is not None:
        yield block.paragraph.prov
    elif block.table is not None:
        yield block.table.prov
        for row in block.table.rows:
            for cell in row:
                yield cell.prov


def _renumber_tables(doc: Document) -> None:
    """Table ids follow the reading order, as DocumentBuilder numbers them."""
    for k, table in enumerate(doc.tables()):
        table.id = f"t{k}"


def local_loader(folder: Path) -> Callable[[str], bytes | None]:
    """Pictures an HTML file names by a relative path, read from beside it; never from
    outside its folder, nor from the network (fetching is the harvester's job)."""
    root = folder.resolve()

    def load(src: str) -> bytes | None:
        if "://" in src or src.startswith(("//", "data:")):
            return None
        target = (root / src.split("?", 1)[0].split("#", 1)[0]).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        if target.stat().st_size > MAX_BYTES:
            return None
        return target.read_bytes()

    return load



def pictures_folder(page: Path) -> Path:
    """<stem>_files/ beside a page: where a browser saves its pictures, and the harvester too."""
    return page.with_name(f"{page.stem}_files")


def fetched_name(src: str) -> str:
    """The file name the harvester keeps a page's picture under, in the page's <stem>_files/
    folder: a page names its pictures by any URL (absolute, /rooted, with a query), and this
    is the name both sides can make from the src alone."""
    return hashlib.sha256(src.encode("utf-8")).hexdigest()[:32]


def data_uri_bytes(src: str) -> bytes | None:
    """The bytes of a data: URI (base64 or percent-encoded), None if it is malformed."""
    head, sep, payload = src.partition(",")
    if not sep:
        return None
    try:
        if head.endswith(";base64"):
            return base64.b64decode("".join(payload.split()), validate=False)
        return urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None
