from extractors.readers.text_dump import parse_text_dump


def _rows(text):
    return [t.row_texts() for t in parse_text_dump(text).tables()]


def test_blank_line_starts_a_new_row_and_tab_lines_are_cells():
    text = "标题\n\n\t规章\n\t0\n\t1\n\n\t规范性文件\n\t10\n\t\n"
    assert _rows(text) == [[["规章", "0", "1"], ["规范性文件", "10", ""]]]


def test_empty_cell_line_is_a_placeholder_cell_not_a_row_break():
    text = "\t（三）不予公开\n\t1.属于国家秘密\n\t0\n\n\t\n\t\n\t2.其他法律行政法规禁止公开\n\t0\n"
    rows = _rows(text)[0]
    assert rows[1] == ["", "", "2.其他法律行政法规禁止公开", "0"]


def test_cell_text_continued_on_untabbed_lines_is_joined():
    text = "\t信息内容\n\t本年新\n制作数量\n\n\t4.无正当理由大量反复申\n\n请\n\t0\n"
    rows = _rows(text)[0]
    assert rows == [["信息内容", "本年新制作数量"], ["4.无正当理由大量反复申请", "0"]]


def test_paragraph_after_blank_lines_ends_the_table():
    doc = parse_text_dump("\t规章\n\t0\n\n\n四、政府信息公开行政复议、行政诉讼情况\n")
    assert [b.table is not None for b in doc.blocks] == [True, False]
    assert doc.paragraphs()[0].text.startswith("四、")


def test_image_marker_becomes_an_image_block():
    doc = parse_text_dump("二、主动公开政府信息情况\n[image: image3.png]\n三、收到和处理政府信息公开申请情况\n")
    assert [b.image.name for b in doc.blocks if b.image] == ["image3.png"]
