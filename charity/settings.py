"""Settings, read from the environment with strict parsing.

Every variable is documented in README.md. The defaults run with no services at all (SQLite file,
Celery tasks eager in-process, local-memory cache); DATABASE_URL and REDIS_URL switch on the production
stack. A malformed value is a startup error that names the variable.
"""

import base64
import datetime
import hashlib
import os
import re
import tempfile
from pathlib import Path

import environ
from celery.schedules import crontab
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from charity import crypto as _crypto

BASE_DIR = Path(__file__).resolve().parent.parent


_RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")


class _StrictEnv(environ.Env):
    """django-environ with booleans that must be spelled out and errors that name the variable."""

    TRUE = ("true", "1", "yes", "on")
    FALSE = ("false", "0", "no", "off", "")

    def bool(self, var, default=environ.Env.NOTSET):
        raw = self.str(var, default=None if default is environ.Env.NOTSET else str(default))
        if raw is None:
            raise ImproperlyConfigured(f"Set the {var} environment variable")
        value = raw.strip().lower()
        if value in self.TRUE:
            return True
        if value in self.FALSE:
            return False
        raise ImproperlyConfigured(f"{var} must be true or false, not {raw!r}")

    def int(self, var, default=environ.Env.NOTSET):
        raw = self.str(var, default=None if default is environ.Env.NOTSET else str(default))
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(f"{var} must be a whole number, not {raw!r}")

    def rate(self, var, default):
        """A request rate as DRF reads it: "600/min", "10/s", "5000/hour", "20000/day"."""
        raw = self.str(var, default=default).strip()
        number, sep, period = raw.partition("/")
        if not (sep and number.isdigit() and int(number) > 0 and period in _RATE_PERIODS):
            raise ImproperlyConfigured(
                f"{var} must be a rate like 600/min (a positive number per s, min, hour or day), not {raw!r}"
            )
        return raw

    def choice(self, var, default, choices):
        raw = self.str(var, default=default).strip()
        if raw not in choices:
            raise ImproperlyConfigured(f"{var} must be one of {', '.join(choices)}, not {raw!r}")
        return raw

    def url_setting(self, var, parse):
        raw = self.str(var, default="")
        if not raw:
            return None
        try:
            return parse(raw)
        except Exception as exc:  # django-environ raises several kinds for a malformed URL
            raise ImproperlyConfigured(f"{var} is not a valid URL: {exc}")


env = _StrictEnv()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = [h.strip() for h in env.str("ALLOWED_HOSTS", default="").split(",") if h.strip()]
# Published in this repository: it signs nothing that matters, so production refuses it.
_DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
# Encryption at rest of sensitive fields (charity.crypto): comma-separated Fernet keys, the first encrypts.
# A malformed key stops the app here with a message naming the variable; production needs its own keys.
_field_keys = env.str("FIELD_ENCRYPTION_KEYS", default="")
if not _field_keys.strip() and DEBUG:
    _field_keys = _crypto.DEVELOPMENT_KEY
elif not _field_keys.strip():
    raise ImproperlyConfigured(
        "Set FIELD_ENCRYPTION_KEYS (Fernet keys, comma-separated) when DJANGO_DEBUG=false"
    )
FIELD_ENCRYPTION_KEYS = _crypto.parse_keys(_field_keys)
if not DEBUG and _crypto.DEVELOPMENT_KEY in FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS holds the repository's development key: set your own when DJANGO_DEBUG=false"
    )

if DEBUG:
    SECRET_KEY = SECRET_KEY or _DEVELOPMENT_SECRET_KEY
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]
else:
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to at least 50 random characters when DJANGO_DEBUG=false"
        )
    if SECRET_KEY.strip() == _DEVELOPMENT_SECRET_KEY or SECRET_KEY.strip().startswith("django-insecure"):
        raise ImproperlyConfigured(
            "SECRET_KEY is the repository's development key or a 'django-insecure' one: "
            "set a new random key when DJANGO_DEBUG=false"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_DEBUG=false")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "treebeard",
    "axes",
    "csp",
    "charity.apps.CharityConfig",
    "funds.apps.FundsConfig",
    "resources.apps.ResourcesConfig",
    "needs.apps.NeedsConfig",
    "governance.apps.GovernanceConfig",
    "volunteers.apps.VolunteersConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "charity.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "charity.middleware.StaffSessionIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "charity.middleware.NotFoundPageMiddleware",
    # Last: turns a log-in refused for too many failures into the lock-out page (charity.auth).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "charity.urls"
WSGI_APPLICATION = "charity.wsgi.application"
ASGI_APPLICATION = "charity.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------------------
SQLITE_PATH = env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
_db = env.url_setting("DATABASE_URL", env.db_url_config)
if _db is None:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # Concurrent API clients on the embedded default: WAL lets readers run beside the writer,
            # IMMEDIATE makes a writing transaction take the write lock at BEGIN (so two writers queue
            # on busy_timeout instead of failing with "database is locked" when upgrading a read lock).
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
                ),
            },
            # A file, not memory: tests of concurrent clients need real connections to one database.
            # One file per test process, so that two test runs on one machine never share it.
            "TEST": {
                "NAME": env.str("SQLITE_TEST_PATH", default="")
                or os.path.join(tempfile.gettempdir(), f"charity-test-{os.getpid()}.sqlite3")
            },
        }
    }
else:
    if not _db.get("ENGINE", "").endswith("postgresql"):  # an unknown scheme parses to {}
        raise ImproperlyConfigured(
            "DATABASE_URL must be a postgres:// URL (PostgreSQL is the production database)"
        )
    # Connections (docs/database.md): by default each request opens one and closes it at its end, which is
    # safe under any server — a threaded one (runserver, gunicorn --threads) keeps a connection per thread
    # otherwise, and runs PostgreSQL out of slots. DATABASE_POOL_SIZE > 0 uses psycopg's pool
    # instead (at most that many connections per process); DATABASE_CONN_MAX_AGE keeps connections open
    # that many seconds (for gunicorn's sync workers: one connection per worker).
    _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
    _pool_size = env.int("DATABASE_POOL_SIZE", default=0)
    if _pool_size < 0 or _db["CONN_MAX_AGE"] < 0:
        raise ImproperlyConfigured("DATABASE_POOL_SIZE and DATABASE_CONN_MAX_AGE must be 0 or more")
    if _pool_size:
        if _db["CONN_MAX_AGE"]:
            raise ImproperlyConfigured(
                "DATABASE_POOL_SIZE and DATABASE_CONN_MAX_AGE exclude each other: set one of them to 0"
            )
        _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": _pool_size, "timeout": 10}
    else:
        _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and Celery -----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis:// or rediss://, not {REDIS_URL!r}")
if REDIS_URL:
    # Django's Redis cache with one client per pool, not one per call (charity/cache_backends.py).
    CACHES = {"default": {"BACKEND": "charity.cache_backends.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Public pages served from the cache to anonymous visitors (charity/public_pages.py, docs/performance.md).
# Every change recorded in the audit log throws the pages it alters away at once; this is only how long an
# untouched page lives. Without Redis each process has its own cache and so its own view of the changes:
# a page then lives one second, so that every worker shows a change within a second. 0 turns caching off.
PUBLIC_PAGE_CACHE_SECONDS = env.int("PUBLIC_PAGE_CACHE_SECONDS", default=300 if REDIS_URL else 1)
if PUBLIC_PAGE_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("PUBLIC_PAGE_CACHE_SECONDS must be 0 (off) or a number of seconds")
PUBLIC_PAGE_CACHE_PREFIX = "public"
# How long an organisation key's API answer is kept (charity/public_pages.py, cached_api_read); 0: never.
API_CACHE_SECONDS = env.int("API_CACHE_SECONDS", default=PUBLIC_PAGE_CACHE_SECONDS)
if API_CACHE_SECONDS < 0:
    raise ImproperlyConfigured(f"API_CACHE_SECONDS must be 0 or more, not {API_CACHE_SECONDS}")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_ENABLE_UTC = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "verify-ledger-nightly": {
        "task": "funds.tasks.verify_ledger_nightly",
        "schedule": crontab(hour=2, minute=30),
    },
    "purge-idempotency-records-hourly": {
        "task": "charity.tasks.purge_idempotency_records",
        "schedule": crontab(minute=15),
    },
    "purge-codes-and-messages-hourly": {
        "task": "charity.tasks.purge_codes_and_messages",
        "schedule": crontab(minute=45),
    },
    "expire-needs-daily": {
        "task": "needs.tasks.expire_needs",
        "schedule": crontab(hour=0, minute=20),
    },
    "mark-overdue-loans-daily": {
        "task": "resources.tasks.mark_overdue_loans",
        "schedule": crontab(hour=8, minute=0),
    },
    "expire-exchange-items-daily": {
        "task": "resources.tasks.expire_exchange_items",
        "schedule": crontab(hour=0, minute=30),
    },
    "expire-signup-offers": {
        "task": "volunteers.tasks.expire_signup_offers",
        "schedule": crontab(minute="*/15"),
    },
    # Allocation deadlines (docs/allocation.md): a vote closes and a notice ends within ten minutes of
    # their time; the overdue-report flag is a daily look, told to the committee in the morning.
    "close-due-votes": {
        "task": "governance.tasks.close_due_votes",
        "schedule": crontab(minute="*/10"),
    },
    "end-due-notices": {
        "task": "governance.tasks.end_due_notices",
        "schedule": crontab(minute="5-59/10"),
    },
    "flag-overdue-reports-daily": {
        "task": "governance.tasks.flag_overdue_reports",
        "schedule": crontab(hour=8, minute=10),
    },
    # Need–resource matching (docs/matching.md): one task per district, then the city-wide remainder.
    "match-needs-nightly": {
        "task": "needs.tasks.run_nightly_matching",
        "schedule": crontab(hour=2, minute=0),
    },
    # Webhook notices whose retry is overdue (a worker died, the broker was down): docs/webhooks.md.
    "send-due-webhooks": {
        "task": "needs.tasks.send_due_webhooks",
        "schedule": crontab(minute="*/5"),
    },
    # Action items of coordination meetings: overdue ones marked and their owners told, long-overdue ones
    # escalated a level up, before the working day starts (docs/coordination.md).
    "chase-action-items-daily": {
        "task": "governance.tasks.chase_action_items",
        "schedule": crontab(hour=7, minute=0),
    },
}

# --- auth, i18n, time -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The database store, refusing a session key Django could not have issued (a NUL byte broke PostgreSQL).
SESSION_ENGINE = "charity.sessions"
# A staff member's session ends after this long without a request (charity.middleware); residents keep
# Django's default of two weeks.
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=1800)
if STAFF_SESSION_IDLE_SECONDS < 60:
    raise ImproperlyConfigured(
        f"STAFF_SESSION_IDLE_SECONDS must be at least 60, not {STAFF_SESSION_IDLE_SECONDS}"
    )
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"
# Axes first: it refuses a locked-out log-in before any password is checked. Residents log in with their
# mobile number (looked up on Person), staff with their username (docs/accounts.md).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "charity.auth.MobileOrUsernameBackend",
]
# Behind N proxies of our own, the client's address is the N-th from the right of X-Forwarded-For;
# 0 trusts REMOTE_ADDR (the embedded default, no proxy). Log-in lock-outs and code limits count per address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Brute force (django-axes): after LOGIN_FAILURE_LIMIT failures for one account, or from one address, log-in
# is refused for LOGIN_LOCKOUT_MINUTES, on the portal and in the admin alike.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # "locked for 15 minutes" means 15 minutes
AXES_USERNAME_CALLABLE = "charity.auth.axes_username"
AXES_CLIENT_IP_CALLABLE = "charity.auth.client_ip"
AXES_LOCKOUT_CALLABLE = "charity.auth.lockout_response"
AXES_VERBOSE = False
# No axes pages in the admin: untranslated, unscoped, and full of addresses. A superuser lifts a lock with
# `manage.py axes_reset_username <account>` or `axes_reset_ip <address>` (docs/accounts.md).
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True  # the audit log records log-ins; no second, unbounded list of them
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "mobile",
    "code",
    "old_password",
    "new_password1",
    "new_password2",
    "password1",
    "password2",
]


def _rate_limits(var: str, default: str) -> list[tuple[int, datetime.timedelta]]:
    """Parse "3/10m,10/1d" into [(3, 10 minutes), (10, 1 day)]; units s, m, h, d."""
    raw = env.str(var, default=default)
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    limits = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        match = re.fullmatch(r"(\d+)/(\d*)([smhd])", part)
        if not match or int(match[1]) < 1:
            raise ImproperlyConfigured(f"{var}: expected limits like '3/10m,10/1d', not {part!r}")
        limits.append((int(match[1]), datetime.timedelta(**{units[match[3]]: int(match[2] or 1)})))
    return limits


# One-time codes prove a mobile number (sign-up, password reset): their lifetime, the wrong attempts one code
# allows, and how many may be requested per number and per address (every window must be met).
ONE_TIME_CODE_LIFETIME = datetime.timedelta(minutes=env.int("ONE_TIME_CODE_LIFETIME_MINUTES", default=10))
ONE_TIME_CODE_MAX_ATTEMPTS = env.int("ONE_TIME_CODE_MAX_ATTEMPTS", default=5)
ONE_TIME_CODE_LIMITS_PER_NUMBER = _rate_limits("ONE_TIME_CODE_LIMITS_PER_NUMBER", "3/10m,10/1d")
ONE_TIME_CODE_LIMITS_PER_ADDRESS = _rate_limits("ONE_TIME_CODE_LIMITS_PER_ADDRESS", "10/1h")
# Messages to residents (docs/messages.md): the backend that sends them, and how long the outbox keeps them.
MESSAGE_BACKEND = env.str("MESSAGE_BACKEND", default="charity.messaging.LogBackend")
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=30)
# The version of the privacy notice (/privacy/) a resident agrees to at sign-up: change it with the text.
PRIVACY_NOTICE_VERSION = "2026-01"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- static files (served by the app itself: no CDN) ---------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- request limits -------------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
MAX_REQUEST_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
# An import file may be larger than an API body.
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=10_485_760)

# --- REST API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "charity.api_auth.OrganizationAPIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["charity.api_auth.IsStaffOrOrganizationKey"],
    "DEFAULT_FILTER_BACKENDS": ["charity.api_filters.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "charity.api_common.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["charity.api_auth.PerClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env.rate("API_THROTTLE_RATE", default="600/min")},
    "EXCEPTION_HANDLER": "charity.api_common.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "charity.api_schema.ApiSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only (a form-encoded body is 415), at most 32 levels deep, no lone surrogates (docs/api.md).
    "DEFAULT_PARSER_CLASSES": ["charity.api_parsers.StrictJSONParser"],
    # OPTIONS points at the schema instead of describing the read serializer as the request body.
    "DEFAULT_METADATA_CLASS": "charity.api_parsers.MinimalMetadata",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"
SPECTACULAR_SETTINGS = {
    "TITLE": "Community Charity API",
    "DESCRIPTION": (
        "REST API for hub organisations. Authenticate with `Authorization: Api-Key <key>`; a key acts for "
        "its organisation in the areas it serves, and anything outside them answers like something that "
        "does not exist (404, or an empty list).\n\n"
        "Requests and answers are JSON (`application/json` only). Every error is "
        '`{"code", "message", "fields"?}`: `code` is stable, `message` follows `Accept-Language` '
        "(`zh-hans`, `en`). Money is an integer number of fen (1 yuan = 100 fen). Ids are JSON integers in "
        "bodies and digits in paths and query strings; a query parameter given empty is 400. Lists take "
        "`page` and `page_size` (1–500). Every POST takes an `Idempotency-Key` header. Receipt numbers, "
        "purposes and keys are normalised (NFKC, invisible characters removed) before they are compared."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Api-Key <your key>",
            }
        }
    },
    "SECURITY": [{"ApiKeyAuth": []}, {"cookieAuth": []}],
    # Enums whose field names other apps use too ("status", "kind"): named after their model.
    "ENUM_NAME_OVERRIDES": {
        "NeedStatusEnum": "needs.models.Need.Status",
        "NeedSubKindEnum": "needs.models.Need.SubKind",
        "NeedUrgencyEnum": "needs.models.Need.Urgency",
        "NeedSourceEnum": "needs.models.Need.Source",
        "LegalBasisEnum": "needs.models.NeedSensitiveDetails.LegalBasis",
        "ConsentGivenByEnum": "needs.models.NeedSensitiveDetails.GivenBy",
        # A fund's kind and status, named apart from a resource's (resources registry).
        "FundKindEnum": "funds.models.Fund.Kind",
        "FundStatusEnum": "funds.models.Fund.Status",
        "ResourceKindEnum": "resources.models.Resource.Kind",
        "ResourceStatusEnum": "resources.models.Resource.Status",
        "ResourceReachEnum": "resources.models.Resource.Reach",
        # An event's kind and status, and a sign-up's status (volunteers/api/events.py).
        "EventKindEnum": "volunteers.models.Event.Kind",
        "EventStatusEnum": "volunteers.models.Event.Status",
        "SignupStatusEnum": "volunteers.models.Signup.Status",
        # A residents' topic's category and its public statuses (hidden is never in an answer).
        "TopicCategoryEnum": "governance.models.Topic.Category",
        "TopicStatusEnum": "governance.api_topics.PUBLIC_STATUSES",
    },
}

# --- import / export ------------------------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Formula injection: a cell starting with =, +, -, @ is written as text (the hook is implemented by the export
# formats in charity/admin_export.py); a control character an XLSX cell cannot hold is replaced, not a 500.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
# An uploaded import file waits for its confirmation in the cache for half an hour, never in the temporary
# folder (charity/spreadsheets.py); with several web processes the cache must be shared (Redis).
IMPORT_EXPORT_TMP_STORAGE_CLASS = "charity.spreadsheets.ImportFileStorage"
# Rows (besides the header) one donation statement may hold: it is streamed and written in batches
# (docs/performance.md, "Statement import").
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# Rows one admin import (django-import-export: people, organisations…) may hold: it holds the whole sheet
# and imports row by row within the request, so it keeps the lower limit.
ADMIN_IMPORT_MAX_ROWS = env.int("ADMIN_IMPORT_MAX_ROWS", default=5000)
for _name, _rows in (("IMPORT_MAX_ROWS", IMPORT_MAX_ROWS), ("ADMIN_IMPORT_MAX_ROWS", ADMIN_IMPORT_MAX_ROWS)):
    if _rows < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1, not {_rows}")

# --- domain settings (DOMAIN.md: local practice is a setting, not a constant) ---------------------------
NAMED_FUND_MIN_FEN = env.int("NAMED_FUND_MIN_FEN", default=300_000)  # ¥3,000, the lowest local minimum
# Hosts set their own minimum (¥3,000 to ¥1,000,000 in local rules): "host name or credit code=fen,…".
NAMED_FUND_MIN_FEN_BY_HOST = {}
for _pair in filter(None, (p.strip() for p in env.str("NAMED_FUND_MIN_FEN_BY_HOST", default="").split(","))):
    _host, _sep, _fen = _pair.rpartition("=")
    if not _sep or not _host.strip() or not _fen.strip().isdigit():
        raise ImproperlyConfigured(f"NAMED_FUND_MIN_FEN_BY_HOST: expected 'host=fen' pairs, not {_pair!r}")
    NAMED_FUND_MIN_FEN_BY_HOST[_host.strip()] = int(_fen)

# Volunteers (DOMAIN.md "Volunteers"; VR, PIPL art. 31): under GUARDIAN_CONSENT_AGE a guardian consents;
# under ACCOMPANIED_AGE a child takes part only with an adult; under MIN_AGE not at all (local practice).
VOLUNTEER_GUARDIAN_CONSENT_AGE = env.int("VOLUNTEER_GUARDIAN_CONSENT_AGE", default=14)
VOLUNTEER_ACCOMPANIED_AGE = env.int("VOLUNTEER_ACCOMPANIED_AGE", default=10)
VOLUNTEER_MIN_AGE = env.int("VOLUNTEER_MIN_AGE", default=6)
if not 0 <= VOLUNTEER_MIN_AGE <= VOLUNTEER_ACCOMPANIED_AGE <= VOLUNTEER_GUARDIAN_CONSENT_AGE <= 18:
    raise ImproperlyConfigured(
        "Volunteer ages: need 0 <= VOLUNTEER_MIN_AGE <= VOLUNTEER_ACCOMPANIED_AGE <= "
        "VOLUNTEER_GUARDIAN_CONSENT_AGE <= 18"
    )
# Proposal attachments (quotes, plans, minutes, receipts, photos) are kept in the database, at most this size.
PROPOSAL_ATTACHMENT_MAX_BYTES = env.int("PROPOSAL_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
if PROPOSAL_ATTACHMENT_MAX_BYTES < 1024:
    raise ImproperlyConfigured("PROPOSAL_ATTACHMENT_MAX_BYTES must be at least 1024")
# An action item overdue by this many days is escalated one level up (community → street → district → city),
# and again each time this many more days pass without it being done (governance/meetings.py).
ACTION_ITEM_ESCALATE_DAYS = env.int("ACTION_ITEM_ESCALATE_DAYS", default=14)
if ACTION_ITEM_ESCALATE_DAYS < 1:
    raise ImproperlyConfigured(
        f"ACTION_ITEM_ESCALATE_DAYS must be at least 1, not {ACTION_ITEM_ESCALATE_DAYS}"
    )
# Residents' topics (governance/topics.py): what one resident may write, against floods, not opinions.
TOPICS_PER_DAY = env.int("TOPICS_PER_DAY", default=3)
TOPIC_COMMENTS_PER_HOUR = env.int("TOPIC_COMMENTS_PER_HOUR", default=10)
if TOPICS_PER_DAY < 1 or TOPIC_COMMENTS_PER_HOUR < 1:
    raise ImproperlyConfigured("TOPICS_PER_DAY and TOPIC_COMMENTS_PER_HOUR must be at least 1")
# A waiting-list place promoted to an offered place must be confirmed within this many hours.
SIGNUP_OFFER_HOURS = env.int("SIGNUP_OFFER_HOURS", default=24)
# The CJK font embedded in certificate PDFs (volunteers/certificates.py): any TrueType/OpenType file or
# collection pango reads; the image installs fonts-noto-cjk (Dockerfile).
CERTIFICATE_FONT_PATH = env.str(
    "CERTIFICATE_FONT_PATH", default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
)
if SIGNUP_OFFER_HOURS < 1:
    raise ImproperlyConfigured(f"SIGNUP_OFFER_HOURS must be at least 1, not {SIGNUP_OFFER_HOURS}")
# Nightly need–resource matching (needs/matching_run.py, docs/matching.md): the best k candidate resources
# kept per need (and needs per resource) before solving; a run still "running" after this many minutes is
# taken for one whose worker died, and no longer keeps another run of its area from starting.
MATCHING_K = env.int("MATCHING_K", default=10)
if not 1 <= MATCHING_K <= 100:
    raise ImproperlyConfigured(f"MATCHING_K must be between 1 and 100, not {MATCHING_K}")
MATCHING_STALE_MINUTES = env.int("MATCHING_STALE_MINUTES", default=30)
if MATCHING_STALE_MINUTES < 1:
    raise ImproperlyConfigured(f"MATCHING_STALE_MINUTES must be at least 1, not {MATCHING_STALE_MINUTES}")
# Webhooks of hub organisations (needs/webhooks.py, docs/webhooks.md): attempts per notice before it is
# marked failed (retries after 1 min, 5 min, 30 min, 2 h, then every 12 h), seconds one attempt may take.
# http:// addresses and hosts on private, loopback or link-local networks are refused unless allowed (tests,
# a receiver on the same private network): the platform must not be made to post into its own network.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
if not 1 <= WEBHOOK_MAX_ATTEMPTS <= 20:
    raise ImproperlyConfigured(f"WEBHOOK_MAX_ATTEMPTS must be between 1 and 20, not {WEBHOOK_MAX_ATTEMPTS}")
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=5)
if not 1 <= WEBHOOK_TIMEOUT_SECONDS <= 30:
    raise ImproperlyConfigured(
        f"WEBHOOK_TIMEOUT_SECONDS must be between 1 and 30, not {WEBHOOK_TIMEOUT_SECONDS}"
    )
WEBHOOK_ALLOW_INSECURE = env.bool("WEBHOOK_ALLOW_INSECURE", default=False)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)

# --- production hardening -------------------------------------------------------------------------------


def _script_hash(code: str) -> str:
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    return f"'sha256-{digest}'"


# Content-Security-Policy on every response (django-csp): only this site's own files run or load, no inline
# script runs, no other site frames a page. Two exceptions, for the admin's libraries: style attributes
# (never <style> elements), and the one event handler django-import-export's export page writes inline
# (allowed by its hash). Images may be data: URLs (the admin's and Swagger UI's icons). docs/hardening.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "script-src-attr": [csp.UNSAFE_HASHES, _script_hash("onSelectToggleChange(event)")],
        "style-src": [csp.SELF],
        "style-src-attr": [csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "form-action": [csp.SELF],
    }
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env.str("CSRF_TRUSTED_ORIGINS", default="").split(",") if o.strip()
]
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Residents' mobile numbers are masked in every request log line (charity/logsafety.py): the development
# server's access log and Django's request errors here, gunicorn's access log through gunicorn.conf.py.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_mobiles": {"()": "charity.logsafety.MaskMobileFilter"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_mobiles"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "loggers": {
        # Filters on the loggers themselves mask a record before any handler (or a test's) sees it.
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["mask_mobiles"],
        },
        "django.request": {"filters": ["mask_mobiles"]},
        # WeasyPrint reports each step of laying out a certificate PDF at INFO: noise, not news.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
    "root": {
        "handlers": ["console"],
        "level": env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
}
