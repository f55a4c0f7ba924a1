"""What a portal's page is and where it leads: the report itself, a page with the report
attached, or a listing of reports (with more pages behind 下一页).

Portals differ in everything but words: 年度报告/年报 and the year in a link's text, 附件 and
a file's name, 下一页 for the next page. Those words are what is matched. An attachment is
named in many places: the URL's path (/P020210125.pdf), its query (downfile.jsp?filename=x.pdf,
viewer.html?file=…), the link's text (…年度报告.docx), the 附件： block it sits in, a download
attribute, a javascript: link or onclick that carries the path, or a frame showing the file;
the answer itself (Content-Disposition, the bytes) settles the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urldefrag, urljoin, urlsplit

from lxml import etree

from extractors.readers.html import decode_html, img_src

REPORT_SUFFIXES = (".pdf", ".doc", ".docx", ".wps", ".rtf", ".odt", ".zip", ".txt", ".ofd",
                   ".xls", ".xlsx", ".et", ".rar")
_FILE_NAME = re.compile(r"\.(pdf|docx?|wps|rtf|odt|zip|ofd|xlsx?|et|rar)(?![a-z])", re.I)
_REPORT_WORDS = re.compile(r"年度报告|年报|信息公开工作报告")  # …年度政府信息公开工作报告 too
# A link that is a download button: 附件, 附件1：, 点击下载, 查看原文, 下载全文 (not 下载中心)
_ATTACHMENT_WORDS = re.compile(r"(?:点击|请)?(?:此处)?(?:下载|查看|打开|阅读)?(?:附件|原文|全文|文件)?\d*(?:下载)?[:：]?")
_BLOCK_WINDOW = 40  # characters before a link searched for 附件 (other links' not counted)
_BLOCK_TEXTS = 30  # text nodes before a link looked at
_LIST_ITEMS = frozenset({"li", "dd", "dt", "td", "span", "div"})
_NEXT_WORDS = ("下一页", "下页", "后一页", "next", ">", "›", "»", ">>")
_REPORT_BODY = re.compile(r"政府信息公开.{0,10}(年度报告|年报)")
_TEMPLATE_WORDS = ("主动公开", "依申请", "予以公开", "行政复议", "行政诉讼", "不予公开")
_YEARS = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
# A date beside a title (2021-01-25, 2021年1月25日, 2021.01.25) names when it was published
_DATES = re.compile(r"(?<!\d)(?:19|20)\d\d\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?!\d)")
_HAN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_HAN_YEAR = re.compile(r"[〇零一二三四五六七八九]{4}(?=年)")
# A body's name ends in what it is: 局, 委员会, 人民政府, 办公室…
_BODY = re.compile(r"((?<![\u4e00-\u9fff\d])[\u4e00-\u9fff（）()]{1,40}?(?:政府|委员会|局|委|办公室|办|厅|院|署|中心|所|馆|会|部|处|站|队|社|司))"
                   r"\s*(?:(?:19|20)\d\d|关于|政府信息公开|信息公开|年度|年报)")
# A path carried by javascript:openFile('/attach/a.pdf') or onclick="down('…')"
_SCRIPT_PATH = re.compile(r"""["']((?:https?://|/|\./|\.\./)[^"'\s<>]+|[^"'\s<>/]+\.[a-z]{2,5}(?:\?[^"'\s<>]*)?)["']""",
                          re.I)
_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True)


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    attached: bool = False  # sits in the page's 附件 block

    def names_file(self) -> str | None:
        """The file name this link gives for its target, from its URL's path, its query, or
        its text; None when none of them names a document."""
        parts = urlsplit(self.url)
        path = unquote(parts.path)
        if path.lower().endswith(REPORT_SUFFIXES):
            return path.rsplit("/", 1)[-1]
        for _, value in parse_qsl(parts.query):
            if _FILE_NAME.search(value):
                return value.rsplit("/", 1)[-1]
        if _FILE_NAME.search(self.text):
            return self.text
        return None

    def is_attachment(self) -> bool:
        text = "".join(self.text.split())
        button = bool(re.search(r"下载|附件|原文|全文", text)) and bool(_ATTACHMENT_WORDS.fullmatch(text))
        return bool(self.names_file()) or self.attached or button


@dataclass
class Page:
    text: str  # the page's visible text
    links: list[Link]
    pictures: list[Link]  # <img> on the web: url absolute, text the src as the page writes it
    title: str = ""

    def is_report(self) -> bool:
        """The page's body is a report: the title words and the template's section words."""
        return bool(_REPORT_BODY.search(self.text)) and sum(w in self.text for w in _TEMPLATE_WORDS) >= 3

    def titled_report(self) -> bool:
        """The page's <title> names one year's report (a listing's names none, or many)."""
        return bool(_REPORT_WORDS.search(self.title)) and len(years_named(self.title)) == 1

    def about_a_report(self) -> bool:
        return bool(_REPORT_WORDS.search(self.text))

    def attachments(self) -> list[Link]:
        return [link for link in self.links if link.is_attachment()]

    def report_links(self, year: int | None, agency: str | None) -> list[Link]:
        """Links whose text names an annual report of `year` (a text with other years only is
        another year's report); those naming `agency` if any do (a city's list of all its
        departments' reports)."""
        found = [link for link in self.links if _REPORT_WORDS.search(link.text)
                 and (year is None or of_year(link.text, year))]
        named = [link for link in found if agency and agency in link.text]
        return named or found

    def listed_years(self) -> set[int]:
        """The years the page's report links name: a listing of reports by year."""
        return {y for link in self.links if _REPORT_WORDS.search(link.text) for y in years_named(link.text)}

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
    for a in root.iter("a", "iframe", "embed", "object"):
        href = _target(a) if a.tag == "a" else (a.get("src") or a.get("data") or "").strip()
        if not href:
            continue
        target = urldefrag(urljoin(base, href))[0]
        if urlsplit(target).scheme not in ("http", "https"):
            continue
        text = " ".join("".join(a.itertext()).split()) or (a.get("title") or "").strip()
        if a.tag != "a":  # a frame is followed only where it shows a document
            shown = next((v for _, v in parse_qsl(urlsplit(target).query)
                          if _FILE_NAME.search(v) and v.startswith(("/", "http://", "https://"))), None)
            if shown:  # a PDF viewer's ?file=/attach/x.pdf: the file itself
                target = urldefrag(urljoin(base, shown))[0]
            elif not Link(target, text).names_file():
                continue
        # <a download="x.pdf">: the page says the target is a file to save
        attached = a.get("download") is not None or (a.tag == "a" and _in_attachment_block(a))
        text = text or (a.get("download") or "").strip()
        old = links.get(target)
        if old is None or (text and not old.text) or (attached and not old.attached):
            links[target] = Link(target, text or (old.text if old else ""), attached or bool(old and old.attached))
    pictures: dict[str, Link] = {}
    for img in root.iter("img"):
        src = img_src(img)
        target = urldefrag(urljoin(base, src))[0]
        # data: is inside the page; file: is the author's disk (pasted from Word), not the portal's
        if src and urlsplit(target).scheme in ("http", "https"):
            pictures.setdefault(src, Link(target, src))
    title = next((" ".join("".join(t.itertext()).split()) for t in root.iter("title")), "")
    return Page(" ".join("".join(root.itertext()).split()), list(links.values()), list(pictures.values()), title)


def _target(a) -> str | None:
    """The href, or the path a javascript: href or an onclick carries; None for none."""
    href = (a.get("href") or "").strip()
    if href.lower().startswith("javascript:") or not href or href.startswith("#"):
        script = (href if href.lower().startswith("javascript:") else "") + " " + (a.get("onclick") or "")
        found = _SCRIPT_PATH.search(script)
        return found.group(1) if found else None
    if href.lower().startswith(("mailto:", "tel:")):
        return None
    return href


def _in_attachment_block(a) -> bool:
    """The link sits under 附件 (附件：, 附件下载, 相关附件): the words just before it say so,
    with nothing between but other items of the same list (附件：1. … 2. …). A link after a
    paragraph holding an attachment (上一篇, 相关链接) is not under it."""
    words = 0
    for text in reversed(a.xpath(f"preceding::text()[position() <= {_BLOCK_TEXTS}]")):
        owner = text.getparent().getparent() if text.is_tail else text.getparent()
        link = next((e for e in (owner, *owner.iterancestors()) if e.tag == "a"), None) if owner is not None else None
        if link is not None:
            if not _same_list(link, a):
                return False
            continue
        if "附件" in text:
            return True
        words += len("".join(text.split()))
        if words > _BLOCK_WINDOW:
            return False
    return False


def _same_list(one, other) -> bool:
    """Two links side by side in one list: one parent, or items (li, td, span…) of one parent."""
    a, b = one.getparent(), other.getparent()
    if a is b:
        return True
    return a is not None and b is not None and a.tag == b.tag and a.tag in _LIST_ITEMS \
        and a.getparent() is b.getparent()


def years_named(text: str) -> set[int]:
    """The years a title or file name names as its report's (not a publication date)."""
    text = _HAN_YEAR.sub(lambda m: m.group(0).translate(_HAN_DIGITS), _DATES.sub(" ", text))
    return {int(y) for y in _YEARS.findall(text)}


def of_year(text: str, year: int) -> bool:
    years = years_named(text)
    return not years or year in years


def body_named(text: str) -> str | None:
    """The body a title or file name names before its year or its 年度报告 words, if any."""
    found = _BODY.search(re.sub(r"^\s*(附件\s*\d*\s*[:：]?)", "", text))
    if not found or found.group(1)[0] in "本我该":  # 本局: the page's own body, unnamed
        return None
    return found.group(1)


def same_body(a: str, b: str) -> bool:
    """淮安市洪泽区人民政府 and 洪泽区政府 are one body: one name holds the other once the
    words every such name may drop (人民, 中共) are dropped."""
    a, b = (re.sub(r"人民|中共|[（）()\s]", "", x) for x in (a, b))
    return bool(a and b) and (a in b or b in a)
