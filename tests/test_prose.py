from extractors.template.prose import prose_figures


def _figures(text, template="2021"):
    return {f.fields: f.value for f in prose_figures([text], template)}


def test_total_then_breakdown_in_one_sentence():
    figures = _figures("2022年，共收到政府信息公开申请17件，其中予以公开8件、部分公开2件、不予公开4件。")
    assert figures[("requests.new.total",)] == 17
    assert figures[("requests.granted.total",)] == 8
    assert figures[("requests.partial.total",)] == 2
    assert len([k for k in figures if k[0].startswith("requests.denied_")]) == 1


def test_breakdown_without_an_application_total_is_not_read():
    # 政策文件的公开属性, not applications: the same words, another count.
    assert _figures("共发布政策文件19件，其中主动公开16件、依申请公开2件、不予公开1件。") == {}


def test_received_including_carried_over_compares_with_new_plus_carried():
    figures = _figures("本年共收到政府信息公开申请18件（含上年结转3件）。")
    assert figures == {("requests.new.total", "requests.carried.total"): 18,
                       ("requests.carried.total",): 3}


def test_changes_against_last_year_are_not_figures():
    assert _figures("收到政府信息公开申请比上年减少5件。") == {}


def test_appeals_figures_need_the_disclosure_context():
    assert _figures("本年度涉及政府信息公开的行政复议2件，行政诉讼1件。") == {
        ("review.total",): 2, ("suit_direct.total", "suit_after_review.total"): 1}
    assert _figures("全市行政复议案件120件。") == {}
