import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.actions import resolve_identity
from accounts.identities import normalise_email, normalise_identity, normalise_phone
from accounts.models import AccountEvent, Customer, CustomerIdentity, WalletAccount
from mywallet_support.masking import mask_email, mask_id_number, mask_phone, mask_wallet_number


@pytest.mark.parametrize(
    "written",
    ["138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "(+86) 13800138000", "13800138000"],
)
def test_a_phone_written_any_way_is_one_e164_number(written):
    assert normalise_phone(written) == "+8613800138000"


def test_foreign_numbers_keep_their_country():
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize("bad", ["", "12", "not a number", "+86 123"])
def test_an_invalid_phone_is_refused_with_a_clear_error(bad):
    with pytest.raises(ValidationError):
        normalise_phone(bad)


def test_emails_are_lower_cased_and_trimmed():
    assert normalise_email("  Li.Wei@Example.COM ") == "li.wei@example.com"


def test_an_invalid_email_is_refused():
    with pytest.raises(ValidationError):
        normalise_email("li.wei@")


def test_social_ids_are_taken_as_given():
    assert normalise_identity("wechat", " oAbC-123_xyz ") == "oAbC-123_xyz"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationError):
        normalise_identity("fax", "123")


@pytest.mark.django_db
def test_the_same_phone_three_ways_resolves_to_one_customer():
    first = resolve_identity(kind="phone", value="138 0013 8000", display_name="Li Wei")
    second = resolve_identity(kind="phone", value="+86 138-0013-8000")
    third = resolve_identity(kind="phone", value="0086 13800138000")
    assert first.pk == second.pk == third.pk
    assert Customer.objects.count() == 1
    assert first.customer.name == "Li Wei"


@pytest.mark.django_db
def test_a_new_sender_creates_a_customer_and_an_audit_row():
    identity = resolve_identity(kind="email", value="New.Person@Example.com", display_name="New")
    assert identity.value == "new.person@example.com"
    event = AccountEvent.objects.get(customer=identity.customer)
    assert event.action == AccountEvent.Action.CUSTOMER_CREATED
    assert event.actor_kind == AccountEvent.ActorKind.SYSTEM
    # The audit row holds the address masked, never in clear.
    assert "new.person@example.com" not in str(event.details)


@pytest.mark.django_db
def test_kinds_do_not_collide():
    email = resolve_identity(kind="wechat", value="abc")
    weibo = resolve_identity(kind="weibo", value="abc")
    assert email.customer_id != weibo.customer_id
    assert CustomerIdentity.objects.count() == 2


def test_masks_show_only_enough_to_recognise():
    assert mask_phone("+8613800138000") == "+86 138****8000"
    assert mask_email("li.wei@example.com") == "li***@example.com"
    assert mask_id_number("110101199003071234") == "1101**********1234"
    assert mask_wallet_number("MW8800000101") == "MW88****0101"
    assert mask_wallet_number("MW12345") == "*******"


@pytest.mark.django_db
def test_the_national_id_is_encrypted_at_rest(customer):
    wallet = customer.wallets.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id FROM accounts_walletaccount WHERE id = %s", [wallet.pk])
        (stored,) = cursor.fetchone()
    assert "110101199003071234" not in stored
    assert WalletAccount.objects.get(pk=wallet.pk).national_id == "110101199003071234"
    assert wallet.masked_national_id == "1101**********1234"


@pytest.mark.django_db
def test_the_payment_password_is_stored_hashed(customer):
    wallet = customer.wallets.get()
    assert "482915" not in wallet.payment_password
    assert wallet.check_payment_password("482915")
    assert not wallet.check_payment_password("000000")
