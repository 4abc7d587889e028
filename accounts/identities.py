"""Normalisation of customer identities, so the same contact is always one identity.

Pure functions: untrusted input in, a canonical value out, or a ValidationError.
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from .models import CustomerIdentity

DEFAULT_PHONE_REGION = "CN"


def normalise_email(value: str) -> str:
    value = (value or "").strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("%(value)s is not a valid email address."), params={"value": value}
        ) from None
    # The local part is case-sensitive in theory, never in practice; one customer per mailbox.
    return value.lower()


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164: '138 0013 8000', '+86 138-0013-8000' and '0086 13800138000' are one number."""
    raw = (value or "").strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("%(value)s is not a valid phone number."), params={"value": value}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("%(value)s is not a valid phone number."), params={"value": value})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_opaque(value: str) -> str:
    """WeChat OpenIDs, Weibo UIDs and web session ids are taken as given (trimmed)."""
    value = (value or "").strip()
    if not value or len(value) > 255:
        raise ValidationError(_("An identity value must be 1 to 255 characters."))
    return value


def normalise_identity(kind: str, value: str) -> str:
    if kind == CustomerIdentity.Kind.EMAIL:
        return normalise_email(value)
    if kind == CustomerIdentity.Kind.PHONE:
        return normalise_phone(value)
    if kind in CustomerIdentity.Kind.values:
        return normalise_opaque(value)
    raise ValidationError(_("Unknown identity kind %(kind)s."), params={"kind": kind})
