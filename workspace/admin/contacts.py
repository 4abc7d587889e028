"""Contacts on the workspace's pages, masked until the agent has earned the full value.

An agent sees a ticket's phone numbers and email addresses in full only once they (or the
MY Wallet app) hold a strong verification on that ticket, the same one a protective change
rests on (`accounts.actions.security.verified_strongly_on`). Before that, the Cc card, the
reply form's recipient list, a message's metadata and a call's number show them masked,
and the Cc card's buttons name an address by a token, so the full value is nowhere in the
page.
"""

import json

from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.actions.security import verified_strongly_on
from mywallet_support.logging import mask_personal_data
from mywallet_support.masking import mask_email, mask_phone

__all__ = [
    "address_for_token",
    "cc_rows",
    "full_contacts",
    "shown_contact",
    "shown_metadata",
]


def full_contacts(ticket, user) -> bool:
    """Whether ``user`` sees ``ticket``'s contacts in full."""
    return verified_strongly_on(ticket, user)


def shown_contact(value: str, *, full: bool) -> str:
    """An email address or phone number, in full or masked."""
    if full or not value:
        return value or ""
    return mask_email(value) if "@" in value else mask_phone(value)


def _token(ticket, address: str) -> str:
    digest = salted_hmac("workspace.cc", f"{ticket.pk}:{address.lower()}", algorithm="sha256")
    return digest.hexdigest()[:32]


def cc_rows(ticket, addresses, *, full: bool) -> list[dict]:
    """The Cc card's rows: each address as shown, and the token its buttons post."""
    return [
        {"shown": shown_contact(address, full=full), "token": _token(ticket, address)}
        for address in addresses
    ]


def address_for_token(ticket, token: str) -> str | None:
    """The ticket's Cc address (accepted or proposed) a Cc card button named, or None."""
    for address in [*(ticket.cc or []), *(ticket.cc_proposed or [])]:
        if constant_time_compare(_token(ticket, address), token or ""):
            return address
    return None


def shown_metadata(metadata, *, full: bool) -> str:
    """A message's channel metadata (headers, addresses, numbers) as indented JSON, with
    every email address, phone number and ID number masked unless ``full``."""
    text = json.dumps(metadata or {}, indent=2, ensure_ascii=False, sort_keys=True)
    return text if full else mask_personal_data(text)
