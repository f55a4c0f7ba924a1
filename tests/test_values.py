from extractors.template.values import is_value_text, parse_value


def test_plus_sign_is_dropped():
    assert parse_value("+8", "change").value == 8


def test_change_with_this_years_count_gives_signed_change_and_stated_count():
    parsed = parse_value("252（减18）", "change")
    assert (parsed.value, parsed.stated) == (-18, 252)
    assert parse_value("1083(增19)", "change").value == 19


def test_money_in_yuan_is_converted_to_wan_yuan():
    assert parse_value("251000元", "money").value == 25.1
    assert parse_value("182.32万元", "money").value == 182.32
    assert parse_value("0", "money").value == 0


def test_blank_cell_is_null_not_zero():
    for text in ("", " ", "/", "—", "——", "-"):
        parsed = parse_value(text)
        assert parsed.value is None and parsed.status == "blank", text


def test_full_width_digits_and_units_are_read():
    assert parse_value("１２").value == 12
    assert parse_value("17件").value == 17


def test_text_that_is_not_a_number_is_garbled_not_guessed():
    parsed = parse_value("1O7")
    assert parsed.value is None and parsed.status == "garbled"


def test_a_printed_negative_count_is_kept_for_rule_r6():
    assert parse_value("-3").value == -3


def test_labels_are_not_values():
    assert not is_value_text("规章")
    assert is_value_text("252（减18）") and is_value_text("/")
