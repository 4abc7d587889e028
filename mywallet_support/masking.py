"""Masking for personal data shown to agents or written to logs (138****1234)."""


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    digits = value.lstrip("+")
    prefix = "+" if value.startswith("+") else ""
    if digits.startswith("86") and len(digits) == 13:
        # +86 138 **** 1234: keep the carrier prefix and the last four.
        return f"+86 {digits[2:5]}****{digits[-4:]}"
    if len(digits) <= 6:
        return prefix + "*" * len(digits)
    return f"{prefix}{digits[:3]}****{digits[-4:]}"


def mask_email(value: str | None) -> str:
    if not value:
        return ""
    local, sep, domain = value.partition("@")
    if not sep:
        return mask_text(value)
    shown = local[:1] if len(local) <= 3 else local[:2]
    return f"{shown}***@{domain}"


def mask_id_number(value: str | None) -> str:
    """A national ID number: the first four characters (the region) and the last four only,
    as a number a customer wrote in a message is masked (1101**********4514)."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def mask_wallet_number(value: str | None) -> str:
    """MW8800000101 as MW88****0101: enough for the customer to recognise it on a screen
    someone else may see."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}****{value[-4:]}"


def mask_text(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 4:
        return "*" * len(value)
    return f"{value[:2]}***{value[-2:]}"


def mask_identity(kind: str, value: str) -> str:
    if kind == "phone":
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    return mask_text(value)
