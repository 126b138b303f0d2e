"""Settings, read from the environment with strict parsing.

Every variable is documented in README.md. The defaults run with no services at all (SQLite file,
Celery tasks eager in-process, local-memory cache); DATABASE_URL and REDIS_URL switch on the production
stack. A malformed value is a startup error that names the variable.
"""

import os
import tempfile
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


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
if DEBUG:
    SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "testserver"]
else:
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to at least 50 random characters when DJANGO_DEBUG=false"
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
    "charity.apps.CharityConfig",
    "funds.apps.FundsConfig",
    "resources.apps.ResourcesConfig",
    "needs.apps.NeedsConfig",
    "governance.apps.GovernanceConfig",
    "volunteers.apps.VolunteersConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "charity.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
    _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and Celery -----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis:// or rediss://, not {REDIS_URL!r}")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
}

# --- auth, i18n, time -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

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
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "charity.api_common.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["charity.api_auth.PerClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env.str("API_THROTTLE_RATE", default="600/min")},
    "EXCEPTION_HANDLER": "charity.api_common.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_KEY_CUSTOM_HEADER = "HTTP_AUTHORIZATION"
SPECTACULAR_SETTINGS = {
    "TITLE": "Community Charity API",
    "DESCRIPTION": "REST API for hub organisations. Authenticate with `Authorization: Api-Key <key>`.",
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
}

# --- import / export ------------------------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- domain settings (DOMAIN.md: local practice is a setting, not a constant) ---------------------------
NAMED_FUND_MIN_FEN = env.int("NAMED_FUND_MIN_FEN", default=300_000)  # ¥3,000, the lowest local minimum
# Hosts set their own minimum (¥3,000 to ¥1,000,000 in local rules): "host name or credit code=fen,…".
NAMED_FUND_MIN_FEN_BY_HOST = {}
for _pair in filter(None, (p.strip() for p in env.str("NAMED_FUND_MIN_FEN_BY_HOST", default="").split(","))):
    _host, _sep, _fen = _pair.rpartition("=")
    if not _sep or not _host.strip() or not _fen.strip().isdigit():
        raise ImproperlyConfigured(f"NAMED_FUND_MIN_FEN_BY_HOST: expected 'host=fen' pairs, not {_pair!r}")
    NAMED_FUND_MIN_FEN_BY_HOST[_host.strip()] = int(_fen)

# --- production hardening -------------------------------------------------------------------------------
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
