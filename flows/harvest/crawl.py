"""From one manifest row (agency, year, url) to the report files it leads to.

The URL may be a report file, a page whose body is the report, a page with the report
attached (PDF/DOC/DOCX/WPS, or a ZIP of them), or a portal's listing of reports to search by
link text for the year's 年度报告, page after page. What was fetched before is read from the
raw store instead of the portal (with `refresh`, revalidated by a conditional request).

A page whose body is the report comes with its pictures (portals paste tables as pictures):
each is stored once by content, as every file is, and linked into the page's own folder,
<page sha256>_files/, under the name the HTML reader looks for (readers.pictures.fetched_name).
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from extractors.readers.pictures import fetched_name, pictures_folder

from .archives import members
from .fetch import Fetcher
from .links import REPORT_SUFFIXES, Page, parse_page
from .raw_store import MEMBER_FORMATS, REPORT_FORMATS, RawStore

MAX_DEPTH = 2  # listing → report page → attachment
MAX_PAGES = 30  # pages of one crawl: listings with their 下一页, report pages
MAX_PICTURES = 40  # of one report page: its tables, and the logos and icons around them


@dataclass(frozen=True)
class Row:
    agency: str
    year: int | None
    url: str


@dataclass
class Crawl:
    source: str
    status: str  # done, partial (some fetch failed: retried next time), failed, skipped
    reports: int = 0
    fetched: int = 0  # requests made (reuse from the store not counted)
    note: str = ""


class Crawler:
    def __init__(self, fetcher: Fetcher, store: RawStore, refresh: bool = False):
        self.fetcher = fetcher
        self.store = store
        self.refresh = refresh

    def harvest(self, row: Row) -> Crawl:
        if not self.refresh and self.store.crawled(row.url):
            return Crawl(row.url, "skipped", note="crawled before")
        crawl = Crawl(row.url, "done")
        failures: list[str] = []
        queue: deque[tuple[str, int, str | None]] = deque([(row.url, 0, None)])
        seen: set[str] = set()
        pages = 0
        while queue:
            url, depth, parent = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            got = self._get(url, row, parent, crawl)
            if got is None:
                failures.append(url)
                continue
            path, fmt = got
            if fmt == "zip":
                crawl.reports += self._unpack(path, url, row)
            elif fmt == "html":
                pages += 1
                if pages > MAX_PAGES:
                    crawl.note = f"stopped after {MAX_PAGES} pages"
                    break
                crawl.reports += self._page(path, url, depth, row, queue, crawl, failures)
            elif fmt in REPORT_FORMATS:
                self.store.set_role(url, row.url, "report")
                crawl.reports += 1
        if failures:
            crawl.status = "failed" if row.url in failures else "partial"
            crawl.note = (crawl.note + " " if crawl.note else "") + f"not fetched: {', '.join(failures[:5])}"
        elif not crawl.reports:
            crawl.note = crawl.note or "no report found"
        self.store.finish_crawl(row.url, row.agency, str(row.year or ""), crawl.status, crawl.reports, crawl.note)
        return crawl

    def _get(self, url: str, row: Row, parent: str | None, crawl: Crawl, role: str | None = None):
        """The stored object for `url` (fetched now, or before), or None if it failed."""
        known = self.store.fetched(url, row.url)
        if known and known["status"] == "ok" and not self.refresh:
            path = self.store.object_path(known["sha256"], known["format"])
            if path.exists():
                return path, known["format"]
            known = None
        conditional = known if known and known["status"] == "ok" else {}
        got = self.fetcher.fetch(url, conditional.get("etag"), conditional.get("last_modified"))
        crawl.fetched += 1
        base = dict(url=url, final_url=got.final_url, http_status=got.http_status, agency=row.agency,
                    year=row.year, source=row.url, parent=parent, etag=got.etag, last_modified=got.last_modified)
        if got.status == "not_modified":
            path = self.store.object_path(known["sha256"], known["format"])
            self.store.record(**{**known, **base, "status": "ok", "etag": got.etag or known["etag"]})
            return path, known["format"]
        if got.status != "ok":
            self.store.record(**base, status=got.status, size=got.size, error=got.error)
            return None
        path, fmt = self.store.keep(got.path, got.sha256, urlsplit(got.final_url).path)
        self.store.record(**base, status="ok", sha256=got.sha256, size=got.size, format=fmt,
                          role=role or ("page" if fmt == "html" else "file"))
        return path, fmt

    def _page(self, path: Path, url: str, depth: int, row: Row, queue: deque, crawl: Crawl,
              failures: list[str]) -> int:
        page = parse_page(path.read_bytes(), self.store.fetched(url, row.url)["final_url"] or url)
        if page.is_report():
            self.store.set_role(url, row.url, "report")
            failures += self._pictures(path, page, url, row, crawl)
            return 1
        if depth >= MAX_DEPTH:
            return 0
        report_links = page.report_links(row.year, row.agency)
        files = [link for link in report_links if urlsplit(link.url).path.lower().endswith(REPORT_SUFFIXES)]
        about_a_report = depth == 0 or "年度报告" in page.text or "年报" in page.text
        attachments = page.attachments() if about_a_report and not files else files
        for link in attachments:
            queue.append((link.url, depth + 1, url))
        for link in report_links:
            queue.append((link.url, depth + 1, url))
        for link in page.next_pages():  # the next page of a listing is the same depth
            queue.append((link.url, depth, url))
        return 0

    def _pictures(self, page_path: Path, page: Page, url: str, row: Row, crawl: Crawl) -> list[str]:
        """Fetch a report page's pictures into its <sha256>_files/ folder; the URLs that failed."""
        folder = pictures_folder(page_path)
        failed = []
        for picture in page.pictures[:MAX_PICTURES]:
            got = self._get(picture.url, row, url, crawl, role="picture")
            if got is None:
                failed.append(picture.url)
                continue
            path, fmt = got
            target = folder / fetched_name(picture.text)
            if fmt == "image" and not target.exists():
                folder.mkdir(exist_ok=True)
                _link_or_copy(path, target)
        return failed

    def _unpack(self, archive, url: str, row: Row) -> int:
        found = 0
        for member in members(archive, self.store.workdir):
            member_url = f"{url}#{member.name}"
            base = dict(url=member_url, final_url=member_url, agency=row.agency, year=row.year,
                        source=row.url, parent=url)
            if member.path is None:
                self.store.record(**base, status="skipped", size=member.size, error=member.skipped)
                continue
            path, fmt = self.store.keep(member.path, member.sha256, member.name)
            report = fmt in MEMBER_FORMATS
            self.store.record(**base, status="ok", sha256=member.sha256, size=member.size, format=fmt,
                              role="report" if report else "file")
            found += report
        return found


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
