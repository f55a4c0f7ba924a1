from extractors.template.labels import (ACTIVE_ITEM_PATTERNS, REQUEST_ROW_PATTERNS, match_label,
                                        normalize)


def _row(label):
    m = match_label(label, REQUEST_ROW_PATTERNS)
    return m.key if m else None


def test_spaces_and_numbering_variants_fold_together():
    assert normalize("三、本 年 度 办 理 结 果") == normalize("三、本年度办理结果")
    assert normalize("1、属于国家秘密") == normalize("1.属于国家秘密") == normalize("1．属于国家秘密")


def test_carried_over_rows_tolerate_swapped_words():
    assert _row("二、上年转结政府信息公开申请数量") == "carried"
    assert _row("四、转结下年度继续办理") == "carry_forward"


def test_partial_is_not_mistaken_for_granted_nor_denied():
    assert _row("（二）部分公开（区分处理的，只计这一情形，不计其他情形）") == "partial"
    assert _row("（三）不予公开1.属于国家秘密") == "denied_secret"
    assert _row("三、本年度办理结果（一）予以公开") == "granted"


def test_label_broken_across_lines_still_matches():
    assert _row("5.要求行政机关确认或重\n新出具已获取信息") == "rejected_confirm"


def test_typo_in_fee_label_is_tolerated():
    m = match_label("行业事业性收费", ACTIVE_ITEM_PATTERNS)
    assert m and m.key == "fees"


def test_fuzzy_fallback_is_reported_as_inexact():
    m = match_label("4.无正当理由大量返复申请", REQUEST_ROW_PATTERNS)
    assert m is not None and m.key == "rejected_massive" and not m.exact


def test_unrelated_label_matches_nothing():
    assert _row("（一）主动公开政府信息数") is None
