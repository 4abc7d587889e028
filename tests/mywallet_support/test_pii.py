"""Personal data in free text (mywallet_support.pii): found, masked and fingerprinted.

The corpus (tests/fixtures/pii_corpus.py) measures the detector as a whole; the tests
after it pin each rule at its boundary, so that a change to any of them fails a test
(bench/mutation.py measures that).
"""

import hashlib
import hmac
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from mywallet_support import pii
from mywallet_support.pii import Span, find, fingerprint, fingerprints_in, mask, mask_text
from tests.fixtures.pii_corpus import LOOKALIKES, POSITIVES

SAMPLE = "我的身份证号是110101199003074514，银行卡号6222021234567890123，新手机号13912345678"


def _id(first17: str) -> str:
    """An ID number with its right check character (GB 11643, written out again here)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return (
        first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    )


def _card(prefix: str, length: int) -> str:
    """A number of ``length`` digits from ``prefix`` that passes the Luhn check."""
    body = prefix.ljust(length - 1, "0")
    for last in "0123456789":
        digits = [int(d) for d in reversed(body + last)]
        doubled = [d * 2 - 9 if d > 4 else d * 2 for d in digits[1::2]]
        if (sum(digits[::2]) + sum(doubled)) % 10 == 0:
            return body + last
    raise AssertionError("unreachable: one last digit always fits")


def _found(text: str) -> list[tuple[str, str]]:
    return [(span.kind, span.value) for span in find(text)]


# --- the corpus ---------------------------------------------------------------------------


def test_precision_and_recall_on_the_corpus_are_at_least_95_percent():
    right = wrong = missed = 0
    for text, expected in [*POSITIVES, *((text, []) for text in LOOKALIKES)]:
        found = _found(text)
        right += sum(1 for span in found if span in expected)
        wrong += sum(1 for span in found if span not in expected)
        missed += sum(1 for span in expected if span not in found)
    precision, recall = right / (right + wrong), right / (right + missed)
    print(f"pii corpus: precision {precision:.3f}, recall {recall:.3f} ({right} spans found)")
    assert len(POSITIVES) >= 60 and len(LOOKALIKES) >= 60
    assert precision >= 0.95 and recall >= 0.95


@pytest.mark.parametrize(("text", "expected"), POSITIVES)
def test_each_true_positive_is_found_exactly(text, expected):
    assert _found(text) == expected


@pytest.mark.parametrize("text", LOOKALIKES)
def test_each_lookalike_is_left_alone(text):
    assert find(text) == []
    assert mask_text(text) == text


# --- the issue's sample -------------------------------------------------------------------


def test_the_issues_sample_is_found_with_offsets_and_normalised_values():
    """The ID's check character is right (4); the card fails Luhn (a real card's last digit
    would differ), so it is found by the typo rule: 银行卡号 stands right before it."""
    assert pii.is_id_number("110101199003074514")
    assert not pii.luhn_valid("6222021234567890123")
    assert find(SAMPLE) == [
        Span("id_number", 7, 25, "110101199003074514", "110101199003074514"),
        Span("card", 30, 49, "6222021234567890123", "6222021234567890123"),
        Span("phone", 54, 65, "13912345678", "+8613912345678"),
    ]
    assert mask_text(SAMPLE) == (
        "我的身份证号是1101**********4514，银行卡号622202*********0123，新手机号139****5678"
    )


def test_full_width_digits_are_read_and_offsets_refer_to_the_original_text():
    text = "手机号：１３９１２３４５６７８，卡号６２２２０２１２３４５６７８９０１２３"
    [phone, card] = find(text)
    assert phone == Span("phone", 4, 15, "１３９１２３４５６７８", "+8613912345678")
    assert card == Span("card", 18, 37, text[18:37], "6222021234567890123")
    assert mask_text(text) == "手机号：139****5678，卡号622202*********0123"


def test_full_width_separators_letters_and_signs_are_read_too():
    assert find("身份证 33010220010911007Ｘ")[0].normalised == "33010220010911007X"
    assert find("＋８６ １３９－１２３４－５６７８")[0].normalised == "+8613912345678"
    assert find("ＬＩ＿ｗｅｉ％１＠ＥＸＡＭＰＬＥ．ｃｏｍ")[0].normalised == "LI_wei%1@example.com"


def test_nothing_is_found_in_an_empty_text():
    assert find("") == []
    assert mask_text("") == ""
    assert fingerprints_in("") == []


# --- ID numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "check"),
    [
        ("11010119900307451", "4"),
        ("44030619851215123", "6"),
        ("33010220010911007", "X"),
        ("65010219831212345", "2"),
        ("31010419780623402", "1"),
        ("42010619990731888", "9"),
        ("11010819650101231", "7"),
        # Every position non-zero somewhere, so each weight counts.
        ("32058319760418773", "X"),
        ("61011319701130555", "9"),
        ("51010719920229561", "1"),
        ("37020219880808004", "4"),
    ],
)
def test_the_check_character_is_iso_7064_mod_11_2(first17, check):
    assert pii.id_check_character(first17) == check
    assert pii.is_id_number(first17 + check)


def test_an_id_with_a_wrong_check_character_or_a_letter_inside_is_not_one():
    assert not pii.is_id_number("110101199003074515")
    assert not pii.is_id_number("11010119900307451X")
    assert not pii.is_id_number("1101011990030745X4")
    assert not pii.is_id_number("11010119900307451")


@pytest.mark.parametrize(
    ("birth", "valid"),
    [
        ("19000101", True),
        ("18991231", False),
        ("19920229", True),
        ("19910229", False),
        ("19901301", False),
        ("19900132", False),
        ("20001231", True),
    ],
)
def test_an_id_needs_a_real_birth_date_from_1900(birth, valid):
    assert pii.is_id_number(_id(f"110101{birth}451")) is valid


def test_an_id_born_today_counts_and_one_born_tomorrow_does_not():
    today, tomorrow = date.today(), date.today() + timedelta(days=1)
    assert pii.is_id_number(_id(f"110101{today:%Y%m%d}451"))
    assert not pii.is_id_number(_id(f"110101{tomorrow:%Y%m%d}451"))


@pytest.mark.parametrize(
    ("province", "valid"),
    [("11", True), ("10", False), ("82", True), ("83", False), ("65", True), ("66", False)],
)
def test_an_id_needs_a_province_that_exists(province, valid):
    assert pii.is_id_number(_id(f"{province}010119900307451")) is valid


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("130503670401001", True),  # born 1967-04-01
        ("110101900307451", True),
        ("110101901307451", False),  # month 13
        ("100101900307451", False),  # no province 10
        ("1305036704010011", False),  # 16 digits
    ],
)
def test_the_old_fifteen_digit_form(number, valid):
    assert pii.is_id_number(number) is valid
    assert _found(f"老身份证 {number}") == ([("id_number", number)] if valid else [])


def test_an_id_may_be_written_in_groups_of_6_8_4_or_6_6_3():
    assert _found("ID 370202 19880808 0044") == [("id_number", "370202 19880808 0044")]
    assert _found("ID 370202-19880808-0044") == [("id_number", "370202-19880808-0044")]
    assert _found("ID 130503 670401 001") == [("id_number", "130503 670401 001")]
    assert find("370202 19880808 0044")[0].normalised == "370202198808080044"


def test_an_id_with_a_wrong_check_character_counts_only_next_to_an_id_keyword():
    typo = "110101199003071234"
    assert _found(f"流水 {typo}") == []
    for text in (f"身份证{typo}", f"ID {typo}", f"my id is {typo}", f"{typo}身份证"):
        assert _found(text) == [("id_number", typo)], text
    assert _found(f"valid {typo}") == []  # "id" inside a word is not the keyword
    assert _found(f"身份证 {typo[:17]}") == []  # 17 digits: no ID's shape
    assert _found("身份证 1101011990030745") == []  # 16 digits neither
    assert _found("身份证 110101199013071234") == []  # the shape needs a real birth date


@pytest.mark.parametrize(("gap", "near"), [(1, True), (14, True), (15, False)])
def test_the_keyword_must_stand_within_sixteen_characters_of_the_number(gap, near):
    typo = "110101199003071234"
    expected = [("id_number", typo)] if near else []
    assert _found("ID" + " " * gap + typo) == expected
    assert _found(typo + " " * gap + "ID") == expected
    assert _found("xx ID" + " " * gap + typo) == expected


# --- cards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("0", True),
        ("9", False),
        ("18", True),
        ("91", True),
        ("59", True),
        ("10", False),
        ("79927398713", True),
        ("79927398710", False),
        ("4111111111111111", True),
        ("4111111111111112", False),
    ],
)
def test_the_luhn_check(digits, valid):
    assert pii.luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("prefix", "length", "issued"),
    [
        ("4", 16, True),
        ("4", 19, True),
        ("4", 13, False),
        ("4", 15, False),
        ("4", 17, False),
        ("4", 18, False),
        ("50", 16, False),
        ("51", 16, True),
        ("55", 16, True),
        ("56", 16, False),
        ("51", 15, False),
        ("51", 17, False),
        ("2220", 16, False),
        ("2221", 16, True),
        ("2720", 16, True),
        ("2721", 16, False),
        ("2221", 15, False),
        ("2221", 17, False),
        ("33", 15, False),
        ("34", 15, True),
        ("35", 15, False),
        ("34", 14, False),
        ("34", 16, False),
        ("36", 15, False),
        ("37", 15, True),
        ("38", 15, False),
        ("37", 14, False),
        ("37", 16, False),
        ("61", 16, False),
        ("62", 16, True),
        ("62", 17, True),
        ("62", 18, True),
        ("62", 19, True),
        ("62", 15, False),
        ("63", 16, False),
        ("643", 16, False),
        ("644", 16, True),
        ("659", 19, True),
        ("660", 16, False),
        ("644", 15, False),
        ("644", 17, False),
        ("644", 18, False),
        ("3527", 16, False),
        ("3528", 16, True),
        ("3589", 19, True),
        ("3590", 16, False),
        ("3528", 15, False),
        ("3528", 17, False),
        ("3528", 18, False),
        ("36", 14, True),
        ("36", 16, True),
        ("36", 19, True),
        ("36", 13, False),
        ("36", 17, False),
        ("36", 18, False),
        ("38", 16, True),
        ("39", 19, True),
        ("38", 14, False),
        ("38", 17, False),
        ("38", 18, False),
        ("60", 16, True),
        ("60", 19, True),
        ("59", 16, False),
        ("60", 15, False),
        ("60", 17, False),
        ("60", 18, False),
        ("94", 16, False),
        ("95", 16, True),
        ("95", 19, True),
        ("96", 16, False),
        ("95", 15, False),
        ("95", 17, False),
        ("95", 18, False),
        ("1", 16, False),
    ],
)
def test_a_card_needs_an_issuers_prefix_and_length(prefix, length, issued):
    number = _card(prefix, length)
    assert pii.is_card(number) is issued
    assert _found(f"paid with {number}") == ([("card", number)] if issued else [])


def test_a_card_failing_luhn_is_no_card():
    assert not pii.is_card("4111111111111112")


@pytest.mark.parametrize(
    "written",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "6222 6002 6000 1234 2", "3782 822463 10005"],
)
def test_a_card_may_be_written_in_groups_of_four_or_as_amex_prints_it(written):
    assert _found(f"paid with {written}") == [("card", written)]
    assert find(written)[0].normalised == written.replace(" ", "").replace("-", "")


@pytest.mark.parametrize(
    "written",
    [
        "41111 1111 1111 111",  # 5-4-4-3
        "4111 1111 11111 111",  # 4-4-5-3
        "411 1111 1111 11111",  # 3-4-4-5
        "4111 11111 1111 111",
    ],
)
def test_a_card_in_other_groups_is_not_read_as_one(written):
    assert pii.is_card(written.replace(" ", ""))
    assert find(written) == []


def test_a_card_followed_by_a_longer_group_is_still_found():
    assert _found("paid with 4111 1111 1111 1111 20281") == [("card", "4111 1111 1111 1111")]


def test_spans_may_touch():
    assert _found("li@example.com+8613912345678") == [
        ("email", "li@example.com"),
        ("phone", "+8613912345678"),
    ]


def test_a_long_run_of_short_groups_is_read_in_linear_time():
    """Each start is tried only up to 19 digits on: 20,000 groups a space apart, read in
    square time, would be 200 million pieces (a chat message or a log line could do it)."""
    text = "卡号 " + " ".join(["1"] * 20_000) + " 4111 1111 1111 1111"
    assert _found(text)[-1] == ("card", "4111 1111 1111 1111")


def test_two_numbers_a_space_apart_are_found_apart():
    assert _found("13912345678 4111111111111111") == [
        ("phone", "13912345678"),
        ("card", "4111111111111111"),
    ]


def test_the_longest_valid_reading_of_a_run_wins():
    # The first 16 digits pass as a card by themselves; all 19 do too.
    whole = "4111 1111 1111 1111 003"
    assert pii.is_card("4111111111111111") and pii.is_card("4111111111111111003")
    assert _found(whole) == [("card", whole)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("卡号 1234567890128", True),  # 13 digits
        ("卡号 123456789012", False),  # 12
        ("卡号 1234567890123456789", True),  # 19
        ("卡号 12345678901234567890", False),  # 20
        ("card 1234567890123456", True),
        ("discard 1234567890123456", False),
        ("PAN 1234567890123456", True),
        ("卡号 6222 0212 3456 7890 123", True),
        ("卡号 6222 0212 3456 78901", False),  # 4-4-4-5
        ("卡号 6222 0212 34567 890", False),  # 4-4-5-3
        ("卡号 123456789012345X", False),
    ],
)
def test_a_card_failing_its_checks_counts_only_next_to_a_card_keyword(text, found):
    number = text.split(" ", 1)[1]
    assert _found(text) == ([("card", number)] if found else [])


def test_a_valid_id_next_to_a_card_keyword_is_an_id_and_a_typo_near_both_too():
    assert _found("卡 110101199003074514") == [("id_number", "110101199003074514")]
    assert _found("身份证 卡 110101199003071234") == [("id_number", "110101199003071234")]


def test_a_number_glued_to_letters_is_a_reference_not_a_card():
    assert find("TX4111111111111111") == []
    assert find("4111111111111111ab") == []


# --- phones, emails, passports ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("13912345678", "+8613912345678"),
        ("+86 139 1234 5678", "+8613912345678"),
        ("010-62345678", "+861062345678"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_a_phone_is_normalised_to_e164(text, normalised):
    [span] = find(text)
    assert (span.kind, span.normalised) == ("phone", normalised)


@pytest.mark.parametrize(
    "text",
    [
        "400-820-8820",
        "+86 400 820 8820",  # dialled in full, still a company's line
        "800-820-8820",
        "2026120412",  # a landline's digits without its trunk 0
        "12345678901",
    ],
)
def test_service_lines_and_landlines_without_their_0_are_not_a_persons_phone(text):
    assert find(text) == []


def test_an_email_keeps_its_mailbox_and_lower_cases_its_domain():
    [span] = find("write to Li.Wei@Example.COM.")
    assert (span.kind, span.value, span.normalised) == (
        "email",
        "Li.Wei@Example.COM",
        "Li.Wei@example.com",
    )


def test_an_email_named_after_a_phone_is_one_email():
    assert _found("13912345678@163.com") == [("email", "13912345678@163.com")]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("护照 E12345678", "E12345678"),
        ("passport: ea1234567", "ea1234567"),
        ("G12345678 是护照号", "G12345678"),
        ("型号 E12345678", None),
        ("护照 E1234567", None),
        ("护照 E123456789", None),
        ("护照 F12345678", None),
    ],
)
def test_a_passport_number_needs_its_shape_and_a_keyword(text, found):
    assert _found(text) == ([("passport", found)] if found else [])


def test_a_passport_is_normalised_to_capitals():
    assert find("passport ea1234567")[0].normalised == "EA1234567"


# --- masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "normalised", "masked"),
    [
        ("card", "6222021234560123", "622202******0123"),
        ("card", "6222021234567890123", "622202*********0123"),
        ("card", "1234567890128", "123456***0128"),
        ("card", "12345678901", "123456*8901"),
        ("card", "1234567890", "**********"),
        ("id_number", "110101199003074514", "1101**********4514"),
        ("id_number", "110101900307451", "1101*******7451"),
        ("id_number", "123456789", "1234*6789"),
        ("id_number", "12345678", "********"),
        ("passport", "E12345678", "E*****678"),
        ("passport", "E1234", "E*234"),
        ("passport", "E123", "****"),
        ("phone", "+8613912345678", "139****5678"),
        ("phone", "+442079460958", "+442****0958"),
        ("phone", "+85291234567", "+852****4567"),
        ("email", "li.wei@example.com", "li***@example.com"),
        ("email", "ab@example.com", "a***@example.com"),
    ],
)
def test_each_kind_is_masked_with_one_star_per_hidden_character(kind, normalised, masked):
    assert mask(kind, normalised) == masked


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        mask("iban", "DE89370400440532013000")


def test_mask_text_keeps_the_text_around_each_span():
    assert mask_text("4111111111111111") == "411111******1111"
    assert mask_text("a 4111111111111111 b 13912345678 c") == ("a 411111******1111 b 139****5678 c")


# --- fingerprints -------------------------------------------------------------------------


def test_a_fingerprint_is_an_hmac_keyed_with_pii_hash_key(settings):
    settings.PII_HASH_KEY = "a-key-for-tests"
    expected = hmac.new(b"a-key-for-tests", b"card:4111111111111111", hashlib.sha256)
    assert fingerprint("card", "4111111111111111") == expected.hexdigest()


def test_without_pii_hash_key_the_key_is_derived_from_the_secret_key(settings):
    settings.PII_HASH_KEY = ""
    key = hmac.new(
        settings.SECRET_KEY.encode(), b"mywallet-support.pii-fingerprint", hashlib.sha256
    ).digest()
    expected = hmac.new(key, b"phone:+8613912345678", hashlib.sha256).hexdigest()
    assert fingerprint("phone", "+8613912345678") == expected
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    assert fingerprint("phone", "+8613912345678") != expected


def test_a_fingerprint_tells_kinds_apart_and_ignores_the_case_of_an_email_only():
    assert fingerprint("card", "110101199003074514") != fingerprint(
        "id_number", "110101199003074514"
    )
    assert fingerprint("email", "Li.Wei@example.com") == fingerprint("email", "li.wei@example.com")
    assert fingerprint("passport", "e12345678") != fingerprint("passport", "E12345678")


def test_a_typed_number_finds_the_fingerprint_of_the_same_number_written_otherwise():
    stored = [fingerprint(s.kind, s.normalised) for s in find(SAMPLE)]
    assert fingerprints_in("+86 139-1234-5678") == [stored[2]]
    assert fingerprints_in("110101199003074514") == [stored[0]]
    # The card fails Luhn: typed alone, with no keyword, it still counts.
    assert fingerprints_in("6222 0212 3456 7890 123") == [stored[1]]
    assert fingerprints_in("110101199003071234") == [fingerprint("id_number", "110101199003071234")]
    assert fingerprints_in("E12345678") == [fingerprint("passport", "E12345678")]


def test_fingerprints_in_gives_each_value_once_in_order():
    phone = fingerprint("phone", "+8613912345678")
    card = fingerprint("card", "4111111111111111")
    assert fingerprints_in("13912345678 or 139 1234 5678, card 4111111111111111") == [
        phone,
        card,
    ]


@examples(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"0123456789０１２３４５６７８９ -－　+＋@.XxEG", "身份证", "卡", "护照", "ID", "com"]
        ),
        max_size=60,
    ).map("".join)
)
def test_any_text_gives_ordered_spans_of_its_own_characters(text):
    spans = find(text)
    assert all(a.end <= b.start for a, b in pairwise(spans))
    assert all(span.value == text[span.start : span.end] for span in spans)
    assert all("*" in mask(span.kind, span.normalised) for span in spans)
    assert all(len(digest) == 64 for digest in fingerprints_in(text))
