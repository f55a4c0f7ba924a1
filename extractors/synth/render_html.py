"""HTML pages: real <table>s with rowspan/colspan, <br> inside cells, <p> paragraphs, in the
charsets Chinese portals use (declared or not), optionally inside portal chrome. A table
pasted as a picture is an <img>: a data: URI, or a file in a folder beside the page. A
chosen font is the page's CSS font-family, on A4 when printed."""

from __future__ import annotations

import base64
import random
from html import escape

from extractors.synth.blocks import Block, Para, Picture, Table
from extractors.synth.layout import Layout

# Python's gb2312 codec has no U+2014; a GB2312 page's dash (A1AA) decodes to U+2015.
_GB2312_DASH = str.maketrans({"—": "―"})

_DECLARATIONS = {
    "utf-8": '<meta charset="utf-8">',
    "gbk": '<meta charset="gbk">',
    "gb2312": '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
    "none-gbk": "",
    "none-utf-8": "",
}


def _cell_html(text: str) -> str:
    return "<br>".join(escape(line) for line in text.split("\n"))


def _table_html(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells = []
        for cell in row:
            span = (f' rowspan="{cell.rowspan}"' if cell.rowspan > 1 else "") + \
                   (f' colspan="{cell.colspan}"' if cell.colspan > 1 else "")
            cells.append(f"<td{span}>{_cell_html(cell.text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table border="1" cellspacing="0" cellpadding="3">\n' + "\n".join(rows) + "\n</table>"


def _picture_html(picture: Picture, files: str) -> str:
    if files:
        src = f"{files}/{picture.name}"
    else:
        src = f"data:{picture.mime};base64,{base64.b64encode(picture.data).decode('ascii')}"
    return f'<p style="text-align:center"><img src="{src}" alt="" style="max-width:100%"></p>'


def _block_html(block: Block, files: str) -> str:
    if isinstance(block, Table):
        return _table_html(block)
    if isinstance(block, Picture):
        return _picture_html(block, files)
    text = escape(block.text)
    if block.role == "title":
        return f'<p style="text-align:center"><strong>{text}</strong></p>'
    if block.role == "heading":
        return f"<p><strong>{text}</strong></p>"
    if block.role == "noise":
        return f"<p>{text}</p>"
    return f'<p style="text-indent:2em">{text}</p>'


def _chrome(rng: random.Random, year: int) -> tuple[str, str]:
    top = ('<div class="nav"><a href="/">首页</a> <a href="/zwgk/">政务公开</a> '
           '<a href="/zwfw/">政务服务</a> <a href="/hdjl/">互动交流</a></div>\n'
           '<div class="crumb">当前位置：首页 &gt; 政务公开 &gt; 年度报告</div>\n'
           f'<div class="info">发布时间：{year + 1}-01-{rng.randint(10, 31)}　来源：本站　'
           f'浏览次数：{rng.randint(20, 5000)}</div>')
    bottom = ('<div class="footer">版权所有：政府门户网站　网站标识码：'
              f'{rng.randint(1000000000, 9999999999)}　<a href="#">网站地图</a>　'
              '<a href="#">联系我们</a></div>')
    return top, bottom


def render_html(blocks: list[Block], layout: Layout, rng: random.Random, year: int,
                files: str = "") -> bytes:
    """`files`: the folder, relative to the page, holding its pictures; "" for data: URIs."""
    title = "".join(b.text for b in blocks if isinstance(b, Para) and b.role == "title")
    body = "\n".join(_block_html(b, files) for b in blocks)
    top, bottom = _chrome(rng, year) if layout.chrome else ("", "")
    style = (f'<style>body {{ font-family: "{layout.font}"; }} @page {{ size: A4; }}</style>\n'
             if layout.font else "")
    page = (f"<!DOCTYPE html>\n<html>\n<head>\n{_DECLARATIONS[layout.charset]}\n"
            f"<title>{escape(title)}</title>\n{style}</head>\n<body>\n{top}\n"
            f'<div class="article">\n{body}\n</div>\n{bottom}\n</body>\n</html>\n')
    encoding = layout.charset.removeprefix("none-")
    if encoding == "gb2312":
        page = page.translate(_GB2312_DASH)
    return page.encode(encoding)
