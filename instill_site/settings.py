"""Settings for Pipeline, driven by environment variables.

The defaults run one machine with nothing configured: SQLite in ``PIPELINE_DATA_DIR``,
the in-memory channel layer and the in-process executor. Scale-out is a matter of
setting ``DATABASE_URL``, ``REDIS_URL`` and ``PIPELINE_EXECUTOR=celery``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


PIPELINE_DATA_DIR = Path(os.environ.get("PIPELINE_DATA_DIR", BASE_DIR / "data")).resolve()

DEBUG = env_bool("DEBUG", False)
# A fresh checkout must run with no variables set; the key is then made once and kept
# in the data dir so sessions and encrypted secrets survive restarts.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    _key_file = PIPELINE_DATA_DIR / "secret_key"
    try:
        SECRET_KEY = _key_file.read_text().strip()
    except FileNotFoundError:
        import secrets as _secrets

        PIPELINE_DATA_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = _secrets.token_urlsafe(50)
        _key_file.write_text(SECRET_KEY)
        _key_file.chmod(0o600)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# No "daphne" app: it only replaces runserver, and it imports daphne's server (Twisted,
# autobahn, pyOpenSSL: ~16 MB) into every process that sets Django up, run workers
# included. `manage.py serve` imports daphne itself, before anything touches the reactor.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "pipelines.static_app.StaticFilesConfig",  # django.contrib.staticfiles, ignoring unused apps' files
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "pipelines",
]

# Django's own middleware, as subclasses that skip a thread hop per hook under ASGI
# (see pipelines/middleware.py); behaviour is the same.
MIDDLEWARE = [
    "pipelines.api.middleware.RequestLimitMiddleware",
    "pipelines.middleware.SecurityMiddleware",
    "pipelines.middleware.SessionMiddleware",
    "pipelines.middleware.CommonMiddleware",
    "pipelines.middleware.CsrfViewMiddleware",
    "pipelines.middleware.AuthenticationMiddleware",
    "pipelines.middleware.MessageMiddleware",
    "pipelines.middleware.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "instill_site.urls"
ASGI_APPLICATION = "instill_site.asgi.application"
WSGI_APPLICATION = None

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
                "pipelines.context_processors.ui",
            ],
        },
    },
]

_default_db = f"sqlite:///{PIPELINE_DATA_DIR / 'pipeline.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE avoids "database is locked"
    # upgrades mid-transaction; synchronous=NORMAL is durable across process crashes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = None
    # Tests use a file too: an in-memory shared-cache database has table locks that
    # ignore busy_timeout, which the executor thread and request threads would trip on.
    DATABASES["default"]["TEST"] = {"NAME": str(PIPELINE_DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py serve` collects static/ (and the apps' files: Swagger UI) here at start-up:
# content-hashed names and gzip copies (pipelines/staticfiles.py), served with a
# ten-year immutable cache lifetime. With DEBUG they are served from static/ as they are.
STATIC_ROOT = Path(os.environ.get("PIPELINE_STATIC_ROOT", PIPELINE_DATA_DIR / "static")).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "pipelines.staticfiles.Storage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# The web UI's 403 page for a failed CSRF check, instead of Django's bare one.
CSRF_FAILURE_VIEW = "pipelines.views.errors.csrf_failure"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # A follower slower than a token stream loses messages past capacity; it re-reads
    # them from the run event log (pipelines.realtime), so the cap only bounds memory.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "pipelines.realtime.LoopSafeInMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }

CACHES: dict[str, dict[str, Any]] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "pipelines.api.auth.TokenAuthentication",
        "pipelines.api.auth.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["pipelines.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "pipelines.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Pipeline API",
    "DESCRIPTION": "Run data/AI pipelines on trigger. Compatible with Instill Core's v1beta public API.",
    "VERSION": "v1beta",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    # Response shapes are built by functions in api/serializers.py, not serializers.
    "DISABLE_ERRORS_AND_WARNINGS": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pipelines.api.schema.add_trigger_paths",
    ],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "uvicorn": {"level": "WARNING"},
        # One line per outbound request is noise in logs and test failures.
        "httpx": {"level": "WARNING"},
    },
}

# --- Pipeline ---------------------------------------------------------------------
PIPELINE_ADMIN_USER = os.environ.get("PIPELINE_ADMIN_USER", "admin")
PIPELINE_ADMIN_PASSWORD = os.environ.get("PIPELINE_ADMIN_PASSWORD", "password")
# Whether anyone may create an account from the sign-up page (the admin can always
# create users with `manage.py create_user`).
PIPELINE_SIGNUP_ENABLED = env_bool("PIPELINE_SIGNUP_ENABLED", True)
PIPELINE_MAX_REQUEST_BYTES = env_int("PIPELINE_MAX_REQUEST_BYTES", 32 * 1024 * 1024)
PIPELINE_MAX_BATCH_SIZE = 32
# Largest gRPC message, in and out (RESOURCE_EXHAUSTED over it); the SDK sends up to 32 MB.
PIPELINE_GRPC_MAX_MESSAGE_BYTES = env_int("PIPELINE_GRPC_MAX_MESSAGE_BYTES", 64 * 1024 * 1024)
# request.body refuses more than this too (413), whatever the Content-Length said.
DATA_UPLOAD_MAX_MEMORY_SIZE = PIPELINE_MAX_REQUEST_BYTES
PIPELINE_EXECUTOR = os.environ.get("PIPELINE_EXECUTOR", "inprocess")
PIPELINE_WORKER_CONCURRENCY = env_int("PIPELINE_WORKER_CONCURRENCY", 4)
PIPELINE_ENGINE_CONCURRENCY = env_int("PIPELINE_ENGINE_CONCURRENCY", 16)
PIPELINE_HTTP_ALLOWED_HOSTS = env_list("PIPELINE_HTTP_ALLOWED_HOSTS", [])
PIPELINE_HTTP_TIMEOUT = env_int("PIPELINE_HTTP_TIMEOUT", 30)
# The directory the `sql` component's SQLite databases live in (setup engine SQLite,
# database-name a file name in it); empty: SQLite is refused.
PIPELINE_SQL_SQLITE_DIR = os.environ.get("PIPELINE_SQL_SQLITE_DIR", "").strip()
# Fernet key for secrets at rest; derived from SECRET_KEY when not given.
PIPELINE_SECRETS_KEY = os.environ.get("PIPELINE_SECRETS_KEY", "")
# Threads for the async paths' database work (pipelines/aio.py): more than the cores
# only adds GIL hand-offs, and SQLite has one writer anyway.
PIPELINE_DB_THREADS = env_int("PIPELINE_DB_THREADS", 2)
# Processes `serve` starts to execute plain sync triggers beside the web server
# (pipelines/run_worker.py); 0 runs them in the web process. A worker exists to put
# another core to work: by default there is none when this process may use only one CPU
# (taskset, a cpuset), where it would add two process hops to every trigger and ~30 %
# less throughput (benchmarks/README.md, peers.py).
_USABLE_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
PIPELINE_RUN_WORKERS = env_int("PIPELINE_RUN_WORKERS", 1 if _USABLE_CPUS > 1 else 0)
# HTTP server processes `serve` runs on its one port (`serve --workers`; docs/scaling.md),
# under one parent that supervises them. With more than one, each runs its sync triggers
# itself unless run workers are asked for (--run-workers or PIPELINE_RUN_WORKERS).
PIPELINE_SERVE_WORKERS = env_int("PIPELINE_SERVE_WORKERS", 1)
# The ASGI server `serve` runs the application on: "uvicorn" (uvloop + httptools +
# websockets) or "daphne" (Channels' reference server). `serve --server` overrides it.
PIPELINE_SERVER = os.environ.get("PIPELINE_SERVER", "uvicorn").strip().lower()
# On uvicorn, a request's head (request line and headers) must have arrived this many
# seconds after its first byte; a client trickling one (slowloris) is disconnected.
PIPELINE_HTTP_HEAD_TIMEOUT_SECONDS = env_int("PIPELINE_HTTP_HEAD_TIMEOUT_SECONDS", 60)
# With SQLite, the trigger hot path reads and writes on the event loop itself when that
# can never wait (pipelines/loop_sqlite.py); off: always through those threads.
PIPELINE_LOOP_SQLITE = env_bool("PIPELINE_LOOP_SQLITE", True)
# Token-authenticated JSON triggers skip the browser-session middleware and Django's
# per-request thread hops (pipelines/asgi.py, TriggerLane); off: the full request cycle.
PIPELINE_TRIGGER_LANE = env_bool("PIPELINE_TRIGGER_LANE", True)
# A run longer than this is stopped and fails (per-pipeline override: Pipeline.max_run_seconds).
PIPELINE_MAX_RUN_SECONDS = env_int("PIPELINE_MAX_RUN_SECONDS", 3600)
# A PROCESSING run whose executor has not written a heartbeat for this long is taken
# as interrupted (its process died) and failed or handed to another worker.
PIPELINE_RUN_HEARTBEAT_SECONDS = env_int("PIPELINE_RUN_HEARTBEAT_SECONDS", 5)
PIPELINE_RUN_STALE_SECONDS = env_int("PIPELINE_RUN_STALE_SECONDS", 30)
PIPELINE_IDEMPOTENCY_SECONDS = env_int("PIPELINE_IDEMPOTENCY_SECONDS", 24 * 3600)
# How long deleting a pipeline waits for its cancelled runs to be recorded as such.
PIPELINE_DELETE_WAIT_SECONDS = env_int("PIPELINE_DELETE_WAIT_SECONDS", 10)

# --- Input limits: what every request meets at the door (docs/input-limits.md) --------
# Levels of nested lists/objects in a JSON body (trigger, API, multipart JSON fields,
# run forms) and in a recipe; deeper answers 400. JSON bodies stop at 1024 whatever this says.
PIPELINE_MAX_JSON_DEPTH = env_int("PIPELINE_MAX_JSON_DEPTH", 100)
# Largest recipe in bytes, as sent and again once YAML aliases are expanded (400 over it).
PIPELINE_MAX_RECIPE_BYTES = env_int("PIPELINE_MAX_RECIPE_BYTES", 1024 * 1024)

# --- Celery (PIPELINE_EXECUTOR=celery) ------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "redis://localhost:6379/0"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("PIPELINE_CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Files in the run history: up to this size inline (data URI in the database), larger
# ones under PIPELINE_DATA_DIR/run-files; deleted after the retention period.
PIPELINE_RUN_FILE_INLINE_BYTES = env_int("PIPELINE_RUN_FILE_INLINE_BYTES", 64 * 1024)
PIPELINE_RUN_FILE_RETENTION_DAYS = env_int("PIPELINE_RUN_FILE_RETENTION_DAYS", 7)
# Comment line sent on an idle server-sent-events stream, so proxies keep it open.
PIPELINE_SSE_HEARTBEAT_SECONDS = float(os.environ.get("PIPELINE_SSE_HEARTBEAT_SECONDS", "15"))
# The chat demo's model server (pipelines/demo.py): OpenAI-compatible, a local Ollama
# by default; empty installs no chat demo. Its host:port (that port only) passes the
# outbound guard for the `openai` component only (PIPELINE_LLM_ALLOWED_HOSTS), because
# a model server on this machine or the LAN is the point — the `http` component, which
# could call any path of it (Ollama's model management, say), stays refused there.
PIPELINE_LLM_ALLOWED_HOSTS = env_list("PIPELINE_LLM_ALLOWED_HOSTS", [])
PIPELINE_DEMO_OPENAI_BASE_URL = os.environ.get("PIPELINE_DEMO_OPENAI_BASE_URL", "http://localhost:11434/v1").strip()
PIPELINE_DEMO_OPENAI_MODEL = os.environ.get("PIPELINE_DEMO_OPENAI_MODEL", "llama3.2")
# The embedding model of the `rag` demo, installed when PIPELINE_CHROMA_BASE_URL is set too.
PIPELINE_DEMO_OPENAI_EMBEDDING_MODEL = os.environ.get("PIPELINE_DEMO_OPENAI_EMBEDDING_MODEL", "nomic-embed-text")
if PIPELINE_DEMO_OPENAI_BASE_URL:
    from urllib.parse import urlsplit as _urlsplit

    _llm = _urlsplit(PIPELINE_DEMO_OPENAI_BASE_URL)
    if _llm.hostname:
        _llm_host = f"[{_llm.hostname}]" if ":" in _llm.hostname else _llm.hostname
        _llm_port = _llm.port or (443 if _llm.scheme == "https" else 80)
        PIPELINE_LLM_ALLOWED_HOSTS = [*PIPELINE_LLM_ALLOWED_HOSTS, f"{_llm_host}:{_llm_port}"]

# Platform keys (docs/configuration.md, pipelines/engine/platform.py): the server's own
# key and endpoint per AI component type, PIPELINE_<VENDOR>_API_KEY and
# PIPELINE_<VENDOR>_BASE_URL (PIPELINE_OPENAI_API_KEY, PIPELINE_MISTRAL_AI_BASE_URL ...),
# for recipes that say `api-key: ${secret.INSTILL_SECRET}` or give no setup. Read for
# every component type that takes an api-key, so a new vendor component needs no
# setting of its own here.
PIPELINE_PLATFORM_SETTINGS = {
    name: value.strip()
    for name, value in os.environ.items()
    if re.fullmatch(r"PIPELINE_[A-Z0-9_]+_(?:API_KEY|BASE_URL)", name) and value.strip()
}
globals().update(PIPELINE_PLATFORM_SETTINGS)

# The Trigger Snippet's address for this server ("https://pipeline.example.com"); empty:
# the scheme and host the browser used. Its gRPC snippets use that host and this port.
PIPELINE_PUBLIC_URL = os.environ.get("PIPELINE_PUBLIC_URL", "")
PIPELINE_GRPC_PORT = env_int("PIPELINE_GRPC_PORT", 8081)

# --- Hardening: throttles, rate limits, security headers (docs/hardening.md) -----------
# Counters of failed sign-ins and of API calls. Without Redis they live in this
# process's memory: auth happens in `serve` (its run workers never see a request), so
# one `serve` counts exactly; scaled out (`serve --workers` too, where each process counts
# on its own), REDIS_URL makes every process share them.
CACHES["limits"] = (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "pipeline-limits"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pipeline-limits",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
)
# Failed sign-ins (login page, Basic auth on REST and gRPC) allowed per window, per
# username and per client address; over it: 429 with Retry-After until the window ends.
PIPELINE_LOGIN_FAILURES_PER_USER = env_int("PIPELINE_LOGIN_FAILURES_PER_USER", 10)
PIPELINE_LOGIN_FAILURES_PER_ADDRESS = env_int("PIPELINE_LOGIN_FAILURES_PER_ADDRESS", 50)
PIPELINE_LOGIN_FAILURE_WINDOW_SECONDS = env_int("PIPELINE_LOGIN_FAILURE_WINDOW_SECONDS", 300)
# Basic credentials that verified are not hashed again for this long (0: every call
# hashes), in a per-process LRU of at most this many entries (pipelines/basic_cache.py).
PIPELINE_BASIC_AUTH_CACHE_SECONDS = env_int("PIPELINE_BASIC_AUTH_CACHE_SECONDS", 300)
PIPELINE_BASIC_AUTH_CACHE_ENTRIES = env_int("PIPELINE_BASIC_AUTH_CACHE_ENTRIES", 1024)
# Requests per API token (per user for Basic and browser sessions) as "N/second|minute|
# hour|day"; empty: no limit and no cost. Triggers on every transport count against
# PIPELINE_RATE_LIMIT_TRIGGERS (and per pipeline, whoever calls, against
# PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS); the other API calls against PIPELINE_RATE_LIMIT_API.
PIPELINE_RATE_LIMIT_TRIGGERS = os.environ.get("PIPELINE_RATE_LIMIT_TRIGGERS", "").strip()
PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS = os.environ.get("PIPELINE_RATE_LIMIT_PIPELINE_TRIGGERS", "").strip()
PIPELINE_RATE_LIMIT_API = os.environ.get("PIPELINE_RATE_LIMIT_API", "").strip()
# Strings longer than this in run lists (REST runs and component-runs lists) are cut,
# with a marker naming the run's URL for the whole value.
PIPELINE_LIST_VALUE_CHARS = env_int("PIPELINE_LIST_VALUE_CHARS", 1024)
# HTTPS deployments: cookies only over HTTPS, and Strict-Transport-Security for this
# many seconds (subdomains included).
PIPELINE_SECURE_COOKIES = env_bool("PIPELINE_SECURE_COOKIES", False)
PIPELINE_HSTS_SECONDS = env_int("PIPELINE_HSTS_SECONDS", 0)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PIPELINE_SECURE_COOKIES
SECURE_HSTS_SECONDS = PIPELINE_HSTS_SECONDS
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Behind a reverse proxy: take the client's address from X-Forwarded-For (the sign-in
# throttle counts per address) and HTTPS from X-Forwarded-Proto (HSTS is only sent on
# HTTPS requests). Only when the proxy overwrites both headers: a client sets them too.
PIPELINE_TRUST_PROXY_HEADERS = env_bool("PIPELINE_TRUST_PROXY_HEADERS", False)
if PIPELINE_TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Pages load scripts and styles from this server only: no inline script or style, no
# eval (htmx's is off in base.html). Files are shown from data:/blob: URLs. Sent with
# HTML answers (pipelines.middleware.ContentSecurityPolicyMiddleware).
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
MIDDLEWARE.insert(
    MIDDLEWARE.index("pipelines.middleware.SecurityMiddleware") + 1,
    "pipelines.middleware.ContentSecurityPolicyMiddleware",
)
SILENCED_SYSTEM_CHECKS = [
    # Django looks for its own middleware paths; ours are subclasses of them
    # (pipelines/middleware.py), which pipelines/checks.py verifies instead, along with
    # the HTTPS settings those checks would have asked for.
    "security.W001",
    "security.W002",
    "security.W003",
]
# The schema is generated and checked by its own tests; the deploy check would build it
# again on every `check --deploy` and report its style notes as deployment warnings.
SPECTACULAR_SETTINGS["ENABLE_DJANGO_DEPLOY_CHECK"] = False
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["pipelines.api.throttles.ApiRateThrottle"]

# --- Runaway work (docs/execution.md) ---------------------------------------------------
# Processes per server process (serve, each run worker, each Celery worker process) that
# run CPU-bound component tasks (jq, documents, images, chunking), killed and replaced
# when a run is cancelled or over its time limit; started on the first such task.
PIPELINE_TASK_PROCESSES = env_int("PIPELINE_TASK_PROCESSES", 2)
# Most elements one iterator may have; a longer one fails its component before it starts.
PIPELINE_MAX_ITERATIONS = env_int("PIPELINE_MAX_ITERATIONS", 10_000)
