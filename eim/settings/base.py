"""Settings for every environment; production differs only by environment variables.

Nothing set: the embedded default (SQLite under var/, in-memory channel layer, a filesystem
Celery broker with a real worker process). With DATABASE_URL and REDIS_URL: PostgreSQL,
channels-redis and a Redis broker, the same code.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("EIM_VAR_DIR") or BASE_DIR / "var")

env = environ.Env()

# The embedded default's own settings: `make run` (deploy/run.py) writes var/local.env once,
# with a generated secret key and health token and EIM_DEBUG=true, so that every documented
# command works in a fresh clone. Read only on the embedded default (no DATABASE_URL): a server
# on PostgreSQL never picks up a development file. Values already in the environment win.
LOCAL_ENV_FILE = VAR_DIR / "local.env"
if (
    not os.environ.get("DATABASE_URL")
    and env.bool("EIM_READ_LOCAL_ENV", default=True)
    and LOCAL_ENV_FILE.is_file()
):
    environ.Env.read_env(LOCAL_ENV_FILE)

DEBUG = env.bool("EIM_DEBUG", default=False)
# A production secret has no default: set EIM_SECRET_KEY or set EIM_DEBUG=true for development.
SECRET_KEY = env.str("EIM_SECRET_KEY", default="") or (
    "insecure-development-key-never-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("EIM_SECRET_KEY must be set when EIM_DEBUG is off")

ALLOWED_HOSTS = env.list("EIM_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
if "*" in ALLOWED_HOSTS:
    # The WebSocket origin check derives from ALLOWED_HOSTS; "*" would accept any origin.
    raise environ.ImproperlyConfigured("EIM_ALLOWED_HOSTS must name hosts, never '*'")
CSRF_TRUSTED_ORIGINS = env.list("EIM_CSRF_TRUSTED_ORIGINS", default=[])
# /healthz shows its details (checks, archive, index) only to `Authorization: Bearer` this
# token; unset, everyone gets the status alone (eim/health.py).
EIM_HEALTH_TOKEN = env.str("EIM_HEALTH_TOKEN", default="")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (the CSP)
    "auditlog",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "allauth.mfa",
    "audit",
    "accounts",
    "accounts.scim",
    "accounts.sso",
    "eim.chat",
    "archive",
    "compliance",
    "auditor",
    "compliance.export",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # /scim/ (bearer tokens only) leaves the chain here: accounts/scim/middleware.py.
    "accounts.scim.middleware.scim_bearer_only",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.sso.middleware.mfa_required",
    "axes.middleware.AxesMiddleware",
]

# Password sign-in (the sign-in page and Django's admin) is throttled by django-axes: after
# EIM_LOGIN_FAILURE_LIMIT wrong passwords in a row for one username from one address, that pair
# is refused (HTTP 429) for EIM_LOGIN_COOLOFF_MINUTES. Keyed on both, so nobody can lock a
# colleague out from elsewhere; a success resets the count. Every attempt is logged.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("EIM_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("EIM_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.locked_out"

# Single sign-on and MFA (django-allauth; accounts/sso/, docs/identity.md). Providers are the
# IdentityProvider rows, bridged into allauth by the adapter (docs/adr/0008-sso-provider-bridge.md).
# A person is (issuer, subject): allauth's e-mail matching, signup and e-mail flows are all off.
ACCOUNT_ADAPTER = "accounts.sso.adapter.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "accounts.sso.adapter.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Wrong passwords are throttled by django-axes (above), one count for every password path; the
# MFA codes by allauth's own limits (mfa rate limits stay at their defaults).
ACCOUNT_RATE_LIMITS = {"login_failed": False}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "accounts.sso.oidc.OpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
    },
    "saml": {"provider_class": "accounts.sso.saml.SAMLProvider"},
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = env.str("EIM_MFA_ISSUER", default="eim")
# A code typed as its 30 s step ends still signs in during the next step (RFC 6238 section 5.2:
# one step of grace for the delay between phone and server). allauth remembers each code used
# for the whole window, so a code still signs in only once.
MFA_TOTP_TOLERANCE = 1
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# Who may still sign in with a local password: "everyone", or "privileged" (only holders of
# administrator, compliance officer or auditor: break-glass accounts, with MFA).
EIM_LOCAL_SIGN_IN = env.str("EIM_LOCAL_SIGN_IN", default="everyone")
if EIM_LOCAL_SIGN_IN not in {"everyone", "privileged"}:
    raise environ.ImproperlyConfigured("EIM_LOCAL_SIGN_IN must be 'everyone' or 'privileged'")
# SAML: the clock skew allowed on NotBefore / NotOnOrAfter, in seconds (at most 180).
EIM_SAML_CLOCK_SKEW_SECONDS = min(env.int("EIM_SAML_CLOCK_SKEW_SECONDS", default=120), 180)
# OIDC: the leeway on exp / iat, in seconds; an ID token issued longer ago than the max age
# is refused even if it has not expired.
EIM_OIDC_LEEWAY_SECONDS = min(env.int("EIM_OIDC_LEEWAY_SECONDS", default=60), 180)
EIM_OIDC_ID_TOKEN_MAX_AGE_SECONDS = env.int("EIM_OIDC_ID_TOKEN_MAX_AGE_SECONDS", default=600)
# How long an issuer's JWKS is kept; a token naming a key id not in it fetches it again
# (key rotation), at most once per EIM_OIDC_JWKS_REFETCH_SECONDS for one unknown key id.
EIM_OIDC_JWKS_CACHE_SECONDS = env.int("EIM_OIDC_JWKS_CACHE_SECONDS", default=3600)
EIM_OIDC_JWKS_REFETCH_SECONDS = env.int("EIM_OIDC_JWKS_REFETCH_SECONDS", default=10)
# Requests per client address per window (seconds) to the SSO sign-in endpoints together (the
# provider's redirect, the OIDC callback, the SAML ACS); a sign-in makes two. Generous, since
# a whole office may share one address.
EIM_SSO_RATE = env.str("EIM_SSO_RATE", default="300/60")

ROOT_URLCONF = "eim.urls"
ASGI_APPLICATION = "eim.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # allauth's layout, overridden (its app comes before ours in INSTALLED_APPS).
        "DIRS": [BASE_DIR / "accounts" / "sso" / "allauth_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    if env.str("DATABASE_URL", default=""):
        config = env.db("DATABASE_URL")
        if env.bool("EIM_DB_POOL", default=True):
            # A pool, not persistent connections: under ASGI every sync_to_async call would
            # otherwise open a new PostgreSQL session (one per chat message).
            config.setdefault("OPTIONS", {})["pool"] = {
                "min_size": env.int("EIM_DB_POOL_MIN", default=2),
                "max_size": env.int("EIM_DB_POOL_MAX", default=20),
                "timeout": 10,
            }
        else:
            config["CONN_MAX_AGE"] = env.int("EIM_DB_CONN_MAX_AGE", default=0)
            config["CONN_HEALTH_CHECKS"] = True
        return config
    VAR_DIR.mkdir(exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "eim.sqlite3",
        "OPTIONS": {
            # IMMEDIATE makes concurrent writers queue instead of failing with "locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
# On PostgreSQL, DATABASE_URL is the application's role, which may only add to the append-only
# tables; DATABASE_OWNER_URL (read by deploy/release.py alone) migrates and grants. A process
# whose role could change those tables refuses to start when EIM_DEBUG is off, unless this is
# set (docs/database-roles.md).
EIM_ALLOW_PRIVILEGED_DATABASE_ROLE = env.bool("EIM_ALLOW_PRIVILEGED_DATABASE_ROLE", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    # Pub/sub: a group send is one PUBLISH, and each server fans it out to its own sockets
    # (the list-based layer pushes, and each server pops, one copy per socket). Pub/sub
    # channels are not per Redis db: deployments sharing a server need their own prefix.
    # Lossy like any layer; sockets recover from the outbox (docs/chat.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # socket_timeout=None: an idle reader must not be dropped (channels_redis#422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": env.str("EIM_CHANNEL_PREFIX", default="eim"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("EIM_CACHE_PREFIX", default="eim"),
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": env.int("EIM_BROKER_VISIBILITY_TIMEOUT", default=7200),
        # Only the redelivery fault tests set this: it lets a worker start with a short timeout.
        "unsafe_short_timeout": env.bool("EIM_BROKER_UNSAFE_SHORT_TIMEOUT", default=False),
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast exchanges' tables; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# The archive has workers of its own: a backlog of search indexing, or an hour-long
# verification, must never hold up archiving (deploy/Procfile, docs/archive.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Checkpoint signing has a queue of its own, so that a deployment can give the private key to
# that one worker and no other process (docs/archive.md, "Signing key custody").
CELERY_TASK_ROUTES = {
    "archive.archive_pending": {"queue": "archive"},
    "archive.sweep": {"queue": "archive"},
    "archive.checkpoint": {"queue": "signing"},
    "audit.checkpoint": {"queue": "signing"},
    # An export's manifest is signed with the archive's key, so by the signer alone.
    "compliance.export_sign": {"queue": "signing"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "presence-sessions-expire": {"task": "chat.presence_sessions_expire", "schedule": 60.0},
    "staged-attachments-discard": {"task": "chat.staged_attachments_discard", "schedule": 3600.0},
    "archive-sweep": {"task": "archive.sweep", "schedule": 2.0},
    "archive-checkpoint": {"task": "archive.checkpoint", "schedule": 300.0},
    # Signs only when due (EIM_AUDIT_CHECKPOINT_EVERY, EIM_AUDIT_CHECKPOINT_INTERVAL).
    "audit-checkpoint": {"task": "audit.checkpoint", "schedule": 30.0},
    "archive-verify": {"task": "archive.verify", "schedule": 3600.0},
    "audit-verify": {"task": "audit.verify", "schedule": 3600.0},
    # The full verification, every record and blob: weekly, Sunday 02:30 UTC.
    "archive-verify-full": {
        "task": "archive.verify_full",
        "schedule": crontab(minute=30, hour=2, day_of_week="sun"),
    },
    "search-index-sweep": {"task": "compliance.index_sweep", "schedule": 5.0},
    "scan-sweep": {"task": "compliance.scan_sweep", "schedule": 5.0},
    "search-rewrite-sweep": {"task": "compliance.search_rewrite_sweep", "schedule": 30.0},
    "review-claims-expire": {"task": "compliance.review_claims_expire", "schedule": 60.0},
    "notify-email-sweep": {"task": "compliance.notify_email", "schedule": 60.0},
    "review-sample": {"task": "compliance.review_sample", "schedule": crontab(minute=15, hour=0)},
    "role-requests-expire": {"task": "accounts.role_requests_expire", "schedule": 600.0},
    "role-mappings-reconcile": {"task": "accounts.role_mappings_reconcile", "schedule": 900.0},
    "export-sweep": {"task": "compliance.export_sweep", "schedule": 30.0},
    "sso-assertions-forget": {"task": "sso.assertions_forget", "schedule": 3600.0},
    # Barrier violations that slipped past the checks (a join racing an activation, a lost
    # group hook): one aggregate query per policy in force (docs/barriers.md).
    "barrier-sweep": {"task": "chat.barrier_sweep", "schedule": 600.0},
}

# How long a request for a role under four eyes waits for a second administrator's approval.
EIM_ROLE_APPROVAL_TTL_HOURS = env.int("EIM_ROLE_APPROVAL_TTL_HOURS", default=72)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env.str("EIM_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Evidence exports (docs/export.md); S3 in production through django-storages' backend.
    "exports": {
        "BACKEND": env.str(
            "EIM_EXPORT_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json(
            "EIM_EXPORT_STORAGE_OPTIONS",
            default={
                "location": env.str("EIM_EXPORT_ROOT", default=str(VAR_DIR / "exports")),
                "allow_overwrite": True,  # a redone step rewrites its files in one call
            },
        ),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Sessions are read from the cache (Redis) and written through to the database: a page or a
# sign-in step no longer reads its session row (bench/identity.py). Sessions still end by the
# user's session hash (accounts.models.User), never by deleting rows, so a cache that still
# holds a session cannot keep it alive; a flushed cache falls back to the database.
SESSION_ENGINE = env.str("EIM_SESSION_ENGINE", default="django.contrib.sessions.backends.cached_db")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("EIM_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): the pages load only their own scripts, styles and
# images and talk only to their own origin (the socket included), so an injected <script>,
# inline handler or style, or a form posting elsewhere does nothing. Message HTML is also
# sanitised server-side (eim/chat/rendering.py); this is the second wall.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "eim.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "eim.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "eim API",
    "DESCRIPTION": (
        "Enterprise instant messaging: chat, archive and compliance. Sign in with "
        "`Authorization: Bearer <token>` (`python manage.py create_token USERNAME`). Every "
        'refusal is `{"code", "detail"}` (plus `fields` for invalid input). Live events '
        "come over the WebSocket at `/ws/`: see docs/protocol.md."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A conversation member's "role" (owner, member) is another enum than an account's role.
    "ENUM_NAME_OVERRIDES": {
        "AccountRoleEnum": "accounts.models.Role",
        "MembershipRoleEnum": [("owner", "owner"), ("member", "member")],
    },
}
# Every API token expires this many days after it is made (docs/access.md).
EIM_API_TOKEN_TTL_DAYS = env.int("EIM_API_TOKEN_TTL_DAYS", default=90)
if EIM_API_TOKEN_TTL_DAYS < 1:
    raise environ.ImproperlyConfigured("EIM_API_TOKEN_TTL_DAYS must be at least 1")
KNOX_TOKEN_MODEL = "knox.AuthToken"  # noqa: S105 - a model; named for the migrations
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(days=EIM_API_TOKEN_TTL_DAYS),
    "AUTO_REFRESH": False,
}

# Chat limits: every one is enforced in the services, so the REST API and the socket agree.
# How often each process looks for a newer version of the workspace settings (seconds).
EIM_WORKSPACE_SETTINGS_CHECK_SECONDS = env.float(
    "EIM_WORKSPACE_SETTINGS_CHECK_SECONDS", default=2.0
)
EIM_MAX_MESSAGE_CHARS = env.int("EIM_MAX_MESSAGE_CHARS", default=10_000)
EIM_MAX_FRAME_BYTES = env.int("EIM_MAX_FRAME_BYTES", default=64 * 1024)
EIM_MAX_ATTACHMENT_BYTES = env.int("EIM_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
EIM_SEND_RATE = env.str("EIM_SEND_RATE", default="20/10")  # messages / seconds, per user
# Every edit is a permanent archive record, and every reaction one too.
EIM_EDIT_RATE = env.str("EIM_EDIT_RATE", default="10/60")  # edits / seconds, per user
EIM_REACTION_RATE = env.str("EIM_REACTION_RATE", default="30/60")  # reactions / seconds
EIM_SYNC_PAGE = env.int("EIM_SYNC_PAGE", default=500)
# How long a socket waits for a live frame that another overtook before reading it from the
# outbox (eim/chat/consumers.py); a frame the channel layer lost is late by this much.
EIM_GAP_WAIT_MS = env.int("EIM_GAP_WAIT_MS", default=150)
# How often an open socket re-checks that its user, token or session still holds, should the
# close sent when access ends be lost by the channel layer (docs/access.md). Every frame the
# client sends is checked too.
EIM_SOCKET_ACCESS_CHECK_SECONDS = env.float("EIM_SOCKET_ACCESS_CHECK_SECONDS", default=30.0)
if EIM_SOCKET_ACCESS_CHECK_SECONDS <= 0:
    raise environ.ImproperlyConfigured("EIM_SOCKET_ACCESS_CHECK_SECONDS must be positive")
# How often each chat server checks, in one query, the API tokens of all its open sockets, and
# closes those whose token ended (eim/chat/sign_in_watch.py): the bound when a close is lost.
EIM_SOCKET_TOKEN_CHECK_SECONDS = env.float("EIM_SOCKET_TOKEN_CHECK_SECONDS", default=1.0)
if EIM_SOCKET_TOKEN_CHECK_SECONDS <= 0:
    raise environ.ImproperlyConfigured("EIM_SOCKET_TOKEN_CHECK_SECONDS must be positive")
# The chat server's garbage collector (eim/asgi.py): CPython's thresholds for generations
# 0, 1 and 2. Its defaults (700, 10, 10) stop a server holding 1,000 sockets for 150 ms.
EIM_SERVER_GC_THRESHOLD = tuple(
    int(n) for n in env.list("EIM_SERVER_GC_THRESHOLD", default=["10000", "10", "10"])
)
# Handshakes a chat server process works on at once (eim/chat/admission.py); the others wait
# their turn in arrival order. Daphne must let them wait: see `--websocket_connect_timeout` in
# deploy/Procfile (docs/chat.md, "Sizing").
EIM_HANDSHAKES_IN_FLIGHT = env.int("EIM_HANDSHAKES_IN_FLIGHT", default=16)
if EIM_HANDSHAKES_IN_FLIGHT < 1:
    raise environ.ImproperlyConfigured("EIM_HANDSHAKES_IN_FLIGHT must be at least 1")
# Threads per chat server process for the socket's database work (eim/chat/db_threads.py);
# keep EIM_DB_POOL_MAX above it. One on SQLite. On 2 cores 2 did best (docs/performance.md).
EIM_SERVER_DB_THREADS = env.int("EIM_SERVER_DB_THREADS", default=2)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# SCIM provisioning (docs/scim.md): requests per token per window, and the largest body (a
# PATCH of 10,000 members is about 250 KB). Okta and Entra ID back off on 429 + Retry-After.
EIM_SCIM_RATE = env.str("EIM_SCIM_RATE", default="2000/10")
EIM_SCIM_MAX_BODY_BYTES = env.int("EIM_SCIM_MAX_BODY_BYTES", default=1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

AUDITLOG_INCLUDE_ALL_MODELS = False

# Archive. The signing key has no production default (see archive/signing.py).
EIM_ARCHIVE_SIGNING_KEY = env.str("EIM_ARCHIVE_SIGNING_KEY", default="")
EIM_ARCHIVE_SIGNING_KEY_FILE = env.str("EIM_ARCHIVE_SIGNING_KEY_FILE", default="")
EIM_ARCHIVE_DEVELOPMENT_KEY = env.bool("EIM_ARCHIVE_DEVELOPMENT_KEY", default=False)
# The current signing key's public half: what our own verification checks signatures with
# (the private key stays with the signer).
EIM_ARCHIVE_PUBLIC_KEY = env.str("EIM_ARCHIVE_PUBLIC_KEY", default="")
EIM_ARCHIVE_PUBLIC_KEY_FILE = env.str("EIM_ARCHIVE_PUBLIC_KEY_FILE", default="")
# Public keys (PEM blocks) of signing keys retired by a rotation: their checkpoints still verify.
EIM_ARCHIVE_RETIRED_PUBLIC_KEYS_FILE = env.str("EIM_ARCHIVE_RETIRED_PUBLIC_KEYS_FILE", default="")
EIM_ARCHIVE_BATCH = env.int("EIM_ARCHIVE_BATCH", default=500)
EIM_ARCHIVE_CHECKPOINT_EVERY = env.int("EIM_ARCHIVE_CHECKPOINT_EVERY", default=1000)
EIM_ARCHIVE_SWEEP_AFTER = env.float("EIM_ARCHIVE_SWEEP_AFTER", default=5.0)  # seconds
if env.str("EIM_ARCHIVE_S3_BUCKET", default=""):
    EIM_ARCHIVE_BLOB_STORE: dict = {
        "BACKEND": "archive.blobs.S3ObjectLockBlobStore",
        "OPTIONS": {
            "bucket": env.str("EIM_ARCHIVE_S3_BUCKET"),
            "endpoint_url": env.str("EIM_ARCHIVE_S3_ENDPOINT", default="") or None,
            "retention_days": env.int("EIM_ARCHIVE_RETENTION_DAYS", default=6 * 366),
        },
    }
else:
    EIM_ARCHIVE_BLOB_STORE = {
        "BACKEND": "archive.blobs.FilesystemBlobStore",
        "OPTIONS": {"root": env.str("EIM_ARCHIVE_BLOB_ROOT", default=str(VAR_DIR / "archive"))},
    }

# Witnesses: append-only stores outside the database that keep a copy of every signed
# checkpoint (ledger/witness.py, docs/archive.md). Put the directory on a volume the database
# host cannot write; add the S3 Object Lock bucket in production, and any further directories.
EIM_WITNESSES: list[dict] = [
    {
        "BACKEND": "ledger.witness.DirectoryWitness",
        "OPTIONS": {"root": root},
    }
    for root in [
        env.str("EIM_ARCHIVE_WITNESS_DIR", default=str(VAR_DIR / "witness")),
        *env.list("EIM_ARCHIVE_WITNESS_EXTRA_DIRS", default=[]),
    ]
]
if env.str("EIM_ARCHIVE_WITNESS_S3_BUCKET", default=""):
    EIM_WITNESSES.append(
        {
            "BACKEND": "ledger.witness.S3ObjectLockWitness",
            "OPTIONS": {
                "bucket": env.str("EIM_ARCHIVE_WITNESS_S3_BUCKET"),
                "endpoint_url": env.str("EIM_ARCHIVE_S3_ENDPOINT", default="") or None,
                "retention_days": env.int("EIM_ARCHIVE_RETENTION_DAYS", default=6 * 366),
            },
        }
    )
# Seconds a new checkpoint may wait for its witness copies before verification reports it.
EIM_ARCHIVE_WITNESS_GRACE = env.float("EIM_ARCHIVE_WITNESS_GRACE", default=900.0)
# Seconds records may go without a newer checkpoint before verification reports it stale.
EIM_ARCHIVE_CHECKPOINT_MAX_AGE = env.float("EIM_ARCHIVE_CHECKPOINT_MAX_AGE", default=1800.0)
# Audit checkpoints (audit/checkpoints.py), signed with the archive's key and kept by the same
# witnesses: one when this many events await a checkpoint, or when the oldest of them has waited
# this many seconds; verification reports events left without one longer than the bound.
EIM_AUDIT_CHECKPOINT_EVERY = env.int("EIM_AUDIT_CHECKPOINT_EVERY", default=1000)
EIM_AUDIT_CHECKPOINT_INTERVAL = env.float("EIM_AUDIT_CHECKPOINT_INTERVAL", default=300.0)
EIM_AUDIT_CHECKPOINT_MAX_AGE = env.float("EIM_AUDIT_CHECKPOINT_MAX_AGE", default=1800.0)
# Older records the hourly incremental verification re-verifies, a different window each hour.
EIM_ARCHIVE_VERIFY_WINDOW = env.int("EIM_ARCHIVE_VERIFY_WINDOW", default=100_000)
# Records per committed step of a full verification in steps (it resumes from the last one).
EIM_ARCHIVE_VERIFY_STEP = env.int("EIM_ARCHIVE_VERIFY_STEP", default=200_000)
# The verifying host's own record of a run's steps, outside the database: only steps it agrees
# with are resumed from.
EIM_ARCHIVE_VERIFY_STATE = env.str(
    "EIM_ARCHIVE_VERIFY_STATE", default=str(VAR_DIR / "archive-verify-state.json")
)
# Hourly runs in one rotation of the older attachments: each blob is re-hashed once per cycle.
EIM_ARCHIVE_BLOB_ROTATION = env.int("EIM_ARCHIVE_BLOB_ROTATION", default=168)

# Compliance search. With ELASTICSEARCH_URL the index lives in Elasticsearch (behind the alias
# EIM_SEARCH_INDEX_ALIAS); without it, PostgreSQL full-text search (or the simple SQLite search).
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
EIM_SEARCH_INDEX_ALIAS = env.str("EIM_SEARCH_INDEX_ALIAS", default="eim-messages")
EIM_SEARCH_INDEX_BATCH = env.int("EIM_SEARCH_INDEX_BATCH", default=500)  # archive records
EIM_SEARCH_TIMEOUT_MS = env.int("EIM_SEARCH_TIMEOUT_MS", default=10_000)  # one search, at most

# Content scanning (docs/scanning.md). A process re-reads the policy set's version at most this
# often at send time (a policy change reaches every server within it); "auto" uses Hyperscan
# when installed, else the pure-Python fallback ("hyperscan" / "fallback" force one).
EIM_SCAN_POLICY_CHECK_SECONDS = env.float("EIM_SCAN_POLICY_CHECK_SECONDS", default=1.0)
# Chat servers and Celery workers compile the policy set as they start (not in the first send).
EIM_SCAN_WARM_UP = env.bool("EIM_SCAN_WARM_UP", default=True)
EIM_SCAN_ENGINE = env.str("EIM_SCAN_ENGINE", default="auto")
EIM_SCAN_BATCH = env.int("EIM_SCAN_BATCH", default=500)  # archive records per transaction
# A search rewrite after a review change not done after this long is the sweeper's to do.
EIM_SEARCH_REWRITE_GRACE_SECONDS = env.int("EIM_SEARCH_REWRITE_GRACE_SECONDS", default=30)
EIM_REVIEW_CLAIM_MINUTES = env.int("EIM_REVIEW_CLAIM_MINUTES", default=30)
# A policy's notify action also e-mails the reviewers when this sender address is set, through
# Django's mail backend (EMAIL_BACKEND, EMAIL_HOST...); the link in the mail starts with
# EIM_PUBLIC_URL. The e-mail names the policy and links the item, never the message's text.
EIM_NOTIFY_EMAIL_FROM = env.str("EIM_NOTIFY_EMAIL_FROM", default="")
EIM_PUBLIC_URL = env.str("EIM_PUBLIC_URL", default="http://localhost:8000")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
# Attachments' text: limits of the extraction (a file past one gets a "could not scan" flag).
EIM_SCAN_ATTACHMENT_MAX_BYTES = env.int("EIM_SCAN_ATTACHMENT_MAX_BYTES", default=20 * 2**20)
EIM_SCAN_ATTACHMENT_MAX_PAGES = env.int("EIM_SCAN_ATTACHMENT_MAX_PAGES", default=200)
EIM_SCAN_ATTACHMENT_MAX_CHARS = env.int("EIM_SCAN_ATTACHMENT_MAX_CHARS", default=2_000_000)
EIM_SCAN_ATTACHMENT_SECONDS = env.int("EIM_SCAN_ATTACHMENT_SECONDS", default=20)
EIM_SCAN_ATTACHMENT_MEMORY_MB = env.int("EIM_SCAN_ATTACHMENT_MEMORY_MB", default=512)
# Evidence export (docs/export.md): archive records per resumable step (half a block of the
# archive's prover, archive.proofs.PROVER_BLOCK: a dense scope's steps tile its blocks), how
# long a finished export is kept, and after how many seconds without a beat a running job is
# resumed elsewhere.
EIM_EXPORT_CHUNK = env.int("EIM_EXPORT_CHUNK", default=2048)
EIM_EXPORT_RETENTION_DAYS = env.int("EIM_EXPORT_RETENTION_DAYS", default=30)
EIM_EXPORT_STALE_AFTER = env.float("EIM_EXPORT_STALE_AFTER", default=120.0)
# PDF transcripts are laid out in this many child processes (one core each; 0 or 1: in the
# worker itself). Each holds WeasyPrint and one document, about 150-250 MB.
EIM_EXPORT_PDF_WORKERS = env.int("EIM_EXPORT_PDF_WORKERS", default=min(4, os.cpu_count() or 1))
# A job's record steps, then its RSMF files, are written in this many child processes (0 or
# 1: in the worker itself), when at least EIM_EXPORT_PARALLEL_FROM records are left (a child
# costs about a second of start-up). Each child holds one step, a few tens of MB. See
# docs/export.md.
EIM_EXPORT_WORKERS = env.int("EIM_EXPORT_WORKERS", default=min(4, os.cpu_count() or 1))
EIM_EXPORT_PARALLEL_FROM = env.int("EIM_EXPORT_PARALLEL_FROM", default=50_000)
# The children's steps are committed together at most this often (seconds; 0: each step on
# its own): a commit is a durable transaction, and one per step held the worker back.
EIM_EXPORT_COMMIT_EVERY = env.float("EIM_EXPORT_COMMIT_EVERY", default=0.5)
# A scope of whole conversations (no query, no chosen messages, no context) is read from the
# archive by conversation and seq, with no row written per record; False freezes every scope
# as rows (ExportRecord), as before. See docs/export.md, "Scopes of whole conversations".
EIM_EXPORT_CONVERSATION_SCOPES = env.bool("EIM_EXPORT_CONVERSATION_SCOPES", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("EIM_LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
