"""MY Wallet Support settings.

Every value comes from the environment with a safe local default; the helpers in
``mywallet_support.env`` raise ImproperlyConfigured on a value they cannot read.
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_mapping, env_str
from .layers import PUBSUB_LAYER, redis_layer_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(set DJANGO_DEBUG=true for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "workspace.apps.AgentAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "workspace.apps.SignInsConfig",  # django-axes
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "api",
    "channels",
    "django_tasks_db",
    "accounts",
    "tickets",
    "chat",
    "workspace.apps.WorkspaceConfig",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "workspace.middleware.AgentSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "mywallet_support.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "mywallet_support.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Database: a SQLite file in WAL mode unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers (the admin, websockets) run while the worker writes;
        # IMMEDIATE takes the write lock up front so two writers queue instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Live updates: in-memory for one process, Redis pub/sub to share groups between processes.
REDIS_URL = env_str("REDIS_URL")
# Starts every Redis key and channel name of this instance (channel layer and cache), so
# that two instances can share one Redis database. Letters, digits, "-", "_" and "." only:
# channel names allow nothing else.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "mywallet")
if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", REDIS_KEY_PREFIX):
    raise ImproperlyConfigured("REDIS_KEY_PREFIX must be 1 to 40 letters, digits, '-', '_' or '.'.")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": PUBSUB_LAYER,
            "CONFIG": redis_layer_config(
                REDIS_URL,
                max_connections=env_int("REDIS_MAX_CONNECTIONS", 1000),
                key_prefix=REDIS_KEY_PREFIX,
            ),
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
else:
    # One process. Its default capacity (100 waiting frames per channel) dropped frames
    # silently under the chat benchmark's load; storage and `resume` still catch a client
    # up, but only when it reconnects.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "mywallet_support.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work through Django's task framework; the queue is a setting.
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# A delivery a worker started and did not finish within this many seconds is taken to be
# abandoned (the worker was killed) and recovered by `manage.py run_worker`: sent again when
# the mail server never had it whole, else held for the agent (tickets.actions.delivery).
# Longer than any live send can take (several SMTP round trips of EMAIL_TIMEOUT each).
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 300)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Daphne serves /static/ itself (ASGIStaticFilesHandler) unless a front proxy does it.
SERVE_STATIC = env_bool("DJANGO_SERVE_STATIC", default=True)

# National ID numbers and other protected fields are encrypted with these Fernet keys:
# the first encrypts, all decrypt (rotation). Required outside DEBUG.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS and not DEBUG:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS must be set when DJANGO_DEBUG is off "
        "(generate one with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )

# Security. Outside DEBUG everything `check --deploy` asks for is on; a TLS-terminating
# proxy sets DJANGO_SECURE_PROXY_SSL_HEADER=true.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the chat page's JS reads it to send the token
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy on every response (Django's CSP middleware): scripts, styles and
# images from our own origin only, no inline script or style, nothing framed or embedded.
# 'self' in connect-src covers same-origin ws:/wss: in CSP Level 3 browsers; a deployment
# whose websockets live on another origin names it in DJANGO_CSP_CONNECT_SRC. A ticket
# page where the agent chose to load an email's remote images widens img-src for that one
# response (workspace.admin.tickets).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF, *env_list("DJANGO_CSP_CONNECT_SRC")],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "frame-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

# Two-factor admin.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "MY Wallet Support")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "admin:login"

# --- Agent sign-in (django-axes, accounts.agent_sign_in, workspace.site) ------------------
# SIGNIN_FAILURE_LIMIT failed sign-ins (a wrong password, a wrong or missing code, an
# unknown or inactive account) for one username, or from one client address, pause
# sign-in for both for SIGNIN_COOLOFF_MINUTES from the last counted failure, and a
# successful sign-in clears the count. Tries during the pause are refused without being
# stored (a flood of them writes nothing), only logged. Every failure, the pause
# included, answers with the same text. Agents behind one office address share its count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# The workspace registers its own view-only pages for these (workspace.admin.staff).
AXES_ENABLE_ADMIN = False
AXES_CLIENT_IP_CALLABLE = "mywallet_support.http.client_address"
AXES_CLIENT_STR_CALLABLE = "accounts.agent_sign_in.masked_client_str"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
# No AxesMiddleware: it would answer a locked-out sign-in with a page of its own, telling
# a right password from a wrong one; the login form shows its one error text instead.
SILENCED_SYSTEM_CHECKS = ["axes.W002"]
# The client address, behind a reverse proxy: TRUSTED_PROXY_HEADER names the request.META
# key the proxy sets (e.g. HTTP_X_FORWARDED_FOR) and TRUSTED_PROXY_COUNT how many proxies
# append to it. Unset: REMOTE_ADDR (mywallet_support.http.client_address).
TRUSTED_PROXY_HEADER = env_str("TRUSTED_PROXY_HEADER", "")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
# An agent's login ends after AGENT_SESSION_IDLE_MINUTES without a request and
# AGENT_SESSION_MAX_HOURS after signing in, whatever they do (the chat console's socket
# refuses such a session too).
AGENT_SESSION_IDLE_MINUTES = env_int("AGENT_SESSION_IDLE_MINUTES", 30)
AGENT_SESSION_MAX_HOURS = env_int("AGENT_SESSION_MAX_HOURS", 12)
# An administrator's enrolment link for a first authenticator is valid this long.
ENROLMENT_GRANT_HOURS = env_int("ENROLMENT_GRANT_HOURS", 24)

# Outgoing email: Django 6.1's MAILERS, from the same environment variables as ever.
EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "mywallet_support.mail.SMTPBackend",  # Django's, with the commit point (mail.py)
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH in (
    "mywallet_support.mail.SMTPBackend",
    "django.core.mail.backends.smtp.EmailBackend",
):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", default=False),
        "use_ssl": env_bool("EMAIL_USE_SSL", default=False),
        "timeout": env_int("EMAIL_TIMEOUT", 30),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "MY Wallet Support <support@mywallet.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Email intake. Each support address routes to a queue (slug) and a ticket category:
# "address:queue:category" entries, comma-separated. Mail to other addresses still lands
# (forwarded or Bcc'd mail) with the first address's routing.
SUPPORT_ADDRESSES = env_mapping(
    "SUPPORT_ADDRESSES",
    "support@mywallet.example:general:other,"
    "security@mywallet.example:security:security,"
    "feedback@mywallet.example:feedback:feedback",
    fields=2,
)
# A message larger than this (attachments included) is kept, its attachments beyond the
# limit dropped, and the sender told once.
EMAIL_MAX_MESSAGE_BYTES = env_int("EMAIL_MAX_MESSAGE_BYTES", 10 * 1024 * 1024)
# The authserv-ids (RFC 8601) of the mail servers whose Authentication-Results headers we
# believe, comma-separated: our own MX and filters, which must strip incoming headers
# claiming the same id. Empty: no sender is ever authenticated (anyone can write the header).
EMAIL_TRUSTED_AUTHSERV_IDS = [
    server.lower() for server in env_list("EMAIL_TRUSTED_AUTHSERV_IDS", "")
]

# IMAP intake (`manage.py poll_imap`). IMAP_SECURITY: ssl (IMAPS), starttls, or none (tests).
IMAP_HOST = env_str("IMAP_HOST", "")
IMAP_PORT = env_int("IMAP_PORT", 993)
IMAP_SECURITY = env_str("IMAP_SECURITY", "ssl")
if IMAP_SECURITY not in ("ssl", "starttls", "none"):
    raise ImproperlyConfigured("IMAP_SECURITY must be ssl, starttls or none")
IMAP_USER = env_str("IMAP_USER", "")
IMAP_PASSWORD = env_str("IMAP_PASSWORD", "")
IMAP_MAILBOXES = env_list("IMAP_MAILBOXES", "INBOX")
# Where a message goes on the server once committed here; empty: flag it \Seen and keep it.
IMAP_PROCESSED_FOLDER = env_str("IMAP_PROCESSED_FOLDER", "")
IMAP_POLL_SECONDS = env_int("IMAP_POLL_SECONDS", 60)
# PEM file of the CA(s) the IMAP server's certificate must chain to; empty: the system's.
IMAP_SSL_CA_FILE = env_str("IMAP_SSL_CA_FILE", "")

# SMTP intake (`manage.py smtp_inbound`), for mail delivered straight to us.
SMTP_INBOUND_HOST = env_str("SMTP_INBOUND_HOST", "127.0.0.1")
SMTP_INBOUND_PORT = env_int("SMTP_INBOUND_PORT", 2525)

# Ticket references look like MW-000123.
TICKET_REFERENCE_PREFIX = env_str("TICKET_REFERENCE_PREFIX", "MW")

# The REST API (the api app): its credentials, scope check, per-caller throttle, pages
# and one error shape for every view; JSON in and out (no browsable API).
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.CustomerTokenAuthentication",
        "api.authentication.AgentSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ScopedAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.CallerThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pages",
    "PAGE_SIZE": 25,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.errors.handle",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MY Wallet Support API",
    "DESCRIPTION": (
        "Tickets, messages, customers, calls, wallet events and knowledge articles of MY "
        "Wallet's support desk. Errors share one shape (`Error`) with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/",
    # /api/docs/ and /api/redoc/ from drf-spectacular-sidecar's files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" or a "kind": each choice set the API shows gets its
    # own name.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "TicketPriorityEnum": "tickets.models.Ticket.Priority",
        "TicketCategoryEnum": "tickets.models.Ticket.Category",
        "ChannelEnum": "tickets.models.Channel",
        "SlaStateEnum": "api.serializers.tickets.SlaState",
        "WalletStatusEnum": "accounts.models.WalletAccount.Status",
        "TransactionStatusEnum": "accounts.models.Transaction.Status",
        "TransactionKindEnum": "accounts.models.Transaction.Kind",
        "IdentityKindEnum": "accounts.models.CustomerIdentity.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}
# Requests a minute per caller: each API key, each agent's session, each customer's app
# token, and each address without a credential (the public articles).
API_RATES = {
    "key": env_str("API_RATE_PER_KEY", "600/min"),
    "agent": env_str("API_RATE_PER_AGENT", "300/min"),
    "customer": env_str("API_RATE_PER_CUSTOMER", "60/min"),
    "anonymous": env_str("API_RATE_ANONYMOUS", "60/min"),
    "telephony": env_str("API_RATE_TELEPHONY", "600/min"),  # its shared token on /api/calls/
}
# The largest body an API request may send (a ticket with its first message).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
# How long a create's answer is kept for retries with the same Idempotency-Key.
IDEMPOTENCY_KEEP_HOURS = env_int("IDEMPOTENCY_KEEP_HOURS", 24)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Replaces Django's default "django" handler, which would print each line twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}

# Service levels: (first response, resolution) in hours, by priority.
TICKET_SLA_HOURS = {
    "urgent": (1, 8),
    "high": (4, 24),
    "normal": (8, 72),
    "low": (24, 168),
}
# Housekeeping (tickets.actions.housekeeping, run by the task worker every
# HOUSEKEEPING_INTERVAL seconds and by `manage.py housekeeping`): supervisors are warned
# SLA_WARNING_MINUTES before a due time and again at the breach, which with
# SLA_ESCALATE_REASSIGN (or the policy's own option) gives the ticket to the least-loaded
# agent of its queue; a ticket pending the customer is reminded after PENDING_REMINDER_DAYS
# and solved after PENDING_AUTO_SOLVE_DAYS (0: never); a solved ticket is closed after
# SOLVED_AUTO_CLOSE_DAYS (0: never). At most HOUSEKEEPING_BATCH tickets of each kind a pass.
SLA_WARNING_MINUTES = env_int("SLA_WARNING_MINUTES", 30)
SLA_ESCALATE_REASSIGN = env_bool("SLA_ESCALATE_REASSIGN", default=False)
PENDING_REMINDER_DAYS = env_int("PENDING_REMINDER_DAYS", 3)
PENDING_AUTO_SOLVE_DAYS = env_int("PENDING_AUTO_SOLVE_DAYS", 7)
SOLVED_AUTO_CLOSE_DAYS = env_int("SOLVED_AUTO_CLOSE_DAYS", 4)
HOUSEKEEPING_INTERVAL = env_int("HOUSEKEEPING_INTERVAL", 60)
HOUSEKEEPING_BATCH = env_int("HOUSEKEEPING_BATCH", 500)

# Live chat. An agent holds at most CHAT_MAX_CHATS chats at once unless their presence row
# says otherwise; with CHAT_AUTO_ASSIGN a waiting chat goes to the least-busy online agent.
CHAT_MAX_CHATS = env_int("CHAT_MAX_CHATS", 3)
CHAT_AUTO_ASSIGN = env_bool("CHAT_AUTO_ASSIGN", default=True)
# Websocket limits: a text frame over CHAT_MAX_FRAME_BYTES closes the socket (1009); a
# client sending more than CHAT_RATE_PER_SECOND frames a second (bursts of CHAT_RATE_BURST)
# is told so and disconnected.
CHAT_MAX_FRAME_BYTES = env_int("CHAT_MAX_FRAME_BYTES", 16 * 1024)
CHAT_RATE_PER_SECOND = env_int("CHAT_RATE_PER_SECOND", 5)
CHAT_RATE_BURST = env_int("CHAT_RATE_BURST", 20)
# The same answer comes when one session (all its sockets together), or one side of one
# chat, sends more than CHAT_SHARED_FRAMES frames in a window of CHAT_SHARED_WINDOW_SECONDS
# (counted in the cache, so shared by every process when the cache is Redis).
CHAT_SHARED_FRAMES = env_int("CHAT_SHARED_FRAMES", 100)
CHAT_SHARED_WINDOW_SECONDS = env_int("CHAT_SHARED_WINDOW_SECONDS", 10)
# An agent socket checks its session, account and permissions again (chat.access) on a
# frame when its last check is older than this many seconds (0: on every frame).
CHAT_AGENT_RECHECK_SECONDS = env_int("CHAT_AGENT_RECHECK_SECONDS", 1)
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 4000)
CHAT_MAX_UPLOAD_BYTES = env_int("CHAT_MAX_UPLOAD_BYTES", 5 * 1024 * 1024)

# Request bodies. No request may send more than REQUEST_MAX_BODY_BYTES: a longer one is
# answered 413 before its body is read (mywallet_support.bodylimit, and in daphne itself,
# mywallet_support.daphne). The largest legitimate body is a chat image with its multipart
# wrapping, so the limit may not be below CHAT_MAX_UPLOAD_BYTES plus 64 KiB. Under the limit,
# Django keeps at most FILE_UPLOAD_MAX_MEMORY_SIZE of a body or an uploaded file in memory
# (the rest goes to a temporary file), and at most DATA_UPLOAD_MAX_MEMORY_SIZE of form
# fields or a body read as bytes.
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", 10 * 1024 * 1024)
if REQUEST_MAX_BODY_BYTES < CHAT_MAX_UPLOAD_BYTES + 64 * 1024:
    raise ImproperlyConfigured(
        "REQUEST_MAX_BODY_BYTES must be at least CHAT_MAX_UPLOAD_BYTES + 65536 "
        "(a chat image and its multipart wrapping)."
    )
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Weibo (fans service platform), tickets.sources.weibo. WEIBO_APP_SECRET signs the webhook's
# requests (sha1 of the sorted secret, timestamp and nonce); a request older or newer than
# WEIBO_TIMESTAMP_TOLERANCE_SECONDS, or reusing a nonce within it, is refused; bodies over
# WEIBO_MAX_BODY_BYTES are refused before they are read. Answers go through the reply API
# at WEIBO_API_BASE with WEIBO_ACCESS_TOKEN, within WEIBO_REPLY_WINDOW_HOURS of the
# customer's last message. WEIBO_SEND: "api", or "development" (records the answer, marked
# sent in development; the default with DEBUG, so the demo's Weibo tickets can be answered).
WEIBO_APP_SECRET = env_str("WEIBO_APP_SECRET", "")
WEIBO_ACCESS_TOKEN = env_str("WEIBO_ACCESS_TOKEN", "")
WEIBO_API_BASE = env_str("WEIBO_API_BASE", "https://m.api.weibo.com").rstrip("/")
WEIBO_TIMESTAMP_TOLERANCE_SECONDS = env_int("WEIBO_TIMESTAMP_TOLERANCE_SECONDS", 300)
WEIBO_MAX_BODY_BYTES = env_int("WEIBO_MAX_BODY_BYTES", 64 * 1024)
WEIBO_REPLY_WINDOW_HOURS = env_int("WEIBO_REPLY_WINDOW_HOURS", 48)
WEIBO_TIMEOUT_SECONDS = env_int("WEIBO_TIMEOUT_SECONDS", 10)
WEIBO_SEND = env_str("WEIBO_SEND", "development" if DEBUG else "api")
if WEIBO_SEND not in ("api", "development"):
    raise ImproperlyConfigured('WEIBO_SEND must be "api" or "development".')
DATA_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
# Chat messages are stored in batches: the writer waits this long for more before it
# commits (milliseconds), and commits at most CHAT_BATCH_MAX at once.
CHAT_BATCH_WINDOW_MS = env_int("CHAT_BATCH_WINDOW_MS", 2)
CHAT_BATCH_MAX = env_int("CHAT_BATCH_MAX", 200)
# POSTs to /chat/start/ and /chat/leave-message/ per client address and minute.
CHAT_HTTP_PER_MINUTE = env_int("CHAT_HTTP_PER_MINUTE", 20)
# The agent console lists the CHAT_WAITING_LISTED oldest waiting chats (and counts the rest);
# changes reach it as small deltas, so a long queue costs a console no more than this window.
CHAT_WAITING_LISTED = env_int("CHAT_WAITING_LISTED", 50)
# The bare relay socket bench/chat_load.py measures as its baseline (/ws/bench-relay/):
# for benchmark servers only, never on in production.
CHAT_BENCH_RELAY = env_bool("CHAT_BENCH_RELAY", default=False)

# --- One-time codes, SMS and customer notices (accounts.sms, accounts.codes, accounts.notify) ---
# Text messages go through SMS_BACKEND: "accounts.sms.FileBackend" appends each message to
# SMS_FILE_PATH (development: read your codes there; the console shows only the masked
# number), "accounts.sms.HTTPBackend" POSTs {"to", "text"} as JSON to SMS_GATEWAY_URL with
# the X-API-Key header. Default: the HTTP backend once SMS_GATEWAY_URL is set, else the file.
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL", "")
SMS_GATEWAY_KEY = env_str("SMS_GATEWAY_KEY", "")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
SMS_BACKEND = env_str(
    "SMS_BACKEND", "accounts.sms.HTTPBackend" if SMS_GATEWAY_URL else "accounts.sms.FileBackend"
)
SMS_FILE_PATH = Path(env_str("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms.log")))
# One-time codes: valid CODE_VALID_SECONDS, a new one after CODE_RESEND_SECONDS; after
# CODE_MAX_TRIES wrong codes each try waits CODE_THROTTLE_FACTOR seconds, doubling; at most
# CODE_LIMIT_PER_ACCOUNT_HOUR codes per wallet and CODE_LIMIT_PER_ADDRESS_HOUR per client
# address in an hour.
CODE_VALID_SECONDS = env_int("CODE_VALID_SECONDS", 600)
CODE_RESEND_SECONDS = env_int("CODE_RESEND_SECONDS", 60)
CODE_MAX_TRIES = env_int("CODE_MAX_TRIES", 5)
CODE_THROTTLE_FACTOR = env_int("CODE_THROTTLE_FACTOR", 60)
CODE_LIMIT_PER_ACCOUNT_HOUR = env_int("CODE_LIMIT_PER_ACCOUNT_HOUR", 5)
CODE_LIMIT_PER_ADDRESS_HOUR = env_int("CODE_LIMIT_PER_ADDRESS_HOUR", 20)
# Self-service code requests per typed contact in an hour, counted alike whether or not a
# wallet has the contact (so the limit tells nothing).
CODE_LIMIT_PER_CONTACT_HOUR = env_int("CODE_LIMIT_PER_CONTACT_HOUR", 5)
# Agents' codes and confirmation links have a budget of their own per wallet and hour, so
# anonymous self-service requests cannot use up what an agent needs to verify a caller.
CODE_AGENT_LIMIT_PER_ACCOUNT_HOUR = env_int("CODE_AGENT_LIMIT_PER_ACCOUNT_HOUR", 10)
# Confirm on the customer's own device: an agent's verification sends the registered phone
# or email a single-use link to CUSTOMER_SITE_URL/account/confirm/<token>/, answerable for
# CONFIRMATION_VALID_SECONDS; a client address may open at most
# CONFIRMATION_LOOKUPS_PER_ADDRESS_HOUR links that are not (or no longer) valid in an hour.
# CUSTOMER_SITE_URL is the customers' site as they reach it (scheme and host, no path);
# unset outside DEBUG, no link is sent and the agent is told why.
CUSTOMER_SITE_URL = env_str("CUSTOMER_SITE_URL", "http://127.0.0.1:8000" if DEBUG else "")
CONFIRMATION_VALID_SECONDS = env_int("CONFIRMATION_VALID_SECONDS", 600)

# The satisfaction survey: an email ticket's "solved" notice links to
# CUSTOMER_SITE_URL/feedback/<signed token>/, usable for this many days (tickets.survey).
SURVEY_LINK_DAYS = env_int("SURVEY_LINK_DAYS", 14)
CONFIRMATION_LOOKUPS_PER_ADDRESS_HOUR = env_int("CONFIRMATION_LOOKUPS_PER_ADDRESS_HOUR", 20)

# --- Customers' self-service (accounts.app_session, accounts.actions.self_service) --------
# A customer signed in through the app (/account/sign-in/) is signed out after
# ACCOUNT_SESSION_IDLE_MINUTES without a request, and ACCOUNT_SESSION_MAX_MINUTES after
# signing in whatever they do.
ACCOUNT_SESSION_IDLE_MINUTES = env_int("ACCOUNT_SESSION_IDLE_MINUTES", 15)
ACCOUNT_SESSION_MAX_MINUTES = env_int("ACCOUNT_SESSION_MAX_MINUTES", 60)
# The payment-password reset asks, after the code, for a second thing the wallet knows:
# "id_last4" (the last 4 characters of the ID number) or "recent_transaction" (the amount
# and merchant of a recent payment). SELF_SERVICE_SECOND_FACTOR_TRIES wrong answers end the
# reset (a new code is needed); SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER wrong answers for one
# contact, or from one client address, stop the answers for
# SELF_SERVICE_SECOND_FACTOR_LOCK_MINUTES.
SELF_SERVICE_SECOND_FACTOR = env_str("SELF_SERVICE_SECOND_FACTOR", "id_last4")
if SELF_SERVICE_SECOND_FACTOR not in ("id_last4", "recent_transaction"):
    raise ImproperlyConfigured("SELF_SERVICE_SECOND_FACTOR must be id_last4 or recent_transaction")
SELF_SERVICE_SECOND_FACTOR_TRIES = env_int("SELF_SERVICE_SECOND_FACTOR_TRIES", 3)
SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER = env_int("SELF_SERVICE_SECOND_FACTOR_LOCK_AFTER", 6)
SELF_SERVICE_SECOND_FACTOR_LOCK_MINUTES = env_int("SELF_SERVICE_SECOND_FACTOR_LOCK_MINUTES", 60)
# The demo's "play the app" page (/demo/app/), which signs app identity tokens for the demo
# customers: on with DEBUG, and on a demo server that sets DEMO_APP_PAGE=true. Never in
# production: anyone could open any demo wallet with it.
DEMO_APP_PAGE = env_bool("DEMO_APP_PAGE", default=DEBUG)

# --- Identity verification, unlock, step-up (accounts.actions.security) -------------------
# An agent's identity verification of a caller authorises security actions on its ticket
# for VERIFICATION_VALID_MINUTES. A recent transaction the caller describes matches when
# its amount is within VERIFICATION_AMOUNT_TOLERANCE_PERCENT, its day within
# VERIFICATION_DAY_TOLERANCE days, its merchant at least VERIFICATION_MERCHANT_SIMILARITY
# percent alike, and it is at most VERIFICATION_TRANSACTION_DAYS old.
VERIFICATION_VALID_MINUTES = env_int("VERIFICATION_VALID_MINUTES", 30)
VERIFICATION_AMOUNT_TOLERANCE_PERCENT = env_int("VERIFICATION_AMOUNT_TOLERANCE_PERCENT", 10)
VERIFICATION_DAY_TOLERANCE = env_int("VERIFICATION_DAY_TOLERANCE", 1)
VERIFICATION_MERCHANT_SIMILARITY = env_int("VERIFICATION_MERCHANT_SIMILARITY", 60)
VERIFICATION_TRANSACTION_DAYS = env_int("VERIFICATION_TRANSACTION_DAYS", 90)
# Unlocking needs the agent's own authenticator code entered again within these minutes.
SECURITY_STEP_UP_MINUTES = env_int("SECURITY_STEP_UP_MINUTES", 5)

# --- Audit chain, wallet-core events, risk rules, log masking -----------------------------
# (accounts.audit, accounts.api, accounts.actions.wallet_events, mywallet_support.logging)
# The audit trail's hash chain is an HMAC keyed with AUDIT_CHAIN_KEY: set it in production,
# outside the database, and never change it (`manage.py verify_audit` needs the same key).
# Unset, a key derived from DJANGO_SECRET_KEY is used, so rotating that breaks verification.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY", "")
# Personal data found in messages (mywallet_support.pii) is fingerprinted with an HMAC keyed
# with PII_HASH_KEY, so search finds a number without storing it. Set it in production,
# outside the database; changing it orphans every stored fingerprint. Unset, a key derived
# from DJANGO_SECRET_KEY is used.
PII_HASH_KEY = env_str("PII_HASH_KEY", "")
# POST /api/wallet-events/: the wallet core signs each body with this shared secret
# (X-Wallet-Signature = hex HMAC-SHA256 of "<X-Wallet-Timestamp>.<body>"). Unset, the
# endpoint refuses everything (503). Timestamps further than the window from now are
# refused (replays); bodies over the size limit too.
WALLET_EVENTS_SECRET = env_str("WALLET_EVENTS_SECRET", "")
WALLET_EVENTS_WINDOW_SECONDS = env_int("WALLET_EVENTS_WINDOW_SECONDS", 300)
WALLET_EVENTS_MAX_BYTES = env_int("WALLET_EVENTS_MAX_BYTES", 64 * 1024)
# An event's occurred_at further back or ahead than this is refused (400).
WALLET_EVENTS_MAX_AGE_DAYS = env_int("WALLET_EVENTS_MAX_AGE_DAYS", 7)
WALLET_EVENTS_MAX_FUTURE_SECONDS = env_int("WALLET_EVENTS_MAX_FUTURE_SECONDS", 300)
# Requests refused before their signature is proven, per client address and hour: each
# leaves a small sample; beyond this they are answered 429 and leave nothing.
WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR = env_int("WALLET_EVENTS_REFUSED_PER_ADDRESS_HOUR", 30)
# --- WeChat official account (tickets.sources.wechat) ------------------------------------
# /webhooks/wechat/ checks WeChat's signature with WECHAT_TOKEN (unset: the endpoint answers
# 503 and stores nothing). With WECHAT_ENCODING_AES_KEY (43 characters) it takes safe mode's
# encrypted messages (msg_signature); WECHAT_APP_ID is the appid they must carry.
WECHAT_TOKEN = env_str("WECHAT_TOKEN", "")
WECHAT_APP_ID = env_str("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = env_str("WECHAT_APP_SECRET", "")
WECHAT_ENCODING_AES_KEY = env_str("WECHAT_ENCODING_AES_KEY", "")
# Timestamps further than this from now are refused; a nonce is remembered this long.
WECHAT_TIMESTAMP_WINDOW_SECONDS = env_int("WECHAT_TIMESTAMP_WINDOW_SECONDS", 300)
# WeChat's messages are small XML documents; larger bodies are refused before being read.
WECHAT_MAX_BODY_BYTES = env_int("WECHAT_MAX_BODY_BYTES", 64 * 1024)
# The API's base address (access token and customer-service messages). Empty with DEBUG:
# a development backend records what would be sent ("sent (development)"); empty without
# DEBUG: WeChat replies fail with a reason the agent sees.
WECHAT_API_BASE = env_str("WECHAT_API_BASE", "" if DEBUG else "https://api.weixin.qq.com").rstrip(
    "/"
)
WECHAT_API_TIMEOUT = env_int("WECHAT_API_TIMEOUT", 10)
# Pictures and voice notes are fetched from the temporary-media API while filed, up to this
# size (and WECHAT_API_TIMEOUT); a larger one is not fetched, its message says why.
WECHAT_MEDIA_MAX_BYTES = env_int("WECHAT_MEDIA_MAX_BYTES", 5 * 1024 * 1024)
# Identity from the MY Wallet app: the wallet backend signs a short-lived JWT (HS256) for the
# signed-in customer, and the app opens the chat or the self-service pages with it.
# APP_IDENTITY_KEYS is "key-id:secret,key-id:secret": a token names its key in the "kid"
# header; every listed key is accepted and the first signs (the demo's "play the app" page).
# Rotation: add the new key, let the backend switch, then drop the old one (refused from
# then on). Unset outside DEBUG, app sign-in is off and every token is refused.
APP_IDENTITY_KEYS = env_mapping(
    "APP_IDENTITY_KEYS",
    "demo-2026:demo-app-identity-secret-not-for-production" if DEBUG else "",
    fields=1,
)
# The longest life a token may claim (exp - iat), and the clock difference tolerated.
APP_IDENTITY_MAX_LIFETIME_SECONDS = env_int("APP_IDENTITY_MAX_LIFETIME_SECONDS", 300)
APP_IDENTITY_LEEWAY_SECONDS = env_int("APP_IDENTITY_LEEWAY_SECONDS", 30)
# This many consecutive wrong payment passwords lock the wallet.
WALLET_PASSWORD_MAX_FAILURES = env_int("WALLET_PASSWORD_MAX_FAILURES", 5)
# Risk rules on payment events; a hit freezes the wallet, opens a high-priority security
# ticket and tells the customer. RISK_RULES names the rules that are on. Amounts are in
# the wallet's currency units.
RISK_RULES = env_list(
    "RISK_RULES",
    "large_payment_without_second_factor,many_failed_payments,new_device_large_amount",
)
RISK_LARGE_PAYMENT_AMOUNT = env_int("RISK_LARGE_PAYMENT_AMOUNT", 50000)
RISK_FAILED_PAYMENTS_COUNT = env_int("RISK_FAILED_PAYMENTS_COUNT", 5)
RISK_FAILED_PAYMENTS_MINUTES = env_int("RISK_FAILED_PAYMENTS_MINUTES", 10)
RISK_NEW_DEVICE_AMOUNT = env_int("RISK_NEW_DEVICE_AMOUNT", 5000)
_KNOWN_RISK_RULES = {
    "large_payment_without_second_factor",
    "many_failed_payments",
    "new_device_large_amount",
}
if set(RISK_RULES) - _KNOWN_RISK_RULES:
    raise ImproperlyConfigured(
        f"RISK_RULES: unknown rule(s) {sorted(set(RISK_RULES) - _KNOWN_RISK_RULES)}; "
        f"known: {sorted(_KNOWN_RISK_RULES)}"
    )
# Security tickets opened by these events go to the queue with this slug, if it exists.
SECURITY_TICKET_QUEUE = env_str("SECURITY_TICKET_QUEUE", "security")
# Every log handler masks phone numbers, email addresses and ID numbers (defence in depth:
# the code masks them itself first). Handlers added below this block need it too.
LOGGING.setdefault("filters", {})["mask_personal_data"] = {
    "()": "mywallet_support.logging.MaskPersonalData"
}
for _handler in LOGGING["handlers"].values():
    _handler.setdefault("filters", []).append("mask_personal_data")

# The phone hotline (tickets.sources.phone). POST /api/calls/ takes the telephony system's
# call records with "Authorization: Bearer <TELEPHONY_API_TOKEN>" (or an API key with
# calls:write); unset, only keys get in. Bodies over TELEPHONY_MAX_BYTES are refused before
# they are read.
TELEPHONY_API_TOKEN = env_str("TELEPHONY_API_TOKEN", "")
TELEPHONY_MAX_BYTES = env_int("TELEPHONY_MAX_BYTES", 16 * 1024)
# A missed call, or a web request with no preferred time, is due this many minutes later.
TELEPHONY_CALLBACK_WITHIN_MINUTES = env_int("TELEPHONY_CALLBACK_WITHIN_MINUTES", 30)
# The customer's callback request page: requests per client address and hour.
TELEPHONY_CALLBACK_REQUESTS_PER_HOUR = env_int("TELEPHONY_CALLBACK_REQUESTS_PER_HOUR", 5)
