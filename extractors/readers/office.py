"""DOC, WPS, RTF and ODT: LibreOffice converts them to DOCX, which the DOCX reader reads.

One soffice process per file, each with its own throw-away profile: soffice instances that
share a profile hand their work to whichever started first, or fail on its lock.

A document may link pictures by URL or local path, and LibreOffice follows such links while
converting: a request to any host from inside the harvester's address guard, or a local file
pulled into the output. Three layers stop it (tests/test_hostile_office.py proves each):
- the profile's settings: linked pictures of DOC and ODT are neither fetched nor read
  (BlockUntrustedRefererLinks), and no URL of http, https, WebDAV, FTP or CMIS can be opened
  (their content providers are removed);
- a network namespace with no route (unshare), where the system allows one;
- Landlock, where the kernel has it: soffice reads only the system's folders and its own, and
  opens no TCP connection. RTF's INCLUDEPICTURE and ODT's background pictures read local files
  whatever the settings say.
A linked picture ends up as an external link in the DOCX, which the DOCX reader never follows.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ..document import Document
from ..errors import ReadError
from .docx import read_docx_native
from .pictures import Loader, read_pictures
from .sniff import sniff_format

log = logging.getLogger(__name__)

SOFFICE_TIMEOUT = float(os.environ.get("NIANBAO_SOFFICE_TIMEOUT", 120))

# The import filter is named, not detected: on a damaged file LibreOffice's detection falls
# back to importing the bytes as plain text and "succeeds". Kingsoft WPS files are Word
# binary documents (to LibreOffice, .wps would mean Microsoft Works).
_IMPORT = {"doc": ("input.doc", "MS Word 97"), "wps": ("input.doc", "MS Word 97"),
           "rtf": ("input.rtf", "Rich Text Format"), "odt": ("input.odt", "writer8")}


# BlockUntrustedRefererLinks alone still lets a DOC's linked picture be probed (OPTIONS, HEAD):
# the network content providers go too. Their names are those of LibreOffice 7.4's main.xcd.
_NETWORK_PROVIDERS = ("Provider3", "Provider4", "Provider4a", "Provider12", "Provider12a",
                      "Provider12b", "Provider6", "Provider43")  # http(s) and WebDAV, FTP, CMIS
_PROVIDER_DATA = ("/org.openoffice.ucb.Configuration/ContentProviders/['Local']/SecondaryKeys/"
                  "['Office']/ProviderData")
_SETTINGS = "".join([
    '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry">\n',
    '<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop '
    'oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>\n',
    *(f'<item oor:path="{_PROVIDER_DATA}"><node oor:name="{name}" oor:op="remove"/></item>\n'
      for name in _NETWORK_PROVIDERS),
    "</oor:items>\n"])

# Landlock (linux/landlock.h; its system calls are numbered alike on every architecture). A
# process can only confine itself, so a small Python program between unshare and soffice
# confines itself and becomes soffice (a preexec_fn would be unsafe in a threaded parent).
_LANDLOCK_VERSION = 444, None, 0, 1  # landlock_create_ruleset(NULL, 0, ..._VERSION)
_LANDLOCK_READ = 1 | 4 | 8  # execute, read a file, read a folder
_LANDLOCK_WRITE_FILE = 2  # for /dev/null, where the soffice script sends what it discards
# soffice's single-instance socket goes in /tmp whatever TMPDIR says: it makes and removes it
# there (Landlock cannot narrow that to the one file).
_LANDLOCK_SOCKET = 1 << 9 | 1 << 5
# What soffice may read: the system. /etc and /var too because Debian links parts of
# LibreOffice's installation there (share/registry, share/uno_packages/cache).
_SYSTEM = ("/usr", "/etc", "/var", "/proc", "/sys", "/dev", "/bin", "/sbin", "/lib", "/lib32",
           "/lib64", "/libx32")
_LANDLOCK_PROGRAM = """
import ctypes, os, struct, sys
CREATE_RULESET, ADD_RULE, RESTRICT_SELF, PATH_BENEATH, PR_SET_NO_NEW_PRIVS = 444, 445, 446, 1, 38
libc = ctypes.CDLL(None, use_errno=True)
def call(function, *args):
    result = function(*(ctypes.c_long(a) if isinstance(a, int) else a for a in args))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "Landlock: " + os.strerror(errno))
    return result
fs, net = int(sys.argv[1]), int(sys.argv[2])
end = sys.argv.index("--")
attr = struct.pack("QQ", fs, net) if net else struct.pack("Q", fs)
ruleset = call(libc.syscall, CREATE_RULESET, attr, len(attr), 0)
for rule in sys.argv[3:end]:
    access, path = rule.split(":", 1)
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        continue
    call(libc.syscall, ADD_RULE, ruleset, PATH_BENEATH, struct.pack("=Qi", int(access), fd), 0)
    os.close(fd)
call(libc.prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
call(libc.syscall, RESTRICT_SELF, ruleset, 0)
os.execv(sys.argv[end + 1], sys.argv[end + 1:])
"""


def read_office(path: Path) -> Document:
    doc, load = read_office_native(path)
    read_pictures(doc, load)
    return doc


def read_office_native(path: Path) -> tuple[Document, Loader]:
    """The text and tables of LibreOffice's DOCX of the file, the pictures not read yet."""
    path = Path(path)
    fmt = sniff_format(path)
    if fmt not in _IMPORT:
        raise ReadError("unsupported", f"{path.name}: not a DOC, WPS, RTF or ODT file ({fmt})")
    soffice = shutil.which("soffice")
    if soffice is None:
        raise ReadError("missing_tool", f"{path.name}: reading {fmt.upper()} files needs LibreOffice "
                        "(soffice) on PATH: apt-get install libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory(prefix="nianbao-soffice-") as tmp:
        tmp = Path(tmp)
        name, import_filter = _IMPORT[fmt]
        source = tmp / name
        shutil.copyfile(path, source)
        docx = _convert(soffice, source, import_filter, tmp, path.name)
        doc, load = read_docx_native(docx)
    doc.path = str(path)
    doc.format = fmt
    return doc, load


def _convert(soffice: str, source: Path, import_filter: str, tmp: Path, name: str) -> Path:
    out = tmp / "out"
    profile = tmp / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(_SETTINGS, encoding="utf-8")
    cmd = [*_namespace(), *_landlock(tmp, soffice),
           soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
           "--norestore", "--nolockcheck", f"--infilter={import_filter}",
           "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(source)]
    # Its temporary files go in its own folder; GLib's settings stay in memory, not ~/.cache.
    env = {**os.environ, "TMPDIR": str(tmp), "GSETTINGS_BACKEND": "memory"}
    # Own session, so a hung conversion can be killed with every process it started.
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=SOFFICE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise ReadError("corrupt", f"{name}: LibreOffice did not finish converting it within "
                        f"{SOFFICE_TIMEOUT:g} s") from None
    result = out / (source.stem + ".docx")
    if proc.returncode != 0 or not result.exists():
        raise ReadError("corrupt", f"{name}: LibreOffice could not convert it: "
                        f"{_soffice_message(stdout + stderr)}")
    return result


@functools.cache
def _namespace() -> list[str]:
    """The command that runs the next in a network namespace of its own (a loopback that is
    down and nothing else: no route anywhere), or [] where the system allows none. As root
    unshare needs no user namespace; others need one."""
    unshare = shutil.which("unshare")
    tries = ([["--net"]] if os.geteuid() == 0 else []) + [["--user", "--map-root-user", "--net"]]
    why = "unshare is not on PATH"
    for flags in tries if unshare else []:
        try:
            probe = subprocess.run([unshare, *flags, "true"], stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            why = str(exc)
            continue
        if probe.returncode == 0:
            return [unshare, *flags, "--"]
        why = probe.stderr.decode("utf-8", "replace").strip() or f"exit status {probe.returncode}"
    log.warning("LibreOffice converts without a network namespace (%s): its settings, and "
                "Landlock where the kernel has it, keep documents' links off the network", why)
    return []


@functools.cache
def _landlock_abi() -> int:
    """The kernel's Landlock version, 0 where it has none or it is off."""
    try:
        abi = ctypes.CDLL(None).syscall(*(ctypes.c_long(a) if isinstance(a, int) else a
                                          for a in _LANDLOCK_VERSION))
    except (OSError, AttributeError):
        abi = -1
    if abi < 1:
        log.warning("LibreOffice converts without Landlock (the kernel has none, or it is off): "
                    "an RTF or ODT may make it read local files its settings do not guard")
    return max(abi, 0)


def _landlock(tmp: Path, soffice: str) -> list[str]:
    """The command that runs the next confined to reading the system and its own folder `tmp`,
    with no TCP (Landlock 4+), or [] without Landlock."""
    abi = _landlock_abi()
    if not abi:
        return []
    every = (1 << {1: 13, 2: 14}.get(abi, 15)) - 1  # each right this kernel has, up to truncate
    tcp = 3 if abi >= 4 else 0  # bind and connect: handled, and allowed nowhere
    install = Path(soffice).resolve().parents[1]  # e.g. /usr/lib/libreoffice, /opt/libreoffice7.4
    rules = ([f"{_LANDLOCK_READ}:{path}" for path in (*_SYSTEM, install)]
             + [f"{_LANDLOCK_WRITE_FILE}:/dev/null", f"{_LANDLOCK_SOCKET}:/tmp", f"{every}:{tmp}"])
    return [sys.executable, "-I", "-S", "-c", _LANDLOCK_PROGRAM, str(every), str(tcp), *rules, "--"]


def _soffice_message(output: bytes) -> str:
    lines = [ln.strip() for ln in output.decode("utf-8", "replace").splitlines() if ln.strip()]
    # javaldx's warning is printed on every run and says nothing about the file.
    lines = [ln for ln in lines if "javaldx" not in ln]
    errors = [ln for ln in lines if "rror" in ln]
    return "; ".join(errors or lines[-1:]) or "no output file and no message"
