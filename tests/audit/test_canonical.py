"""The fast path of canonical_json writes exactly the bytes of the RFC 8785 walk."""

from __future__ import annotations

import pytest

from consent_service import canonical

VALUES = [
    {"b": 1, "a": [True, False, None], "c": {"z": "", "y": -(2**53 - 1)}},
    {"text": 'quote " backslash \\ newline \n tab \t nul \u0000 bell \u0007 del \u007f'},
    {"unicode": "Zoë 日本 \u2028 \u2029 😀", "emoji_in_list": ["😀", "é"]},
    {"seq": 2**53 - 1, "nested": [[{"k": [1, 2, {"deeper": "x"}]}]]},
    {"A": 1, "a": 2, "_": 3, "0": 4, "~": 5, "": 6},
    [],
    {},
    "plain",
    0,
]


@pytest.mark.parametrize("value", VALUES)
def test_fast_path_matches_the_rfc8785_walk(value: object) -> None:
    assert canonical._plain(value)
    walked: list[str] = []
    canonical._encode(value, walked)
    assert canonical.canonical_json(value) == "".join(walked).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"é": 1, "z": 2},  # a non-ASCII name: sorted by UTF-16 code units, by the walk
        {"\U0001f600": 1, "\uffff": 2},  # code point and UTF-16 order differ here
        {"big": 2**53},  # outside the safe range: the walk refuses it
        {"t": (1, 2)},  # a tuple
        {"f": 1.5},  # a float: the walk refuses it
    ],
)
def test_other_values_take_the_walk(value: object) -> None:
    assert not canonical._plain(value)


def test_names_outside_the_bmp_sort_by_utf16_code_units() -> None:
    # U+1F600 is D83D DE00 in UTF-16, which sorts before U+FFFF; by code point it is after.
    assert canonical.canonical_json({"\U0001f600": 1, "\uffff": 2}) == (
        '{"\U0001f600":1,"\uffff":2}'.encode()
    )
    with pytest.raises((ValueError, TypeError)):
        canonical.canonical_json({"big": 2**53})
    with pytest.raises(TypeError):
        canonical.canonical_json({"f": 1.5})
