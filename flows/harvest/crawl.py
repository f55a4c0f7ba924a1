"""From one manifest row (agency, year, url) to the report files it leads to.

The URL may be a report file, a page whose body is the report, a page with the report
attached (PDF/DOC/DOCX/WPS, or a ZIP of them), or a portal's listing of reports to search by
link text for the year's 年度报告, page after page; or a file or folder on disk, which is
taken as the row's. A listing that lists other years only gives the row nothing ("no report
of 2018 listed"); a file whose link text or name says another year than the row's is not
taken as its report, and one naming another body is taken and the mismatch recorded. What was fetched before is read from the
raw store instead of the portal (with `refresh`, revalidated by a conditional request).

A page whose body is the report comes with its pictures (portals paste tables as pictures):
each is stored once by content, as every file is, and linked into the page's own folder,
<page sha256>_files/, under the name the HTML reader looks for (readers.pictures.fetched_name).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from extractors.readers.pictures import fetched_name, pictures_folder

from .archives import members
from .fetch import Fetcher
from .links import REPORT_SUFFIXES, Link, Page, body_named, parse_page, same_body, years_named
from .raw_store import MEMBER_FORMATS, REPORT_FORMATS, RawStore

MAX_DEPTH = 2  # listing → report page → attachment
MAX_PAGES = 30  # pages of one crawl: listings with their 下一页, report pages
MAX_PICTURES = 40  # of one report page: its tables, and the logos and icons around them
MAX_LOCAL_FILES = 10_000  # of one folder named in the manifest


@dataclass(frozen=True)
class Row:
    agency: str
    year: int | None
    url: str  # an http(s) URL, or an absolute path on disk

    @property
    def local(self) -> bool:
        return urlsplit(self.url).scheme.lower() not in ("http", "https")


@dataclass
class Crawl:
    source: str
    status: str  # done, partial (some fetch failed: retried next time), failed, skipped
    reports: int = 0
    fetched: int = 0  # requests made (reuse from the store not counted)
    note: str = ""
    agency: str = ""
    year: int | None = None
    # found, no report listed, fetch failed, year mismatch, agency mismatch, no report found
    outcome: str = ""
    reason: str = ""  # the outcome in words a user acts on
    failed: list[str] = field(default_factory=list)  # why each failed fetch failed
    other_years: list[str] = field(default_factory=list)  # what was passed over as another year's
    other_bodies: list[str] = field(default_factory=list)  # reports taken that name another body
    listed: set[int] = field(default_factory=set)  # the years listings named, the row's not among them
    listing: str = ""  # the first such listing


@dataclass(frozen=True)
class _Visit:
    url: str
    depth: int
    parent: str | None
    says: tuple[str, ...]  # the link texts that led here (listing's, then the attachment's)
    page: bool  # a page to look into (the row's URL, a report link, 下一页); else an attachment


class Crawler:
    def __init__(self, fetcher: Fetcher, store: RawStore, refresh: bool = False):
        self.fetcher = fetcher
        self.store = store
        self.refresh = refresh
        self._guard = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}  # rows on threads wait for one fetch of a URL
        self._fresh: set[str] = set()  # URLs answered in this harvest

    def harvest(self, row: Row) -> Crawl:
        if row.local:
            return self._local(row)
        if not self.refresh and self.store.crawled(row):
            before = self.store.crawl(row) or {}
            return Crawl(row.url, "skipped", before.get("reports") or 0, note="crawled before",
                         agency=row.agency, year=row.year, outcome=before.get("outcome") or "",
                         reason=before.get("reason") or "")
        crawl = Crawl(row.url, "done", agency=row.agency, year=row.year)
        failures: list[str] = []
        queue: deque[_Visit] = deque([_Visit(row.url, 0, None, (), True)])
        seen: set[str] = set()
        pages = 0
        while queue:
            visit = queue.popleft()
            if visit.url in seen:
                continue
            seen.add(visit.url)
            got = self._get(visit.url, row, visit.parent, crawl, label=visit.says[-1] if visit.says else "")
            if got is None:
                failures.append(visit.url)
                continue
            path, fmt, record = got
            if fmt == "zip":
                crawl.reports += self._unpack(path, visit, row, crawl)
            elif fmt == "html":
                pages += 1
                if pages > MAX_PAGES:
                    crawl.note = f"stopped after {MAX_PAGES} pages"
                    break
                crawl.reports += self._page(path, visit, record, row, queue, crawl, failures)
            elif fmt in REPORT_FORMATS:
                crawl.reports += self._take(visit.url, row, crawl, [*visit.says, *_file_names(record)])
        if failures:
            crawl.status = "failed" if row.url in failures else "partial"
            crawl.note = (crawl.note + " " if crawl.note else "") + f"not fetched: {', '.join(failures[:5])}"
        elif not crawl.reports:
            crawl.note = crawl.note or "no report found"
        _settle(crawl, row)
        self.store.finish_crawl(row, crawl.status, crawl.reports, crawl.note, crawl.outcome, crawl.reason)
        return crawl

    def _get(self, url: str, row: Row, parent: str | None, crawl: Crawl, role: str | None = None,
             label: str = ""):
        """The stored object for `url` (fetched now, or before for this row or another) with
        this row's record of it, or None if it failed."""
        with self._guard:
            lock = self._fetching.setdefault(url, threading.Lock())
        with lock:
            return self._get_now(url, row, parent, crawl, role, label)

    def _get_now(self, url: str, row: Row, parent: str | None, crawl: Crawl, role: str | None, label: str):
        known = self.store.fetched(url, row)
        known = known if known and known["status"] == "ok" else None
        base = dict(url=url, agency=row.agency, year=row.year, source=row.url, parent=parent, label=label)
        before = known or self.store.fetched_ok(url)
        conditional: dict = {}
        if before and self.store.object_path(before["sha256"], before["format"]).exists():
            # a page that is no report (a listing) may have grown since an earlier harvest:
            # asked again (conditionally) once per harvest; files and report pages are kept
            stale = before["format"] == "html" and before["role"] == "page" and url not in self._fresh
            if not self.refresh and not stale:
                if before is not known:  # another row's fetch: this row's record of it
                    before = {**before, **base, "mismatch": None,
                              "role": role or ("page" if before["format"] == "html" else "file")}
                    self.store.record(**before)
                return self.store.object_path(before["sha256"], before["format"]), before["format"], before
            conditional = before
        got = self.fetcher.fetch(url, conditional.get("etag"), conditional.get("last_modified"))
        crawl.fetched += 1
        base |= dict(final_url=got.final_url, http_status=got.http_status, etag=got.etag,
                     last_modified=got.last_modified, filename=got.filename)
        if got.status in ("ok", "not_modified"):
            self._fresh.add(url)
        if got.status == "not_modified":
            record = {**conditional, **base, "status": "ok", "etag": got.etag or conditional["etag"],
                      "filename": got.filename or conditional["filename"], "mismatch": None,
                      "role": role or conditional["role"]}
            self.store.record(**record)
            return self.store.object_path(record["sha256"], record["format"]), record["format"], record
        if got.status != "ok":
            self.store.record(**base, status=got.status, size=got.size, error=got.error)
            crawl.failed.append(fetch_reason(got.status, got.error, url))
            return None
        path, fmt = self.store.keep(got.path, got.sha256, got.filename or urlsplit(got.final_url).path)
        record = dict(**base, status="ok", sha256=got.sha256, size=got.size, format=fmt,
                      role=role or ("page" if fmt == "html" else "file"))
        self.store.record(**record)
        return path, fmt, record

    def _take(self, url: str, row: Row, crawl: Crawl, says: list[str]) -> int:
        """Take a fetched file as the row's report unless what led to it names another year."""
        mismatch = check_claims(row, says)
        if mismatch and mismatch.startswith("year"):
            self.store.set_role(url, row, "other-year", mismatch)
            crawl.other_years.append(mismatch)
            return 0
        self.store.set_role(url, row, "report", mismatch)
        if mismatch:
            crawl.other_bodies.append(mismatch)
        return 1

    def _page(self, path: Path, visit: _Visit, record: dict, row: Row, queue: deque, crawl: Crawl,
              failures: list[str]) -> int:
        page = parse_page(path.read_bytes(), record["final_url"] or visit.url)
        if page.is_report():
            found = self._take(visit.url, row, crawl, [*visit.says, page.title])
            if found:
                failures += self._pictures(path, page, visit.url, row, crawl)
            return found
        if not visit.page or visit.depth >= MAX_DEPTH:
            return 0  # an attachment that answered with a page that is no report
        if (visit.depth and visit.says) or page.titled_report():
            self._report_page(page, visit, row, queue, crawl)
        else:
            self._listing(page, visit, row, queue, crawl)
        return 0

    def _report_page(self, page: Page, visit: _Visit, row: Row, queue: deque, crawl: Crawl) -> None:
        """A report's own page (reached by a report's link, or titled as one year's report):
        its attachments and the links naming the row's year; links to other years'
        reports beside it (往年年报, 上一篇) are not a listing. Its title speaks for them."""
        says = (*visit.says, page.title)
        if other := year_conflict(row, says):  # another year's report page
            crawl.other_years.append(f"{other} (at {visit.url})")
            return
        links = [link for link in page.report_links(row.year, row.agency)
                 if link.names_file() or (row.year and row.year in years_named(link.text))]
        for link in [*links, *page.attachments()]:
            named = _attachment_says(link)
            if other := year_conflict(row, [*says, named]):  # not even fetched
                crawl.other_years.append(f"{other} (at {visit.url})")
                continue
            queue.append(_Visit(link.url, visit.depth + 1, visit.url, (*says, named),
                                link in links and not link.names_file()))

    def _listing(self, page: Page, visit: _Visit, row: Row, queue: deque, crawl: Crawl) -> None:
        """The row's own page or a listing: links whose text names the year's report, page
        after page; a page about a report that lists none, its attachments."""
        listed = page.listed_years()
        report_links = page.report_links(row.year, row.agency)
        if row.year and listed and row.year not in listed:
            # a listing of other years' reports: this row's is not on this page (maybe the next)
            crawl.listed |= listed
            crawl.listing = crawl.listing or visit.url
            report_links = [link for link in report_links if not years_named(link.text)]
        about_a_report = visit.depth == 0 or page.about_a_report()
        attachments = [] if listed or not about_a_report else page.attachments()
        says = visit.says
        for link in report_links:
            if other := year_conflict(row, [*says, link.text]):
                crawl.other_years.append(f"{other} (at {visit.url})")
                continue
            is_file = bool(link.names_file())
            queue.append(_Visit(link.url, visit.depth + 1, visit.url, (*says, link.text), not is_file))
        for link in attachments:
            named = _attachment_says(link)
            if other := year_conflict(row, [*says, named]):  # not even fetched
                crawl.other_years.append(f"{other} (at {visit.url})")
                continue
            queue.append(_Visit(link.url, visit.depth + 1, visit.url, (*says, named), False))
        for link in page.next_pages():  # the next page of a listing is the same depth
            queue.append(_Visit(link.url, visit.depth, visit.url, says, True))

    def _pictures(self, page_path: Path, page: Page, url: str, row: Row, crawl: Crawl) -> list[str]:
        """Fetch a report page's pictures into its <sha256>_files/ folder; the URLs that failed."""
        folder = pictures_folder(page_path)
        failed = []
        for picture in page.pictures[:MAX_PICTURES]:
            got = self._get(picture.url, row, url, crawl, role="picture")
            if got is None:
                failed.append(picture.url)
                continue
            path, fmt, _ = got
            target = folder / fetched_name(picture.text)
            if fmt == "image" and not target.exists():
                folder.mkdir(exist_ok=True)
                _link_or_copy(path, target)
        return failed

    def _unpack(self, archive, visit: _Visit, row: Row, crawl: Crawl) -> int:
        found = 0
        for member in members(archive, self.store.workdir):
            member_url = f"{visit.url}#{member.name}"
            base = dict(url=member_url, final_url=member_url, agency=row.agency, year=row.year,
                        source=row.url, parent=visit.url, label=member.name)
            if member.path is None:
                self.store.record(**base, status="skipped", size=member.size, error=member.skipped)
                continue
            path, fmt = self.store.keep(member.path, member.sha256, member.name)
            self.store.record(**base, status="ok", sha256=member.sha256, size=member.size, format=fmt, role="file")
            if fmt in MEMBER_FORMATS:
                found += self._take(member_url, row, crawl, [*visit.says, member.name])
        return found

    def _local(self, row: Row) -> Crawl:
        """A file or folder on disk named by the manifest: each file taken as the row's."""
        crawl = Crawl(row.url, "done", agency=row.agency, year=row.year)
        where = Path(row.url)
        if where.is_dir():
            files = sorted(p for p in where.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(where).parts))
            files = files[:MAX_LOCAL_FILES]
        else:
            files = [where] if where.is_file() else []
        if not files:
            crawl.status = "failed"
            crawl.failed.append(f"no such file: {where}" if not where.exists() else f"no files in {where}")
        for file in files:
            try:
                path, fmt, sha256, size = self.store.keep_copy(file)
            except OSError as err:
                crawl.failed.append(f"cannot read {file}: {err.strerror or err}")
                crawl.status = "partial"
                continue
            self.store.record(url=str(file), final_url=str(file), status="ok", sha256=sha256, size=size,
                              format=fmt, role="file", agency=row.agency, year=row.year, source=row.url,
                              label=file.name)
            visit = _Visit(str(file), 1, None, (file.name,), False)
            if fmt == "zip":
                crawl.reports += self._unpack(path, visit, row, crawl)
            elif fmt in REPORT_FORMATS:
                crawl.reports += self._take(str(file), row, crawl, [file.name])
        _settle(crawl, row)
        self.store.finish_crawl(row, crawl.status, crawl.reports, crawl.note, crawl.outcome, crawl.reason)
        return crawl


def check_claims(row: Row, says: list[str]) -> str | None:
    """What the link texts and file names that led to a report say against the manifest's
    agency and year: 'year: …' or 'agency: …', None when nothing contradicts it."""
    if other := year_conflict(row, says):
        return other
    for text in filter(None, says):
        body = body_named(text)
        if row.agency and body and not same_body(body, row.agency):
            return f"agency: the manifest says {row.agency}, {text!r} names {body}"
    return None


def year_conflict(row: Row, says: list[str]) -> str | None:
    for text in filter(None, says):
        years = years_named(text)
        if row.year and years and row.year not in years:
            return f"year: the manifest says {row.year}, {text!r} says {_years(text)}"
    return None


def fetch_reason(status: str, error: str | None, url: str) -> str:
    """A failed fetch in words a user acts on."""
    if status == "blocked":
        return f"refused: {error}"
    if status == "timeout":
        return f"{url}: no answer in time ({error}); a slow portal may need a longer --timeout"
    if status == "http_error":
        return f"{url}: the portal answered {error}"
    return f"{url}: {error}"


def _settle(crawl: Crawl, row: Row) -> None:
    """The row's outcome and its reason, from what the crawl met."""
    if crawl.reports:
        if len(crawl.other_bodies) >= crawl.reports:  # every report it took names another body
            crawl.outcome, crawl.reason = "agency mismatch", "; ".join(dict.fromkeys(crawl.other_bodies))
        else:
            crawl.outcome, crawl.reason = "found", ""
    elif crawl.status == "failed" or (crawl.failed and not crawl.other_years and not crawl.listed):
        crawl.outcome, crawl.reason = "fetch failed", "; ".join(dict.fromkeys(crawl.failed))
    elif crawl.other_years:
        crawl.outcome, crawl.reason = "year mismatch", "; ".join(dict.fromkeys(crawl.other_years))
    elif crawl.listed:
        crawl.outcome, crawl.reason = "no report listed", (
            f"no report of {row.year} listed at {crawl.listing} (it lists {', '.join(map(str, sorted(crawl.listed)))})")
    else:
        crawl.outcome, crawl.reason = "no report found", f"no report page or attachment found at {row.url}"


def _attachment_says(link: Link) -> str:
    """What an attachment link says it is: its text, and the file name its URL gives."""
    named = link.names_file()
    return link.text if not named or named == link.text or named in link.text else f"{link.text} {named}".strip()


def _file_names(record: dict) -> list[str]:
    """The names a fetched file was given: Content-Disposition's, the final URL's file name."""
    name = unquote(urlsplit(record.get("final_url") or "").path).rsplit("/", 1)[-1]
    return [n for n in (record.get("filename"), name if name.lower().endswith(REPORT_SUFFIXES) else "") if n]


def _years(text: str) -> str:
    return "/".join(map(str, sorted(years_named(text))))


def _link_or_copy(source: Path, target: Path) -> None:
    """`target` as a hard link to `source` (a copy where links are refused), put in place
    whole: a killed harvest leaves the picture there or not, never half of it."""
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    try:
        os.link(source, part)
    except OSError:
        shutil.copyfile(source, part)
    os.replace(part, target)
