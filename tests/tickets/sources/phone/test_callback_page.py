"""/callback/: a customer asks for a call back while the hotline is busy. In English and
Chinese by Accept-Language, CSRF enforced, a body larger than the form refused before it
is read, throttled per client address; a request lands in the callbacks queue on the
customer its number names (a claim: the page never says whether the number is known)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from tests.accounts.self_service_helpers import csrf_client, page_text, post
from tests.accounts.test_customer_texts import asks_for_a_code
from tickets.models import Callback
from tickets.sources.phone.pages import CallbackForm, throttle_key

URL = "/callback/"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.TELEPHONY_CALLBACK_REQUESTS_PER_HOUR = 3
    settings.TELEPHONY_CALLBACK_WITHIN_MINUTES = 30


@pytest.fixture(autouse=True)
def _forget_counts():
    keys = [throttle_key(address) for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3")]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def when(delta: timedelta) -> str:
    return timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def test_the_page_speaks_english_and_chinese():
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(URL).content.decode()
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(URL).content.decode()

    assert "Ask for a call back" in english and "Call me back" in english
    assert "申请回电" in chinese and "请给我回电" in chinese
    assert 'lang="zh-hans"' in chinese


def test_a_request_with_a_preferred_time_joins_the_queue_on_the_callers_customer(customer):
    client = csrf_client()
    response = post(
        client, URL, {"phone": "138 0013 8000", "preferred_at": when(timedelta(hours=2))}
    )

    assert response.status_code == 200
    assert "we will call you back" in page_text(response)
    callback = Callback.objects.get()
    assert callback.customer == customer and callback.phone == "+8613800138000"
    assert callback.source == Callback.Source.WEB and callback.status == Callback.Status.OPEN
    expected = timezone.now() + timedelta(hours=2)
    assert abs(callback.due_at - expected) < timedelta(minutes=2)


def test_without_a_time_it_is_due_within_the_configured_minutes(customer):
    post(csrf_client(), URL, {"phone": "+8613800138000", "preferred_at": ""})

    due = Callback.objects.get().due_at - timezone.now()
    assert timedelta(minutes=28) < due <= timedelta(minutes=30)


def test_an_unknown_number_gets_the_same_answer_as_a_known_one(customer):
    known = post(csrf_client("10.0.0.1"), URL, {"phone": "+8613800138000"})
    unknown = post(csrf_client("10.0.0.2"), URL, {"phone": "+8613912345678"})

    assert page_text(known) == page_text(unknown)
    assert Callback.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"phone": "12"}, "not a valid phone number"),
        ({"phone": ""}, "This field is required"),
        ({"phone": "+8613800138000", "preferred_at": "soon"}, "Enter a valid date/time"),
        ({"phone": "+8613800138000", "preferred_at": when(-timedelta(hours=3))}, "in the past"),
        ({"phone": "+8613800138000", "preferred_at": when(timedelta(days=60))}, "30 days"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_keeps_what_was_typed(customer, data, error):
    response = post(csrf_client(), URL, data)

    assert response.status_code == 400
    assert error in page_text(response)
    assert not Callback.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(customer):
    client = csrf_client()
    response = client.post(URL, {"phone": "+8613800138000"})

    assert response.status_code == 403
    assert not Callback.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(customer):
    response = post(csrf_client(), URL, {"phone": "+8613800138000", "pad": "x" * 5000})

    assert response.status_code == 413
    assert not Callback.objects.exists()


def test_each_address_gets_its_hourly_allowance_then_429(customer):
    client = csrf_client("10.0.0.3")
    statuses = [post(client, URL, {"phone": "+8613800138000"}).status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 429, 429]
    assert Callback.objects.count() == 3
    # another address is not held back by this one
    assert post(csrf_client("10.0.0.1"), URL, {"phone": "+8613800138000"}).status_code == 200


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_state_of_the_page_asks_the_customer_to_pass_a_code_on(language, customer):
    request = RequestFactory().get(URL)
    with translation.override(language):
        for context in (
            {"state": "ask", "form": CallbackForm()},
            {"state": "done"},
            {"state": "throttled"},
            {"state": "too_large"},
        ):
            html = render_to_string("phone/callback.html", context, request=request)
            assert not asks_for_a_code(html), (context["state"], asks_for_a_code(html))
