"""Identity tokens from the MY Wallet app (accounts.app_identity)."""

import logging
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from accounts import app_identity
from accounts.app_identity import AUDIENCE_ACCOUNT, AUDIENCE_CHAT, AppTokenRefused, sign, verify
from accounts.models import AppTokenUse

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer):
    return customer.wallets.get()


def refusal(token, audience=AUDIENCE_CHAT) -> str:
    with pytest.raises(AppTokenRefused) as refused:
        verify(token, audience=audience)
    return refused.value.reason


def test_a_fresh_token_proves_the_customer_once(wallet):
    token = sign(wallet, audience=AUDIENCE_CHAT)

    identity = verify(token, audience=AUDIENCE_CHAT)

    assert identity.account == wallet and identity.customer == wallet.customer
    assert identity.key_id == "test-current"
    assert AppTokenUse.objects.filter(jti=identity.jti, account=wallet).exists()
    assert refusal(token) == "replayed"


def test_a_token_for_the_chat_does_not_open_the_self_service_pages(wallet):
    assert refusal(sign(wallet, audience=AUDIENCE_CHAT), AUDIENCE_ACCOUNT) == "wrong_audience"
    assert not AppTokenUse.objects.exists()  # a refused token spends nothing


def test_expired_and_future_tokens_are_refused(wallet):
    long_ago = timezone.now() - timedelta(minutes=10)
    assert refusal(sign(wallet, audience=AUDIENCE_CHAT, issued_at=long_ago, lifetime=60)) == (
        "expired"
    )
    later = timezone.now() + timedelta(minutes=5)
    assert refusal(sign(wallet, audience=AUDIENCE_CHAT, issued_at=later)) == "not_yet_valid"


def test_a_token_claiming_a_long_life_is_refused(wallet):
    assert refusal(sign(wallet, audience=AUDIENCE_CHAT, lifetime=24 * 3600)) == "too_long"


def test_rotation_the_previous_key_works_until_it_is_retired(wallet, settings):
    token = sign(wallet, audience=AUDIENCE_CHAT, key_id="test-previous")
    retired = sign(wallet, audience=AUDIENCE_CHAT, key_id="test-previous")

    assert verify(token, audience=AUDIENCE_CHAT).key_id == "test-previous"

    settings.APP_IDENTITY_KEYS = {"test-current": settings.APP_IDENTITY_KEYS["test-current"]}
    assert refusal(retired) == "unknown_key"


def test_forged_and_malformed_tokens_are_refused(wallet, settings):
    claims = {
        "sub": wallet.number,
        "aud": AUDIENCE_CHAT,
        "iat": int(timezone.now().timestamp()),
        "exp": int(timezone.now().timestamp()) + 60,
        "jti": "x" * 20,
    }
    guessed = jwt.encode(
        claims, "a-guessed-secret-of-sufficient-length!!", headers={"kid": "test-current"}
    )
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "test-current"})
    no_kid = jwt.encode(claims, settings.APP_IDENTITY_KEYS["test-current"][0])
    no_jti = jwt.encode(
        {k: v for k, v in claims.items() if k != "jti"},
        settings.APP_IDENTITY_KEYS["test-current"][0],
        headers={"kid": "test-current"},
    )

    assert refusal(guessed) == "bad_signature"
    assert refusal(unsigned) == "malformed"
    assert refusal(no_kid) == "unknown_key"
    assert refusal(no_jti) == "malformed"
    assert refusal("not a token") == "malformed"
    assert refusal("x" * (app_identity.MAX_TOKEN_LENGTH + 1)) == "malformed"
    assert refusal("") == "malformed"


def test_an_unknown_wallet_is_refused(wallet):
    token = sign(wallet, audience=AUDIENCE_CHAT)
    wallet.number = "MW0000000000"  # signed for a number we do not have
    assert refusal(sign(wallet, audience=AUDIENCE_CHAT)) == "unknown_wallet"
    assert verify(token, audience=AUDIENCE_CHAT).account.pk == wallet.pk


def test_without_keys_app_sign_in_is_off(wallet, settings):
    token = sign(wallet, audience=AUDIENCE_CHAT)
    settings.APP_IDENTITY_KEYS = {}
    assert refusal(token) == "not_configured"


def test_used_ids_of_expired_tokens_are_forgotten(wallet):
    old = AppTokenUse.objects.create(
        jti="y" * 20,
        audience=AUDIENCE_CHAT,
        account=wallet,
        key_id="test-current",
        expires_at=timezone.now() - timedelta(hours=1),
    )
    verify(sign(wallet, audience=AUDIENCE_CHAT), audience=AUDIENCE_CHAT)
    assert not AppTokenUse.objects.filter(pk=old.pk).exists()


def test_tokens_never_reach_the_log(wallet, caplog):
    token = sign(wallet, audience=AUDIENCE_CHAT)
    verify(token, audience=AUDIENCE_CHAT)
    with caplog.at_level(logging.DEBUG):
        refusal(token)
    assert "replayed" in caplog.text
    assert token not in caplog.text and token.split(".")[2] not in caplog.text
