"""Small helpers that read settings from the environment and fail loudly on bad values."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks are dropped."""
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_mapping(name: str, default: str, *, fields: int) -> dict[str, tuple[str, ...]]:
    """``key:a:b,key2:c:d`` as ``{"key": ("a", "b"), ...}``, each entry with ``fields`` values."""
    mapping = {}
    for entry in env_list(name, default):
        key, *values = (part.strip() for part in entry.split(":"))
        if not key or len(values) != fields or not all(values):
            raise ImproperlyConfigured(
                f"{name}: {entry!r} must be KEY followed by {fields} ':'-separated values"
            )
        mapping[key.lower()] = tuple(values)
    return mapping
