"""`{{ text|masked }}`: a text a customer wrote that the workspace shows outside a
message's body (a subject, a file name, an earlier ticket's subject), with every ID or
card number, phone number and email address in it masked.

Stored message text is protected when it is written (tickets.personal_data); subjects and
file names come from the sender as they are, so the page masks them as it shows them. A
masked form is never found again, so masking protected text changes nothing.
"""

from django import template

from mywallet_support.pii import mask_text

register = template.Library()


@register.filter
def masked(text) -> str:
    return mask_text(str(text or ""))
