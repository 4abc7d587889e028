"""Authentication-Results headers as real servers write them, and who we believe."""

import pytest

from tickets.sources.email import authresults
from tickets.sources.email.parsing import parse_email

# As Gmail adds it (folded, comments with "=" and ":" inside).
GMAIL = (
    "mx.google.com;\n"
    "       dkim=pass header.i=@example.com header.s=s1 header.b=Xy1/abc+;\n"
    "       spf=pass (google.com: domain of li.wei@example.com designates 203.0.113.5 as\n"
    "        permitted sender) smtp.mailfrom=li.wei@example.com;\n"
    "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.com"
)

# Microsoft 365 writes no authserv-id at all: nobody vouches for it.
MICROSOFT = (
    "spf=pass (sender IP is 209.85.128.50) smtp.mailfrom=example.com; dkim=pass "
    "(signature was verified) header.d=example.com;dmarc=pass action=none "
    "header.from=example.com;compauth=pass reason=100"
)

# Postfix with OpenDKIM, OpenDMARC and policyd-spf: one header each, a version after the id,
# a semicolon inside a comment.
POSTFIX = [
    "mx.mywallet.example; dmarc=pass (p=reject dis=none) header.from=example.com",
    "mx.mywallet.example 1;\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com "
    "header.i=@example.com header.a=rsa-sha256 header.s=default header.b=AbCdEf12;\n\t"
    "dkim-atps=neutral",
    'mx.mywallet.example; spf=pass (sender SPF authorized) smtp.mailfrom="li.wei@example.com" '
    "(client-ip=203.0.113.5)",
]

TRUSTED = ["mx.mywallet.example", "mx.google.com"]


def verdict(values, sender="li.wei@example.com", trusted=TRUSTED):
    return authresults.authenticated(
        authresults.parse(values), from_address=sender, trusted=trusted
    )


def test_gmails_header_is_read_method_by_method():
    results = authresults.parse([GMAIL])
    assert [(r.authserv_id, r.method, r.result) for r in results] == [
        ("mx.google.com", "dkim", "pass"),
        ("mx.google.com", "spf", "pass"),
        ("mx.google.com", "dmarc", "pass"),
    ]
    assert results[0].property("header.i") == "@example.com"
    assert results[1].property("smtp.mailfrom") == "li.wei@example.com"
    assert verdict([GMAIL]) == authresults.Verdict(True, "dmarc", "mx.google.com")


def test_postfix_headers_one_per_filter_are_combined():
    results = authresults.parse(POSTFIX)
    assert [r.method for r in results] == ["dmarc", "dkim", "dkim-atps", "spf"]
    assert results[3].property("smtp.mailfrom") == "li.wei@example.com"  # unquoted
    assert verdict(POSTFIX).authenticated


def test_spf_and_dkim_aligned_without_dmarc_authenticate():
    values = [POSTFIX[1], POSTFIX[2]]
    assert verdict(values) == authresults.Verdict(True, "spf+dkim", "mx.mywallet.example")


def test_spf_alone_or_dkim_alone_is_not_enough():
    assert not verdict([POSTFIX[1]]).authenticated
    assert not verdict([POSTFIX[2]]).authenticated


def test_a_signature_of_another_domain_is_not_aligned():
    values = [
        "mx.mywallet.example; dkim=pass header.d=evil.example; "
        "spf=pass smtp.mailfrom=bounce@evil.example; dmarc=pass header.from=evil.example"
    ]
    assert not verdict(values).authenticated


def test_the_from_domain_under_the_signing_domain_is_aligned_but_not_the_reverse():
    under = [
        "mx.mywallet.example; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com"
    ]
    assert verdict(under, sender="li.wei@mail.example.com").authenticated
    # anyone.github.io signing does not speak for github.io
    above = [
        "mx.mywallet.example; dkim=pass header.d=anyone.github.io; "
        "spf=pass smtp.mailfrom=anyone.github.io"
    ]
    assert not verdict(above, sender="someone@github.io").authenticated


def test_microsofts_header_without_an_authserv_id_counts_for_nothing():
    results = authresults.parse([MICROSOFT])
    assert {r.authserv_id for r in results} == {""}
    assert [r.method for r in results] == ["spf", "dkim", "dmarc", "compauth"]
    assert not verdict([MICROSOFT], trusted=["", *TRUSTED]).authenticated


def test_a_header_from_an_untrusted_authserv_id_counts_for_nothing():
    forged = "mail.evil.example; dmarc=pass header.from=example.com"
    assert not verdict([forged]).authenticated
    assert not verdict([GMAIL], trusted=[]).authenticated  # empty setting: trust nobody


def test_a_forged_pass_below_our_own_fail_changes_nothing():
    ours = "mx.mywallet.example; dmarc=fail (p=reject) header.from=example.com"
    forged = "mx.mywallet.example; dmarc=pass header.from=example.com"
    assert not verdict([ours, forged]).authenticated


def test_dmarc_for_another_domain_or_failing_does_not_count():
    assert not verdict(["mx.mywallet.example; dmarc=pass header.from=other.example"]).authenticated
    assert not verdict(
        ["mx.mywallet.example; dmarc=temperror header.from=example.com"]
    ).authenticated
    assert not verdict(["mx.mywallet.example; dmarc=pass"]).authenticated


def test_authserv_ids_and_values_are_compared_without_case_and_quotes():
    values = ['"MX.MyWallet.Example"; DMARC=Pass header.from="Example.COM"']
    assert verdict(values).authenticated


def test_nested_comments_and_escaped_quotes_are_read():
    values = [
        'mx.mywallet.example (a (nested; comment) here); dkim=pass (x "y") header.d=example.com '
        'reason="the \\"quoted\\" reason; with a semicolon"; spf=pass smtp.mailfrom=example.com'
    ]
    results = authresults.parse(values)
    assert [r.method for r in results] == ["dkim", "spf"]
    assert results[0].property("reason") == 'the "quoted" reason; with a semicolon'
    assert verdict(values).authenticated


def test_no_result_is_read_as_nothing():
    assert authresults.parse(["mx.mywallet.example 1; none"]) == ()


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ";;;",
        "(((",
        "mx.mywallet.example; =pass",
        '"unterminated; dmarc=pass',
        "\x00\udcff",
        "a" * 20000,
    ],
)
def test_garbage_yields_nothing_and_never_raises(garbage):
    results = authresults.parse([garbage])
    assert not authresults.authenticated(
        results, from_address="li.wei@example.com", trusted=TRUSTED
    ).authenticated


def test_the_parser_reads_every_header_in_order():
    raw = (
        b"Authentication-Results: mx.mywallet.example;\r\n"
        b"  dmarc=pass header.from=example.com\r\n"
        b"Authentication-Results: mail.evil.example; dkim=pass header.d=example.com\r\n"
        b"From: Li Wei <li.wei@example.com>\r\nTo: support@mywallet.example\r\n"
        b"Subject: hi\r\nMessage-ID: <a@example.com>\r\n\r\nhello\r\n"
    )
    parsed = parse_email(raw)
    assert [(r.position, r.authserv_id, r.method) for r in parsed.authentication_results] == [
        (0, "mx.mywallet.example", "dmarc"),
        (1, "mail.evil.example", "dkim"),
    ]
