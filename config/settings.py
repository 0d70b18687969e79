"""Settings for the affiliate tracking hub.

One file, read top to bottom. Every value comes from the environment with a safe
local default: SQLite and no external broker. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=false; nothing else differs.
"""

import copy
import ipaddress
from pathlib import Path

import environ

from workspaces.public_paths import SSL_REDIRECT_EXEMPT

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
if not DEBUG and SECRET_KEY.startswith("dev-only"):
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public base URL used when we print links, postback URLs and pixel tags.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "workspaces",
    "offers",
    "tracking",
    "networks",
    "payments",
    "reports",
    "cpc",
    "portal",
    "outbound",
    "risk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "workspaces.middleware.WorkspaceMiddleware",
    "workspaces.timezones.TimezoneMiddleware",
    "workspaces.error_pages.NotFoundPageMiddleware",
]
# The click redirect, postbacks and pixels use no session, login, messages, CSRF or
# workspace: they run with this shorter list (config/handlers.py).
PUBLIC_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "workspaces.context_processors.workspace",
                "reports.context_processors.pinned_reports",
                "config.db_router.replica_lag_context",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL in production (DATABASE_URL=postgres://...).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server, worker and beat share one file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if USING_POSTGRES:
    # The postback hot path (tracking/sql.py) has the server prepare its few statements
    # after this many runs on a connection; Django's own queries are never prepared.
    # Set DB_PREPARE_THRESHOLD= (empty) to turn it off, e.g. behind a PgBouncer older
    # than 1.21 in transaction mode.
    _prepare = env.str("DB_PREPARE_THRESHOLD", default="5")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = int(_prepare) if _prepare else None
    # Bounded connections: each process (a gunicorn worker, the development server with its
    # thread per request, a Celery worker process) borrows from a pool of at most
    # DB_POOL_MAX_SIZE connections for the length of a request or task. A request that finds
    # none free within DB_POOL_TIMEOUT seconds meets the database as if it were away: a
    # postback is spooled and answered 503, never a 500 (README: "Operations under faults").
    # The health check (CONN_HEALTH_CHECKS) then runs when a connection is borrowed, so one
    # that a server restart killed is replaced instead of failing a request; the engine
    # (config/postgresql/) has it make a round trip only when the server has closed or
    # written to the connection (config/db_pool.py), not on every request.
    # DB_POOL_MAX_SIZE=0 turns the pool off (behind PgBouncer, say); CONN_MAX_AGE applies then.
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=4)
    if DB_POOL_MAX_SIZE > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": min(env.int("DB_POOL_MIN_SIZE", default=1), DB_POOL_MAX_SIZE),
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
            # Connections above min_size idle this long are closed.
            "max_idle": 300,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["ENGINE"] = "config.postgresql"

# Reports may read from a streaming replica: with DATABASE_REPLICA_URL, report pages, their CSVs
# and the report API read from it (config/db_router.py); every write goes to DATABASE_URL.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_ROUTERS = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **environ.Env.db_url_config(DATABASE_REPLICA_URL),
        **{key: copy.deepcopy(DATABASES["default"][key]) for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS")},
        # Tests read the replica alias from the test database itself.
        "TEST": {"MIRROR": "default"},
    }
    if DATABASES["default"]["ENGINE"] == "config.postgresql":
        DATABASES["replica"]["ENGINE"] = "config.postgresql"  # it has the pool's options too
    DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]

# Redis is optional: it backs the cache, the Celery broker and the click buffer.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # A file cache is shared by the web server, worker and beat processes of `make run`.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache"),
        }
    }

# Every password a person sets (sign-up from an invitation, reset, change) passes these.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed sign-ins (our login page, the admin's, a wrong current password when changing it) are
# counted per account and per client IP (workspaces/login_throttle.py); a count is forgotten
# after LOGIN_LOCKOUT_SECONDS without a failure. Reaching a limit refuses every sign-in for that
# account or address, the right password included, for LOGIN_LOCKOUT_SECONDS.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("LOGIN_MAX_FAILURES_PER_ACCOUNT", default=5)
LOGIN_MAX_FAILURES_PER_IP = env.int("LOGIN_MAX_FAILURES_PER_IP", default=20)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# A password reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=2 * 60 * 60)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspaces:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email: console by default; production sets EMAIL_URL (smtp://user:pass@host:587).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hub@localhost")

# Security: production-like when DEBUG is false.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The click and postback endpoints are hit over plain HTTP by some networks' test tools.
SECURE_REDIRECT_EXEMPT = list(SSL_REDIRECT_EXEMPT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy of every page (config/csp.py): our own origin only, no inline
# script or style. Pico's icons are data: images. CSP_REPORT_URI names where browsers
# report violations; CSP_REPORT_ONLY=true reports without enforcing (to try out a change).
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if env.str("CSP_REPORT_URI", default=""):
    SECURE_CSP["report-uri"] = [env.str("CSP_REPORT_URI")]
SECURE_CSP_REPORT_ONLY = {}
if env.bool("CSP_REPORT_ONLY", default=False):
    SECURE_CSP, SECURE_CSP_REPORT_ONLY = {}, SECURE_CSP

# Celery: JSON only, late acks, bounded tasks. Without REDIS_URL the broker is a
# folder on disk, so `make run` needs no external service.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    _broker_dir = BASE_DIR / "var" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's exchange tables; without this it writes a "control" folder wherever the process starts.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="hub")
# One queue per kind of work (clicks, syncs, money; config/celery.py:route_task) instead of one for all.
SPLIT_TASK_QUEUES = env.bool("CELERY_SPLIT_QUEUES", default=False)
CELERY_TASK_ALWAYS_EAGER = False

# Fernet keys for credentials at rest, newest first; older keys still decrypt
# (rotate with `manage.py rotatekeys`). Derived from SECRET_KEY when unset.
FERNET_KEYS = env.list("FERNET_KEYS", default=[])

# Where the public endpoints keep clicks and postback/pixel hits while the database is away
# (tracking/spool.py); the web processes and the worker that replays it must share it.
SPOOL_DIR = Path(env.str("SPOOL_DIR", default="") or BASE_DIR / "var" / "spool")

# Network-facing limits.
POSTBACK_BODY_LIMIT = env.int("POSTBACK_BODY_LIMIT", default=8192)
# Retention, applied daily and by `manage.py prune` (tracking/services/retention.py); 0 keeps rows forever.
# Postback log rows older than this many days are deleted.
POSTBACK_LOG_RETENTION_DAYS = env.int("POSTBACK_LOG_RETENTION_DAYS", default=180)
# Clicks older than this (and than every offer's attribution window plus 90 days) are deleted,
# except clicks a conversion points at; report figures of those days stay in the rollups.
CLICK_RETENTION_DAYS = env.int("CLICK_RETENTION_DAYS", default=400)
# Conversion events (the ledger's outbox) older than this are dropped a month at a time once
# posted and read (PostgreSQL only).
CONVERSION_EVENT_RETENTION_DAYS = env.int("CONVERSION_EVENT_RETENTION_DAYS", default=0)
# Clicks: "direct" inserts in the request; "redis" appends to a Redis stream drained by a worker.
CLICK_BUFFER = env.str("CLICK_BUFFER", default="redis" if REDIS_URL else "direct")
# Key for hashing visitor IPs; raw IPs are never stored.
IP_HASH_KEY = env.str("IP_HASH_KEY", default=SECRET_KEY)
if CLICK_BUFFER not in ("direct", "redis") or (CLICK_BUFFER == "redis" and not REDIS_URL):
    raise environ.ImproperlyConfigured('CLICK_BUFFER must be "direct", or "redis" with REDIS_URL set')
# How many reverse proxies we sit behind; the visitor's IP is the X-Forwarded-For entry that
# many places from the right. 0 (default) uses the socket address and ignores the header.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Each web process remembers a clicked link this many seconds (0 disables): pausing an offer
# reaches running processes at most this late.
CLICK_LINK_CACHE_SECONDS = env.int("CLICK_LINK_CACHE_SECONDS", default=5)
# Outbound webhooks, member postbacks and the link monitor never call private, loopback or
# link-local addresses; these CIDR ranges are let through anyway (e.g. a staging receiver).
OUTBOUND_ALLOW_NETWORKS = env.list("OUTBOUND_ALLOW_NETWORKS", default=[])
for _net in OUTBOUND_ALLOW_NETWORKS:
    ipaddress.ip_network(_net, strict=False)  # a malformed range fails at start-up, not at delivery
# Exposes /bench/302, a bare redirect `make bench` compares the click path with. Never in production.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)

# Impact.com partner API.
IMPACT_API_BASE_URL = env.str("IMPACT_API_BASE_URL", default="https://api.impact.com").rstrip("/")
# ShareASale's legacy affiliate API (x.cfm) and its monthly request credits: a connection
# spends at most this share of the credits left on any one day.
SHAREASALE_API_BASE_URL = env.str("SHAREASALE_API_BASE_URL", default="https://api.shareasale.com").rstrip("/")
SHAREASALE_DAILY_CREDIT_SHARE = env.float("SHAREASALE_DAILY_CREDIT_SHARE", default=0.2)
if not 0 < SHAREASALE_DAILY_CREDIT_SHARE <= 1:
    raise environ.ImproperlyConfigured("SHAREASALE_DAILY_CREDIT_SHARE must be above 0 and at most 1 (e.g. 0.2)")
# Awin Publisher API (where upgraded ShareASale publishers are).
AWIN_API_BASE_URL = env.str("AWIN_API_BASE_URL", default="https://api.awin.com").rstrip("/")
# PayPal Payouts API.
PAYPAL_API_BASE_URL = env.str("PAYPAL_API_BASE_URL", default="https://api-m.sandbox.paypal.com").rstrip("/")
PAYPAL_CLIENT_ID = env.str("PAYPAL_CLIENT_ID", default="")
PAYPAL_CLIENT_SECRET = env.str("PAYPAL_CLIENT_SECRET", default="")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["workspaces.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["workspaces.api_auth.HasWorkspaceKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "workspaces.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "workspaces.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_LIMIT", default="600/minute")},
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Affiliate tracking hub API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get components of their own, which state what input must be (non-blank names).
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "workspaces.schema.describe_api",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
