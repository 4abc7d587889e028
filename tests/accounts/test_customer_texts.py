"""Everything a customer reads agrees with "never tell anyone your code" (issue 11): every
customer-facing page, email and text message, rendered in English and Chinese, never asks
the customer to tell, read out, give or send a code to anyone, and every message that
carries a code says never to tell it to anyone, our staff included.

The texts are rendered, not read from the catalogue: what is checked is what is sent."""

import re
from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import strip_tags

from accounts.codes import PURPOSE_TEXT, code_message
from accounts.confirmations import confirmation_message
from accounts.forms import (
    ChannelForm,
    CodeForm,
    ContactForm,
    NewContactForm,
    PaymentPasswordForm,
    TwoCodesForm,
)
from accounts.models import DeviceConfirmation
from accounts.notify import NOTICES, prepare
from tests.accounts.security_helpers import ticket_for

pytestmark = pytest.mark.django_db

LANGUAGES = ("en", "zh-hans")
CODE = "493817"

# A sentence that asks the customer to pass a code on: a verb of telling and a code.
ASKS_EN = re.compile(
    r"\b(tell|read|give|share|say|forward|send (it |the code |them )?(to )?us)\b", re.IGNORECASE
)
ASKS_ZH = re.compile(r"(告诉|告知|读出|念给|念出|报给|报出|提供给|发给|转发|说出)")
# Asking to read something out is asking to pass a code on, whatever the sentence names.
READ_OUT = re.compile(r"\bread (it |them |the code )?(out|to)\b|读出|念给|念出", re.IGNORECASE)
CODE_WORD = re.compile(r"\bcodes?\b|验证码|代码", re.IGNORECASE)
# What makes such a sentence a warning instead: it says never, or not to.
NEGATION = re.compile(
    r"\b(never|not|don't|do not|no one|nor)\b|绝不|切勿|不要|请勿|不会|无需|不需要", re.IGNORECASE
)
NEVER_TELL = {
    "en": re.compile(r"Never tell it to anyone, not even our staff", re.IGNORECASE),
    "zh-hans": re.compile(r"切勿告诉任何人，包括我们的工作人员"),
}


def sentences(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", strip_tags(text))
    return [s.strip() for s in re.split(r"(?<=[.!?。！？；;:：])\s*", text) if s.strip()]


def asks_for_a_code(text: str) -> list[str]:
    """The sentences of ``text`` that ask someone to pass a code on."""
    return [
        sentence
        for sentence in sentences(text)
        if (
            READ_OUT.search(sentence)
            or (
                CODE_WORD.search(sentence)
                and (ASKS_EN.search(sentence) or ASKS_ZH.search(sentence))
            )
        )
        and not NEGATION.search(sentence)
    ]


def test_the_checker_catches_an_ask_and_lets_a_warning_through():
    assert asks_for_a_code("Code sent. Ask the customer to read it out.")
    assert asks_for_a_code("Please tell our agent the code you received.")
    assert asks_for_a_code("请把验证码告诉客服。")
    assert not asks_for_a_code("Never tell it to anyone, not even our staff.")
    assert not asks_for_a_code("切勿告诉任何人，包括我们的工作人员。")
    assert not asks_for_a_code("We will send a 6-digit code to it.")
    assert not asks_for_a_code("Send the code to Send code")


# --- what is rendered -----------------------------------------------------------------------


def page_contexts():
    """Every customer-facing page template, in every state it has, with a context like the
    view's (templates/accounts/*)."""
    masked = {"masked": "+86 138****8000", "old_masked": "li***@example.com"}
    for step, form in [
        ("contact", ContactForm()),
        ("contact", ChannelForm()),
        ("code", CodeForm()),
        ("password", PaymentPasswordForm()),
        ("done", None),
    ]:
        yield (
            "accounts/reset_payment_password.html",
            {
                "step": step,
                "form": form,
                "state": {**masked, "unlocked": True},
                "valid_minutes": 10,
                "resend_wait": 30,
                "signed_in": form.__class__ is ChannelForm,
            },
        )
    for step, form in [
        ("sign_in", None),
        ("new", NewContactForm()),
        ("codes", TwoCodesForm()),
        ("done", None),
    ]:
        yield (
            "accounts/change_contact.html",
            {
                "step": step,
                "form": form,
                "state": {**masked, "new_masked": "+86 137****7000"},
                "wallet_phone": "+86 138****8000",
                "wallet_email": "li***@example.com",
            },
        )


def confirm_page_contexts(confirmations):
    for confirmation in confirmations:
        yield {"state": "ask", "confirmation": confirmation, "agent": "Fang Wang", "error": "x"}
    for state in ("confirmed", "declined", "throttled", "too_large", "invalid"):
        yield {"state": state}


def email_contexts(ticket, language):
    for name in ("acknowledgement", "reply", "too_large"):
        for ext in ("txt", "html"):
            yield (
                f"email/{name}.{ext}",
                {
                    "ticket": ticket,
                    "language": language,
                    "name": "Li Wei",
                    "subject": "My wallet",
                    "text": "Hello",
                    "limit": "10 MB",
                },
            )


def confirmations_for(ticket, agent):
    wallet = ticket.customer.wallets.get()
    return [
        DeviceConfirmation(
            account=wallet,
            ticket=ticket,
            agent=agent,
            purpose=purpose,
            channel="phone",
            destination=wallet.registered_phone,
            expires_at=timezone.now() + timedelta(minutes=10),
        )
        for purpose in DeviceConfirmation.Purpose.values
    ]


@pytest.fixture
def ticket(customer):
    return ticket_for(customer)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_asks_a_customer_to_pass_a_code_on(language, ticket, agent):
    request = RequestFactory().get("/account/", headers={"accept-language": language})
    rendered = []
    with translation.override(language):
        for template, context in page_contexts():
            rendered.append((template, render_to_string(template, context, request=request)))
        for context in confirm_page_contexts(confirmations_for(ticket, agent)):
            page = render_to_string("accounts/confirm.html", context, request=request)
            rendered.append(("accounts/confirm.html", page))
        for template, context in email_contexts(ticket, language):
            rendered.append((template, render_to_string(template, context)))
    chat = Client(headers={"accept-language": language}).get(reverse("chat:page"))
    rendered.append(("chat/page.html", chat.content.decode()))

    for template, text in rendered:
        assert asks_for_a_code(text) == [], template
    # Every page where a customer types or sees a code repeats that staff never ask for one.
    never_ask = "never ask you for a code" if language == "en" else "绝不会向您索要验证码"
    for template, text in rendered:
        if template.startswith("accounts/"):
            assert never_ask in text, template
    assert CODE not in "".join(text for _template, text in rendered)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_message_says_never_to_tell_it_to_anyone(language):
    for purpose in PURPOSE_TEXT:
        message = code_message(purpose, CODE, language=language)
        for text in (message.sms, message.email):
            assert CODE in text
            assert NEVER_TELL[language].search(text), (purpose, text)
            assert asks_for_a_code(text) == [], (purpose, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_confirmation_links_and_notices_ask_for_no_code(language, ticket, agent):
    ticket.customer.language = language
    texts = []
    for confirmation in confirmations_for(ticket, agent):
        subject, sms, email = confirmation_message(confirmation, "a-token")
        texts += [subject, sms, email]
        # Code-free, and still warns that no one from MY Wallet asks for one.
        never = (
            "No one from MY Wallet will ever ask you for a code"
            if language == "en"
            else ("MY Wallet 的任何人都不会向您索取验证码")
        )
        assert never.lower() in sms.lower() and never.lower() in email.lower()
    wallet = ticket.customer.wallets.get()
    for event in NOTICES:
        notice = prepare(wallet, event=event, language=language)
        texts += [notice.subject, notice.text, notice.email_body]
    for text in texts:
        assert asks_for_a_code(text) == [], text
        assert not re.search(r"(?<!-)\b\d{6}\b", text), text
