"""Mainland mobile numbers and unified social credit codes, as residents and staff type them."""

import pytest
from django.core.exceptions import ValidationError

from charity.validators import clean_text, normalize_credit_code, normalize_mobile, uscc_check_char

pytestmark = pytest.mark.usefixtures("english")


def valid_uscc(first17: str = "91440101MA59ABCD1") -> str:
    return first17 + uscc_check_char(first17)


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086 13812345678",
        "86-138-1234-5678",
        "１３８１２３４５６７８",
        "＋８６ １３８ １２３４ ５６７８",
        "(138) 1234 5678",
    ],
)
def test_mobile_typed_any_common_way_is_stored_as_11_digits(typed):
    assert normalize_mobile(typed) == "13812345678"


@pytest.mark.parametrize(
    "typed",
    ["", "1381234567", "138123456789", "12812345678", "23812345678", "abc", "+1 138 1234 5678", "8613812345"],
)
def test_mobile_that_is_not_a_mainland_number_is_rejected(typed):
    with pytest.raises(ValidationError) as exc:
        normalize_mobile(typed)
    assert exc.value.code == "invalid_mobile"
    assert "11" in exc.value.messages[0]


def test_missing_mobile_is_rejected_as_required():
    with pytest.raises(ValidationError) as exc:
        normalize_mobile(None)
    assert exc.value.code == "mobile_required"


@pytest.mark.parametrize("first17", ["91440101MA59ABCD1", "52440113MJK123456", "12100000000000000"])
def test_a_credit_code_with_the_right_check_character_is_accepted(first17):
    code = valid_uscc(first17)
    assert normalize_credit_code(code) == code
    assert normalize_credit_code(f"  {code.lower()} ") == code


def test_a_known_real_format_credit_code_passes_its_checksum():
    # GB 32100-2015 worked example (the national standard's sample code).
    assert uscc_check_char("91350100M000100Y4") == "3"


def test_a_credit_code_with_a_typo_fails_its_check_character():
    code = valid_uscc()
    wrong = code[:17] + next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != code[17])
    with pytest.raises(ValidationError) as exc:
        normalize_credit_code(wrong)
    assert "check character" in exc.value.messages[0]


def test_swapping_two_characters_is_caught():
    code = valid_uscc()
    swapped = code[:8] + code[9] + code[8] + code[10:]
    assert swapped != code
    with pytest.raises(ValidationError):
        normalize_credit_code(swapped)


def test_a_credit_code_of_the_wrong_length_says_how_long_it_is():
    with pytest.raises(ValidationError) as exc:
        normalize_credit_code(valid_uscc()[:-1])
    assert "17" in exc.value.messages[0]


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_a_credit_code_with_a_forbidden_letter_is_rejected(letter):
    code = valid_uscc()
    bad = code[:10] + letter + code[11:]
    with pytest.raises(ValidationError) as exc:
        normalize_credit_code(bad)
    assert "I, O, S, V" in exc.value.messages[0]


@pytest.mark.parametrize(
    "invisible",
    ["\x00", "\x07", "\x7f", "\u200b", "\u2060", "\ufeff", "\u202e", "\ud800", "\u00ad", "\U000e0041"]
    + ["\u034f", "\u115f", "\u3164", "\uffa0", "\u2800", "\ufe0f", "\U000e0100"],
)
def test_free_text_loses_its_invisible_characters_whatever_else_it_holds(invisible):
    """Controls, format characters, lone surrogates, and the invisible characters Python calls printable
    (blank letters, variation selectors), in text long or short, with or without line breaks."""
    assert clean_text(f" 长{invisible}文 ") == "长文"
    assert clean_text("长\n" * 1000 + invisible + "\t文") == "长\n" * 1000 + "\t文"


def test_free_text_keeps_what_shows_and_the_joiners_emoji_need():
    shown = ["长文 text", "一\n二\t三", "👨\u200d👩\u200d👧", "a\u200cb", "全角　空格", "a\u2028b", "\ue000"]
    for text in shown:
        assert clean_text(text) == text
    assert clean_text("a\r\nb\rc") == "a\nb\nc"
