"""What a portal's page is and where it leads: the report itself, a page with the report
attached, or a listing of reports (with more pages behind 下一页).

Portals differ in everything but words: 年度报告/年报 and the year in a link's text, 附件 and
a file extension, 下一页 for the next page. Those words are what is matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree

from extractors.readers.html import decode_html, img_src

REPORT_SUFFIXES = (".pdf", ".doc", ".docx", ".wps", ".rtf", ".odt", ".zip", ".txt")
_REPORT_WORDS = re.compile(r"年度报告|年报")
_NEXT_WORDS = ("下一页", "下页", "后一页", "next", ">", "›", "»", ">>")
_REPORT_BODY = re.compile(r"政府信息公开.{0,10}(年度报告|年报)")
_TEMPLATE_WORDS = ("主动公开", "依申请", "予以公开", "行政复议", "行政诉讼", "不予公开")
_YEARS = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True)


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass
class Page:
    text: str  # the page's visible text
    links: list[Link]
    pictures: list[Link]  # <img> on the web: url absolute, text the src as the page writes it

    def is_report(self) -> bool:
        """The page's body is a report: the title words and the template's section words."""
        return bool(_REPORT_BODY.search(self.text)) and sum(w in self.text for w in _TEMPLATE_WORDS) >= 3

    def attachments(self) -> list[Link]:
        return [link for link in self.links if urlsplit(link.url).path.lower().endswith(REPORT_SUFFIXES)]

    def report_links(self, year: int | None, agency: str | None) -> list[Link]:
        """Links whose text names an annual report of `year` (a text with other years only is
        another year's report); those naming `agency` if any do (a city's list of all its
        departments' reports)."""
        found = [link for link in self.links if _REPORT_WORDS.search(link.text)
                 and (year is None or _of_year(link.text, year))]
        named = [link for link in found if agency and agency in link.text]
        return named or found

    def next_pages(self) -> list[Link]:
        return [link for link in self.links if link.text.strip().lower() in _NEXT_WORDS]


def parse_page(data: bytes, url: str) -> Page:
    root = etree.fromstring(decode_html(data).encode("utf-8"), parser=_PARSER)
    if root is None:
        return Page("", [], [])
    etree.strip_elements(root, "script", "style", with_tail=False)
    base = next((b.get("href") for b in root.iter("base") if b.get("href")), None)
    base = urljoin(url, base) if base else url
    links: dict[str, Link] = {}
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        target = urldefrag(urljoin(base, href))[0]
        text = " ".join("".join(a.itertext()).split()) or (a.get("title") or "").strip()
        if target not in links or (text and not links[target].text):
            links[target] = Link(target, text)
    pictures: dict[str, Link] = {}
    for img in root.iter("img"):
        src = img_src(img)
        target = urldefrag(urljoin(base, src))[0]
        # data: is inside the page; file: is the author's disk (pasted from Word), not the portal's
        if src and urlsplit(target).scheme in ("http", "https"):
            pictures.setdefault(src, Link(target, src))
    return Page(" ".join("".join(root.itertext()).split()), list(links.values()), list(pictures.values()))


def _of_year(text: str, year: int) -> bool:
    years = {int(y) for y in _YEARS.findall(text)}
    return not years or year in years
