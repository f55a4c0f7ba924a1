"""The recogniser's alternative readings of a line, from its CTC output (issue 13)."""

from __future__ import annotations

import numpy as np

from extractors.ocr.engines import ALTERNATIVE_CHARS, alternatives

CHARS = ["blank", *ALTERNATIVE_CHARS, "D"]
COLUMNS = np.arange(len(ALTERNATIVE_CHARS) + 1)  # the blank and the alternatives' classes


def frames(*rows: dict[str, float]) -> np.ndarray:
    """CTC output: one row of class probabilities per frame, the rest on the blank."""
    out = np.zeros((len(rows), len(CHARS)), np.float32)
    for t, row in enumerate(rows):
        for char, p in row.items():
            out[t, CHARS.index(char)] = p
        out[t, 0] += 1 - out[t].sum()
    return out


def test_the_runner_up_of_a_character_is_an_alternative():
    probs = frames({}, {"/": 0.62, "7": 0.31}, {"/": 0.5, "7": 0.2}, {})
    found = dict(alternatives(probs, COLUMNS, CHARS, 4))
    assert list(found)[0] == "/" and found["/"] == 0.62
    assert found["7"] == 0.31


def test_a_letter_for_a_digit_has_the_digit_among_its_alternatives():
    probs = frames({"D": 0.8, "5": 0.15}, {})
    found = dict(alternatives(probs, COLUMNS, CHARS, 4))
    assert found["5"] == 0.15


def test_a_digit_dropped_to_the_blank_comes_back_as_an_alternative():
    probs = frames({"1": 0.9}, {"5": 0.35}, {})
    found = dict(alternatives(probs, COLUMNS, CHARS, 4))
    assert list(found)[0] == "1"
    assert found["15"] == round(0.9 * 0.35 / 0.65, 4)


def test_at_most_k_and_nothing_under_the_floor():
    probs = frames({"3": 0.999}, {}, {"8": 0.999})
    found = alternatives(probs, COLUMNS, CHARS, 2)
    assert [text for text, _ in found] == ["38"]
