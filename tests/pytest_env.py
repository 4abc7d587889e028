"""A pytest plugin loaded before Django (``-p tests.pytest_env`` in pyproject.toml).

It gives the settings that production must set (no defaults outside DEBUG) test-only
values, so the suite runs with DEBUG off, as production does.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-" + "x" * 40)
# A fixed, valid Fernet key, for tests only.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
# Two app identity keys, the first signing: rotation is tested with both.
os.environ.setdefault(
    "APP_IDENTITY_KEYS",
    "test-current:test-only-app-identity-key-current-0123456789,"
    "test-previous:test-only-app-identity-key-previous-012345678",
)
# The customers' site, for the confirmation links sent to customers' phones and email.
os.environ.setdefault("CUSTOMER_SITE_URL", "https://support.example.test")
