"""Hostile DOC, ODT and RTF files that link pictures by URL and by local path (issue 17):
converting them, LibreOffice must open no URL and read no file outside the document.

A recording HTTP server and a socket that never answers, both on 127.0.0.1, see every request;
inotify sees every open of the "secret" pictures, which lie outside the documents. A control
conversion with every defence off shows that the files are hostile and the instruments work;
then each of office.py's layers (profile settings, network namespace, Landlock) is proven on its
own, and all together."""

from __future__ import annotations

import ctypes
import errno
import http.server
import io
import logging
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from extractors.errors import ReadError
from extractors.readers import office
from extractors.readers.office import read_office_native

pytestmark = [
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="inotify, namespaces and Landlock are Linux's"),
]

TITLE = "某某市人民政府2020年政府信息公开工作年度报告"
IN_OPEN = 0x20


class Server(http.server.ThreadingHTTPServer):
    """Answers any method on 127.0.0.1 with a PNG, recording (method, path) of each request."""

    daemon_threads = True

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def take(self) -> list[tuple[str, str]]:
        with self.lock:
            taken, self.requests = self.requests, []
        return taken


class _Handler(http.server.BaseHTTPRequestHandler):
    def __getattr__(self, name):
        if not name.startswith("do_"):
            raise AttributeError(name)
        return self._answer  # OPTIONS, HEAD, GET, PROPFIND: whatever LibreOffice tries

    def _answer(self):
        with self.server.lock:
            self.server.requests.append((self.command, self.path))
        body = _png("blue")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args):
        pass


class Opens:
    """Names of the files in `folder` opened by anyone since the last call (inotify IN_OPEN)."""

    def __init__(self, folder: Path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0 and libc.inotify_add_watch(self.fd, bytes(folder), IN_OPEN) >= 0

    def take(self) -> set[str]:
        names = set()
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return names
            offset = 0
            while offset < len(data):
                _, _, _, size = struct.unpack_from("iIII", data, offset)
                names.add(data[offset + 16: offset + 16 + size].rstrip(b"\0").decode())
                offset += 16 + size


def _png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return out.getvalue()


_ODF = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
        'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2"')


def _odt(path: Path, images: list[str], paragraph_background: str = "", page_background: str = "") -> None:
    """A text document with a title and one linked (not embedded) picture per URL of `images`;
    optionally a paragraph and the page with a linked background picture."""
    frames = "".join(
        f'<text:p><draw:frame draw:name="f{i}" text:anchor-type="as-char" svg:width="2cm" '
        f'svg:height="1.5cm"><draw:image xlink:href="{url}" xlink:type="simple" xlink:show="embed" '
        f'xlink:actuate="onLoad"/></draw:frame></text:p>' for i, url in enumerate(images))
    background = (f'<style:style style:name="P1" style:family="paragraph"><style:paragraph-properties>'
                  f'<style:background-image xlink:href="{paragraph_background}" xlink:type="simple" '
                  f'xlink:actuate="onLoad"/></style:paragraph-properties></style:style>'
                  if paragraph_background else "")
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF}>'
               f'<office:automatic-styles>{background}</office:automatic-styles><office:body><office:text>'
               f'<text:p text:style-name="P1">{TITLE}</text:p>{frames}</office:text></office:body>'
               f'</office:document-content>')
    page = (f'<style:background-image xlink:href="{page_background}" xlink:type="simple" '
            f'xlink:actuate="onLoad"/>' if page_background else "")
    styles = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {_ODF}>'
              f'<office:automatic-styles><style:page-layout style:name="pm1"><style:page-layout-properties '
              f'fo:page-width="21cm" fo:page-height="29.7cm">{page}</style:page-layout-properties>'
              f'</style:page-layout></office:automatic-styles><office:master-styles><style:master-page '
              f'style:name="Standard" style:page-layout-name="pm1"/></office:master-styles></office:document-styles>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        for name, text in (("content.xml", content), ("styles.xml", styles), ("META-INF/manifest.xml", manifest)):
            zf.writestr(name, text, zipfile.ZIP_DEFLATED)


def _rtf(path: Path, pictures: list[str]) -> None:
    """An RTF whose INCLUDEPICTURE fields name each of `pictures`, with no picture of its own."""
    fields = "".join(f'\\pard {{\\field{{\\*\\fldinst INCLUDEPICTURE "{p}" \\\\d}}{{\\fldrslt }}}}\\par\n'
                     for p in pictures)
    title = "".join(f"\\u{ord(c)}?" for c in TITLE)
    path.write_text(f"{{\\rtf1\\ansi\\deff0{{\\fonttbl{{\\f0 SimSun;}}}}\n\\pard {title}\\par\n{fields}}}\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The servers, the secret pictures with their watch, and the hostile documents."""
    server = Server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    silent = socket.create_server(("127.0.0.1", 0), backlog=16)  # accepts nothing, ever
    http_base = f"http://127.0.0.1:{server.server_address[1]}"
    silent_base = f"http://127.0.0.1:{silent.getsockname()[1]}"
    outside = tmp_path_factory.mktemp("outside")
    secrets = {}
    for k, name in enumerate(("odt.png", "odt-paragraph.png", "odt-page.png", "doc.png", "rtf.png")):
        secrets[name] = _png(("red", "green", "yellow", "purple", "orange")[k])
        (outside / name).write_bytes(secrets[name])
    docs = tmp_path_factory.mktemp("hostile")
    _odt(docs / "hostile.odt",
         [f"{http_base}/odt.png", (outside / "odt.png").as_uri(), f"{silent_base}/odt.png"],
         paragraph_background=(outside / "odt-paragraph.png").as_uri(),
         page_background=(outside / "odt-page.png").as_uri())
    _rtf(docs / "hostile.rtf", [str(outside / "rtf.png"), f"{http_base}/rtf.png"])
    # The DOC is LibreOffice's own Word 97 export of an ODT with linked pictures: INCLUDEPICTURE
    # fields with \d, the pictures' links kept and no copy of them.
    _odt(docs / "links.odt", [f"{http_base}/doc.png", (outside / "doc.png").as_uri()])
    subprocess.run(["soffice", f"-env:UserInstallation={(docs / 'profile').as_uri()}", "--headless",
                    "--convert-to", "doc", "--outdir", str(docs), str(docs / "links.odt")],
                   check=True, capture_output=True, timeout=180)
    (docs / "links.doc").rename(docs / "hostile.doc")
    data = (docs / "hostile.doc").read_bytes()
    for link in ("INCLUDEPICTURE", f"{http_base}/doc.png", (outside / "doc.png").as_uri()):
        assert link.encode("utf-16-le") in data or link.encode() in data, link
    assert secrets["doc.png"][8:] not in data and b"IHDR" not in data
    opens = Opens(outside)
    server.take()
    yield {"server": server, "silent": silent, "opens": opens, "secrets": secrets,
           "odt": docs / "hostile.odt", "doc": docs / "hostile.doc", "rtf": docs / "hostile.rtf"}
    server.shutdown()
    silent.close()
    os.close(opens.fd)


def _silent_hits(silent: socket.socket) -> int:
    """Connections that reached the silent socket (each accepted and closed, so none is counted twice)."""
    hits = 0
    while select.select([silent], [], [], 0)[0]:
        silent.accept()[0].close()
        hits += 1
    return hits


def _convert(world, fmt: str):
    """Read the hostile file of `fmt`; what the servers saw, which secrets were opened, and the
    pictures LibreOffice put in its DOCX."""
    world["server"].take()  # forget what came before
    world["opens"].take()
    _silent_hits(world["silent"])
    doc, load = read_office_native(world[fmt])
    texts = [b.paragraph.text for b in doc.blocks if b.paragraph is not None]
    assert TITLE in texts, texts  # the document itself still converts
    pictures = [load(b.image.name) for b in doc.blocks if b.image is not None]
    return (world["server"].take(), world["opens"].take(), _silent_hits(world["silent"]),
            [p for p in pictures if p is not None])


_NO_SETTINGS = '<?xml version="1.0" encoding="UTF-8"?><oor:items xmlns:oor="http://openoffice.org/2001/registry"/>'


def _only(monkeypatch, *layers: str) -> None:
    """Turn off every layer of office.py's defence but `layers`."""
    if "settings" not in layers:
        monkeypatch.setattr(office, "_SETTINGS", _NO_SETTINGS)
    if "namespace" not in layers:
        monkeypatch.setattr(office, "_namespace", lambda: [])
    if "landlock" not in layers:
        monkeypatch.setattr(office, "_landlock", lambda tmp, soffice: [])


def _needs_namespace():
    if not office._namespace():
        pytest.skip("no network namespace on this system")


def _needs_landlock():
    if not office._landlock_abi():
        pytest.skip("the kernel has no Landlock")


def test_undefended_conversion_follows_every_link(world, monkeypatch):
    """The control: LibreOffice as it was, with no defence. It fetches the ODT's and DOC's
    linked pictures (a DOC's with OPTIONS, HEAD and GET), waits on the host that never answers,
    reads each local picture, and copies the RTF's into the DOCX."""
    _only(monkeypatch)
    requests, opened, silent, _ = _convert(world, "odt")
    assert ("GET", "/odt.png") in requests
    assert silent >= 1
    assert {"odt.png", "odt-paragraph.png", "odt-page.png"} <= opened
    requests, opened, _, _ = _convert(world, "doc")
    assert {("HEAD", "/doc.png"), ("GET", "/doc.png")} <= set(requests)
    assert "doc.png" in opened
    _, opened, _, pictures = _convert(world, "rtf")
    assert "rtf.png" in opened and world["secrets"]["rtf.png"] in pictures


@pytest.mark.parametrize("fmt", ["odt", "doc", "rtf"])
def test_conversion_opens_no_url_and_reads_no_outside_file(world, fmt):
    requests, opened, silent, pictures = _convert(world, fmt)
    assert requests == [] and silent == 0
    assert opened == set()
    assert not set(pictures) & set(world["secrets"].values())


@pytest.mark.parametrize("fmt", ["odt", "doc"])
def test_settings_alone_stop_requests_and_linked_pictures(world, monkeypatch, fmt):
    """BlockUntrustedRefererLinks keeps a DOC's or ODT's linked pictures unread and unfetched,
    but not a DOC's probe of them (OPTIONS, HEAD): removing the network content providers stops
    that. Backgrounds and RTF pictures still read local files: Landlock's part."""
    _only(monkeypatch, "settings")
    requests, opened, silent, _ = _convert(world, fmt)
    assert requests == [] and silent == 0
    assert not opened & {"odt.png", "doc.png"}


@pytest.mark.parametrize("fmt", ["odt", "doc"])
def test_namespace_alone_keeps_soffice_off_the_network(world, monkeypatch, fmt):
    _needs_namespace()
    _only(monkeypatch, "namespace")
    requests, _, silent, _ = _convert(world, fmt)
    assert requests == [] and silent == 0


@pytest.mark.parametrize("fmt", ["odt", "doc", "rtf"])
def test_landlock_alone_keeps_soffice_off_outside_files(world, monkeypatch, fmt):
    _needs_landlock()
    _only(monkeypatch, "landlock")
    requests, opened, silent, pictures = _convert(world, fmt)
    assert opened == set()
    assert not set(pictures) & set(world["secrets"].values())
    if office._landlock_abi() >= 4:  # Landlock 4 handles TCP
        assert requests == [] and silent == 0


def test_namespace_for_a_user_who_is_not_root(world, monkeypatch):
    """Not root, soffice gets its network namespace inside a user namespace, where the system
    allows those; the conversion works there."""
    monkeypatch.setattr(office.os, "geteuid", lambda: 1000)
    prefix = office._namespace.__wrapped__()
    if not prefix:
        pytest.skip("no user namespaces on this system")
    assert prefix[1:] == ["--user", "--map-root-user", "--net", "--"]
    monkeypatch.setattr(office, "_namespace", lambda: prefix)
    requests, opened, silent, _ = _convert(world, "odt")
    assert requests == [] and silent == 0 and opened == set()


def test_no_namespace_is_said_once_and_conversion_goes_on(world, monkeypatch, caplog):
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "unshare" else which(name))
    with caplog.at_level(logging.WARNING, logger=office.__name__):
        assert office._namespace.__wrapped__() == []
    assert "without a network namespace" in caplog.text and "unshare is not on PATH" in caplog.text
    monkeypatch.setattr(office, "_namespace", lambda: [])
    requests, opened, silent, _ = _convert(world, "doc")
    assert requests == [] and silent == 0 and opened == set()


def test_namespace_that_the_system_refuses_is_said_once(monkeypatch, tmp_path, caplog):
    refusing = tmp_path / "unshare"
    refusing.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    refusing.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name: str(refusing))
    with caplog.at_level(logging.WARNING, logger=office.__name__):
        assert office._namespace.__wrapped__() == []
    assert caplog.text.count("without a network namespace") == 1
    assert "Operation not permitted" in caplog.text


def test_landlock_failure_fails_the_conversion_closed(world, monkeypatch):
    """A ruleset the kernel refuses stops the conversion; soffice never runs unconfined."""
    _needs_landlock()
    landlock = office._landlock

    def unknown_right(tmp, soffice):
        cmd = landlock(tmp, soffice)
        cmd[cmd.index(office._LANDLOCK_PROGRAM) + 1] = str(1 << 40)  # the handled rights
        return cmd

    monkeypatch.setattr(office, "_landlock", unknown_right)
    with pytest.raises(ReadError) as err:
        read_office_native(world["odt"])
    assert "Landlock" in str(err.value) and os.strerror(errno.EINVAL) in str(err.value)
