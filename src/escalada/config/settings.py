"""Django settings, all read from the environment (see the README's configuration table).

Nothing here is production-only: the same settings run a laptop demo on SQLite and a
PostgreSQL cluster; only the environment differs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from escalada.config import env

DATA_DIR = env.data_dir()
SECRET_KEY = env.secret_key(DATA_DIR)
DEBUG = env.env_bool("ESCALADA_DEBUG", default=False)
ALLOWED_HOSTS = env.env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.env_list("CSRF_TRUSTED_ORIGINS", default=[])
BASE_URL = env.env_str("ESCALADA_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "ninja",
    "escalada.base",
    "escalada.audit",
    "escalada.accounts",
    "escalada.customers",
    "escalada.tickets",
    "escalada.notifications",
    "escalada.sla",
    "escalada.escalations",
    "escalada.desk",
    "escalada.insights",
]

MIDDLEWARE = [
    "escalada.config.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "escalada.config.middleware.IdempotencyMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "escalada.config.urls"
WSGI_APPLICATION = "escalada.config.wsgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "escalada.accounts.context_processors.viewer",
                "escalada.desk.context_processors.escalation_nav",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = env.env_str("DATABASE_URL", "")
    if not url:
        parsed = env.Database(engine="django.db.backends.sqlite3", name=str(DATA_DIR / "escalada.sqlite3"))
    else:
        parsed = env.parse_database_url(url)
    if parsed.engine == "django.db.backends.sqlite3":
        return {
            "ENGINE": parsed.engine,
            "NAME": parsed.name,
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
                # on the busy timeout instead of failing with "database is locked" mid-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
                ),
            },
            # Keep the connection across requests: reopening it re-runs the PRAGMAs every time.
            "CONN_MAX_AGE": env.env_int("DATABASE_CONN_MAX_AGE", default=60),
            "TEST": {"NAME": env.env_str("ESCALADA_TEST_SQLITE", "") or None},
        }
    return {
        "ENGINE": parsed.engine,
        "NAME": parsed.name,
        "USER": parsed.user,
        "PASSWORD": parsed.password,
        "HOST": parsed.host,
        "PORT": parsed.port,
        "CONN_MAX_AGE": env.env_int("DATABASE_CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        # Server-side binding lets psycopg prepare the statements each request repeats. A session
        # that sits in an open transaction longer than the timeout (a process frozen mid-claim,
        # e.g. SIGSTOP) is ended by PostgreSQL: its locks go, its stale work cannot commit.
        "OPTIONS": {
            "server_side_binding": True,
            "options": f"-c idle_in_transaction_session_timeout={env.env_int('ESCALADA_IDLE_TRANSACTION_TIMEOUT_SECONDS', default=60) * 1000}",
            **dict(parsed.options),
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "ticket-list"
LOGOUT_REDIRECT_URL = "login"

# Login rate limiting (django-axes): after 5 failures for one username from one address,
# that pair is locked out for 15 minutes.
AXES_FAILURE_LIMIT = env.env_int("ESCALADA_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.env_int("ESCALADA_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.env_bool("ESCALADA_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root before the first collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Browser libraries come from npm (package.json; `make` runs `npm ci`), never from a CDN.
# They live in the checkout's node_modules, served under static/vendor/.
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
STATICFILES_DIRS = [("vendor/tinykeys", NODE_MODULES / "tinykeys" / "dist")] if (NODE_MODULES / "tinykeys").is_dir() else []
# Serve straight from the installed packages as well, so `escalada serve` works without
# a collectstatic step; `escalada run` still collects for speed.
WHITENOISE_USE_FINDERS = True

# Request bodies above 1 MiB are refused with 413 (CSV imports get more room).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
ESCALADA_IMPORT_MAX_BYTES = env.env_int("ESCALADA_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
ESCALADA_IDEMPOTENCY_TTL = timedelta(hours=24)

# Without EMAIL_HOST, outgoing mail is written to files in <data dir>/mail instead of being
# sent, so a first start never mails the demo's made-up customers; set it to send for real.
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
EMAIL_HOST = env.env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env.env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.env_bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env.env_str("DEFAULT_FROM_EMAIL", "support@escalada.localhost")
EMAIL_TIMEOUT = env.env_int("EMAIL_TIMEOUT", default=10)
# Webhook targets inside this network (loopback, private ranges) are refused unless listed here.
ESCALADA_WEBHOOK_ALLOWED_HOSTS = env.env_list("ESCALADA_WEBHOOK_ALLOWED_HOSTS", default=[])
# The public support form: submissions per address and hour; sites that may embed it (widget).
ESCALADA_SUPPORT_FORM_PER_HOUR = env.env_int("ESCALADA_SUPPORT_FORM_PER_HOUR", default=5)
ESCALADA_WIDGET_ORIGINS = env.env_list("ESCALADA_WIDGET_ORIGINS", default=[])
# Inbound mail from a mailbox (escalada mail imap).
ESCALADA_IMAP_HOST = env.env_str("ESCALADA_IMAP_HOST", "")
ESCALADA_IMAP_PORT = env.env_int("ESCALADA_IMAP_PORT", default=993)
ESCALADA_IMAP_SSL = env.env_bool("ESCALADA_IMAP_SSL", default=True)
ESCALADA_IMAP_USER = env.env_str("ESCALADA_IMAP_USER", "")
ESCALADA_IMAP_PASSWORD = env.env_str("ESCALADA_IMAP_PASSWORD", "")
ESCALADA_IMAP_FOLDER = env.env_str("ESCALADA_IMAP_FOLDER", "INBOX")
ESCALADA_IMAP_EVERY_SECONDS = env.env_int("ESCALADA_IMAP_EVERY_SECONDS", default=60)
# A customer's mail with a line starting with this asks for an escalation (the rest is the reason).
# Reports count days in this zone (a ticket belongs to the day it was created, here).
ESCALADA_REPORT_TIME_ZONE = env.env_zone("ESCALADA_REPORT_TIME_ZONE", "UTC")
ESCALADA_ESCALATE_KEYWORD = env.env_str("ESCALADA_ESCALATE_KEYWORD", default="#escalate")
# Ladder steps overdue by more than this (after downtime) fire once, marked late, without
# replaying every missed repeat.
ESCALADA_LATE_CUTOFF_MINUTES = env.env_int("ESCALADA_LATE_CUTOFF_MINUTES", default=24 * 60)
# Shared secret for signed intake calls (POST /api/v1/intake/{channel}); empty: tokens only.
ESCALADA_INTAKE_SECRET = env.env_str("ESCALADA_INTAKE_SECRET", "")
# How long a delivery worker holds a message it is sending; after that another may send it.
ESCALADA_OUTBOX_LEASE_SECONDS = env.env_int("ESCALADA_OUTBOX_LEASE_SECONDS", default=120)

NINJA_PAGINATION_PER_PAGE = 50

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.env_str("ESCALADA_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
