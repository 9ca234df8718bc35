"""Settings for the trust center, in one module, driven by environment variables.

Every variable read here is documented in `.env.example`. With nothing set the
project runs in development mode on an embedded SQLite file under `var/`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from trustcenter.logcontext import LOG_FORMATS, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)  # home of the embedded SQLite file and private uploads

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# "development" (the default) or "production". Production turns on every
# safety that development relaxes, and refuses to start when unsafe.
ENVIRONMENT = env.str("TRUSTCENTER_ENV", default="development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("TRUSTCENTER_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # Debug pages show settings, code and queries to anyone who triggers an error.
    raise ImproperlyConfigured("DEBUG must be off in production: unset it or set DEBUG=false.")

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if PRODUCTION and (
    SECRET_KEY == _DEV_SECRET_KEY
    or SECRET_KEY.startswith("django-insecure")
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters in production.")

# Previous keys, still accepted (sessions, signed values, mailed links) while a rotation settles.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base URL of the public site, used in mail links, security.txt and feeds.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "accounts.admin_apps.TrustAdminConfig",  # django.contrib.admin with the MFA-aware admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "django_ratelimit",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "core",
    "compliance",
    "evidence",
    "accounts",
    "customers",
    "requests_app",
    "subscriptions",
    "documents",
    "webhooks",
]

MIDDLEWARE = [
    # First: every log line of the request, and every response, carries its id.
    "trustcenter.logcontext.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "trustcenter.middleware.PermissionsPolicyMiddleware",
    # Early, so that responses of the middleware below carry it too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trustcenter.middleware.RequestBodyLimitMiddleware",
    # Outside django-axes and the views: stamps Retry-After on every 429 they answer.
    "trustcenter.middleware.RetryAfterMiddleware",
    # A view that finds the database unavailable answers 503 with Retry-After, not 500.
    "trustcenter.middleware.DatabaseUnavailableMiddleware",
    "trustcenter.middleware.StripNulHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: turns a lockout into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trustcenter.urls"
WSGI_APPLICATION = "trustcenter.wsgi.application"

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
                "compliance.context_processors.public_layout",
            ],
        },
    },
]

# The embedded default is a SQLite file; DATABASE_URL points at PostgreSQL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
# Connections: persistent, with a health check. A gunicorn sync worker (or the
# task worker) keeps one connection for CONN_MAX_AGE seconds instead of opening
# one per request; the first query of each request on a reused connection checks
# it first and replaces it if the server went away (a restart, a failover), so a
# database restart costs the requests during the outage only. Production keeps
# connections 10 minutes by default; development closes them after each request.
# psycopg's pool is not used: see docs/operations.md, "Database connections".
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=600 if PRODUCTION else 0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer fails the request (503) after this many seconds instead of hanging a worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# Seconds a client is asked to wait (Retry-After) when the database is unavailable (503).
DATABASE_UNAVAILABLE_RETRY_AFTER = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER", default=5)
# PostgreSQL: the role web and worker log in as. Set where `migrate` runs (as the schema owner), and each migrate
# grants it its run-time rights (`manage.py db_grant_app_role` does the same by hand); docs/operations.md.
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://trustcenter")}
# django-environ spells a URL's ?key_prefix= in lower case, which Django ignores: servers
# sharing one Redis database for several sites keep apart only with KEY_PREFIX.
if "key_prefix" in CACHES["default"]:
    CACHES["default"]["KEY_PREFIX"] = CACHES["default"].pop("key_prefix")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2 hashes new passwords; the others only verify (and upgrade) older hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Files requesters receive are private: kept outside any public URL.
PRIVATE_MEDIA_ROOT = env.path("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private"))

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="trust@localhost")
# Seconds before an SMTP connection attempt gives up, so a hung server cannot stall the mail worker.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Logs: one line a record on stderr, "plain" text or "json" (LOG_FORMAT), each
# with the id of the request it belongs to (X-Request-ID; trustcenter/logcontext.py).
# Secret link tokens and mail addresses are masked in every log record the
# moment it is made (trustcenter/logmask.py), and again by a filter on each handler.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING_CONFIG = "trustcenter.logmask.configure"
LOGGING = logging_config(LOG_FORMAT, env.str("LOG_LEVEL", default="INFO"))

# simple-history: every content change names who and why; reverting from
# history is disabled because changes go forward with a reason.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# The actor recorded for writes made by management commands and jobs.
SYSTEM_ACTOR_USERNAME = env.str("SYSTEM_ACTOR_USERNAME", default="system")

# Evidence transparency log (docs/auditing.md). Checkpoints of the chain's Merkle
# tree are signed with this Ed25519 key, as printed by `manage.py evidence_keygen`
# (PRIVATE+KEY+<name>+<key id>+<key>). Required in production; in development an
# unset key is generated once and kept in EVIDENCE_SIGNING_KEY_FILE.
EVIDENCE_SIGNING_KEY = env.str("EVIDENCE_SIGNING_KEY", default="")
if PRODUCTION and not EVIDENCE_SIGNING_KEY:
    raise ImproperlyConfigured(
        "EVIDENCE_SIGNING_KEY must be set in production: create one with `manage.py evidence_keygen`."
    )
EVIDENCE_SIGNING_KEY_FILE = VAR_DIR / "evidence-signing.key"
# The keys verify_chain trusts come from here, not from the database (where a
# database administrator could add one): the current key, plus the verifier keys
# of the keys used before it (comma-separated, as `evidence_keygen` printed them).
EVIDENCE_TRUSTED_KEYS = env.list("EVIDENCE_TRUSTED_KEYS", default=[])
# Revocations kept outside the database too: KEYHASH@ISO-TIME, comma-separated,
# as `evidence_key_revoke` prints the line.
EVIDENCE_REVOKED_KEYS = env.list("EVIDENCE_REVOKED_KEYS", default=[])
# The log's name, the first line of every checkpoint (a schema-less URL).
EVIDENCE_LOG_ORIGIN = env.str("EVIDENCE_LOG_ORIGIN", default=f"{SITE_URL.split('://', 1)[-1]}/evidence")
# Every checkpoint is also appended to this file, outside the database.
EVIDENCE_CHECKPOINT_FILE = env.path("EVIDENCE_CHECKPOINT_FILE", default=str(VAR_DIR / "evidence-checkpoints.txt"))
# A periodic checkpoint is signed this often when anything was chained since the last one.
EVIDENCE_CHECKPOINT_INTERVAL_SECONDS = env.int("EVIDENCE_CHECKPOINT_INTERVAL_SECONDS", default=3600)

# Background work (Django Tasks API, database backend): run `manage.py run_worker`.
TASKS = {"default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}

# Publishing. Four-eyes: the approver must be neither the requester nor anyone
# who edited the content since the last publication.
PUBLISH_FOUR_EYES = env.bool("PUBLISH_FOUR_EYES", default=True)
# Whether anyone (True) or only signed-in staff (False) may open /as-of/<date>/.
AS_OF_PUBLIC = env.bool("AS_OF_PUBLIC", default=True)
# How long browsers and CDNs may reuse the public page before revalidating
# (ETag / Last-Modified make revalidation cheap). Scheduled publications appear
# at most this many seconds late behind a cache.
PUBLIC_CACHE_MAX_AGE = env.int("PUBLIC_CACHE_MAX_AGE", default=60)

# Static export (`manage.py export_static_site DIR`): when set, the worker rewrites
# the export at this path (a symbolic link it swaps atomically) each time a
# publication goes live, keeping this many versions in <path>.versions/.
STATIC_EXPORT_DIR = env.str("STATIC_EXPORT_DIR", default="")
STATIC_EXPORT_KEEP = env.int("STATIC_EXPORT_KEEP", default=3)
# Benchmarks only (`make bench` sets it, nothing else should): a file whose bytes
# `/bench/floor` returns from memory through the same middleware, the floor the
# public pages are measured against. Unset, the URL does not exist.
BENCH_FLOOR_FILE = env.str("TRUSTCENTER_BENCH_FLOOR_FILE", default="")

# security.txt (RFC 9116), generated from the live publication. Its `Expires`
# is the publication's effective time plus this many days (under a year, as the
# RFC recommends), so each publication renews it.
SECURITY_TXT_EXPIRES_DAYS = env.int("SECURITY_TXT_EXPIRES_DAYS", default=180)
if not 1 <= SECURITY_TXT_EXPIRES_DAYS < 365:
    raise ImproperlyConfigured("SECURITY_TXT_EXPIRES_DAYS must be between 1 and 364.")
# Staff are warned (system check compliance.W001, admin index) this many days before it lapses.
SECURITY_TXT_WARN_DAYS = env.int("SECURITY_TXT_WARN_DAYS", default=30)
# Optional https URL of the key researchers should encrypt reports with (never the key itself).
SECURITY_TXT_ENCRYPTION_URL = env.str("SECURITY_TXT_ENCRYPTION_URL", default="")

# Requests (DPA, BAA, data-subject requests).
# Where staff are told about new tickets (comma-separated addresses).
STAFF_NOTIFY_EMAILS = env.list("STAFF_NOTIFY_EMAILS", default=[])
# Business-day calendar for DPA/BAA deadlines: `holidays` country code (and optional subdivision).
HOLIDAY_COUNTRY = env.str("HOLIDAY_COUNTRY", default="US")
HOLIDAY_SUBDIVISION = env.str("HOLIDAY_SUBDIVISION", default="") or None
DPA_DUE_BUSINESS_DAYS = env.int("DPA_DUE_BUSINESS_DAYS", default=5)
BAA_DUE_BUSINESS_DAYS = env.int("BAA_DUE_BUSINESS_DAYS", default=10)
# Data-subject requests: the earlier of this many calendar days and one month (GDPR Art. 12(3)).
DSR_PROMISED_DAYS = env.int("DSR_PROMISED_DAYS", default=30)
VERIFICATION_VALID_DAYS = env.int("VERIFICATION_VALID_DAYS", default=7)
# The admin queue marks tickets due within this many days as "due soon".
DUE_SOON_DAYS = env.int("DUE_SOON_DAYS", default=3)
# Largest attachment staff can upload (bytes).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Mail outbox retries: exponential backoff from the base, capped, then marked failed.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=60)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=6 * 3600)
# Webhooks (docs/webhooks.md): retries of a delivery wait base x 2^(n-1) seconds,
# capped; after this many failed tries in a row the endpoint is marked failing.
WEBHOOKS_RETRY_BASE_SECONDS = env.int("WEBHOOKS_RETRY_BASE_SECONDS", default=60)
WEBHOOKS_RETRY_MAX_SECONDS = env.int("WEBHOOKS_RETRY_MAX_SECONDS", default=6 * 3600)
WEBHOOKS_FAILURE_LIMIT = env.int("WEBHOOKS_FAILURE_LIMIT", default=10)
WEBHOOKS_TIMEOUT_SECONDS = env.int("WEBHOOKS_TIMEOUT_SECONDS", default=10)
# Plain http endpoints: only where DEBUG is on, unless set.
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=DEBUG)
# Loopback endpoints: never from the environment; only the test suite sets it,
# for its receiver on 127.0.0.1.
WEBHOOKS_ALLOW_LOOPBACK = False
# The send task of one mail sends up to this many due mails over one SMTP connection.
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
# How long a worker's claim on a mail it is sending lasts. A mail still
# `sending` after that (its worker died between the handoff to the mail server
# and recording it) is queued again: sent twice rather than lost.
OUTBOX_CLAIM_SECONDS = env.int("OUTBOX_CLAIM_SECONDS", default=900)
# Requester personal data is purged this many days after a ticket is closed.
RETENTION_DAYS_AFTER_CLOSE = env.int("RETENTION_DAYS_AFTER_CLOSE", default=730)
# Client addresses and user agents of NDA acceptances and document downloads are
# blanked this many days after the grant expired or was revoked (or, without a
# grant, after the request was closed); the rows and their times stay.
DOCUMENT_LOG_RETENTION_DAYS = env.int("DOCUMENT_LOG_RETENTION_DAYS", default=730)
# Unsubscribed addresses, and sign-ups never confirmed, are removed this many days
# after the unsubscribe or after the confirmation link expired.
SUBSCRIBER_RETENTION_DAYS = env.int("SUBSCRIBER_RETENTION_DAYS", default=30)
# Customers (docs/customers.md): a contact's name and address are erased this
# many days after the contact was removed or the customer relationship ended.
CUSTOMER_CONTACT_RETENTION_DAYS = env.int("CUSTOMER_CONTACT_RETENTION_DAYS", default=730)
# Incidents: hours a processor has to tell its controllers when the page's
# incident-response section states none ("without undue delay", GDPR Art. 33(2)).
INCIDENT_PROCESSOR_NOTICE_HOURS = env.int("INCIDENT_PROCESSOR_NOTICE_HOURS", default=72)
# How often the task worker (`run_worker`) runs the requests housekeeping (mail retries, expiry, retention).
HOUSEKEEPING_INTERVAL_SECONDS = env.int("HOUSEKEEPING_INTERVAL_SECONDS", default=300)
# The task worker beats this often (the periodic job `core.heartbeat`; core/heartbeat.py).
WORKER_HEARTBEAT_INTERVAL_SECONDS = env.int("WORKER_HEARTBEAT_INTERVAL_SECONDS", default=60)
# /readyz fails when no worker beat for this long, or when the oldest mail due for
# sending has waited this long (docs/operations.md, "Probes").
READYZ_WORKER_MAX_AGE_SECONDS = env.int("READYZ_WORKER_MAX_AGE_SECONDS", default=180)
READYZ_OUTBOX_MAX_LAG_SECONDS = env.int("READYZ_OUTBOX_MAX_LAG_SECONDS", default=900)
# ---------------------------------------------------------------------------
# Security hardening. See docs/roles.md for staff roles.

# Staff sign-in: django-axes counts failed sign-ins per username and client
# address together (one person mistyping; an attacker cannot lock a user out
# from everywhere) and per client address across all usernames (one address
# trying many accounts: password spraying). Either reaching the limit refuses
# that pair or address until the cool-off ends. A success does not wipe the
# counts, so one working account cannot reset an address's budget.
AUTHENTICATION_BACKENDS = [
    "accounts.auth.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "429.html"
# Masked in axes logs and stored form data; the password always is.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token"]
AXES_CLIENT_IP_CALLABLE = "core.ratelimits.client_ip"
AXES_VERBOSE = False  # accounts.auth logs sign-in events in one format instead
# Number of reverse proxies in front of the app that append to X-Forwarded-For;
# 0 means the peer address is the client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Second factor for the admin: a TOTP code from an enrolled authenticator.
# Off by default in development so the demo accounts can sign in directly.
ADMIN_MFA_REQUIRED = env.bool("ADMIN_MFA_REQUIRED", default=PRODUCTION)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Trust center")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # admins never see another user's TOTP secret

# Staff sessions end after this many minutes without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
# The admin reads the CSRF token from its forms, never from the cookie.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = PRODUCTION

# Transport and browser protections.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancers probe over plain HTTP
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that always sets (and never forwards) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Browser features the site never uses, denied to it and to anything it could
# frame (Permissions-Policy; "interest-cohort" and "browsing-topics" opt out of
# interest-based advertising).
PERMISSIONS_POLICY = [
    "accelerometer",
    "ambient-light-sensor",
    "autoplay",
    "bluetooth",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "identity-credentials-get",
    "idle-detection",
    "interest-cohort",
    "local-fonts",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-create",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "web-share",
    "xr-spatial-tracking",
]
SILENCED_SYSTEM_CHECKS = list(vars().get("SILENCED_SYSTEM_CHECKS", []))  # keep any silenced above
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")  # the operator chose not to preload

# Content-Security-Policy (django-csp 4): only this site's own scripts, styles
# and images; no inline script, no framing, no plugins.
_CSP_SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_CSP_SELF],
        "script-src": [_CSP_SELF],
        "style-src": [_CSP_SELF],
        # simple-history's history list carries one fixed inline style attribute.
        "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": [_CSP_SELF, "data:"],
        "font-src": [_CSP_SELF],
        "connect-src": [_CSP_SELF],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": [_CSP_SELF],
        "upgrade-insecure-requests": PRODUCTION,
    },
}

# Request size: bodies above MAX_REQUEST_BODY_BYTES are refused with 413
# before they are read; form fields and in-memory uploads have their own caps.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=25 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# Public request forms (requests_app): abuse limits. Rates are "count/period"
# (s, m, h, d), counted in the shared cache; each accepted submission counts once
# against the client's address and once against each email address it names.
REQUEST_RATE_PER_IP = env.str("REQUEST_RATE_PER_IP", default="5/h")
REQUEST_RATE_PER_EMAIL = env.str("REQUEST_RATE_PER_EMAIL", default="3/h")
# At most this many mails a day to one mailbox (case and plus-tags ignored) from
# all public forms together: request acknowledgments and verification links,
# subscription confirmations, document access. Further ones are answered as
# usual but withheld (kept in the outbox, never sent). Counted in the database.
PUBLIC_MAIL_PER_ADDRESS_PER_DAY = env.int("PUBLIC_MAIL_PER_ADDRESS_PER_DAY", default=5)
# A request form is a few kilobytes; larger bodies are refused with 413, nothing
# created (TRUSTED_PROXY_COUNT, above, tells the rate limits the client address).
REQUEST_FORM_MAX_BODY = env.int("REQUEST_FORM_MAX_BODY", default=64 * 1024)
# django-ratelimit refuses caches that are not shared between processes (locmem).
# Development and tests run one process on locmem, so the check is silenced
# there only; production must point CACHE_URL at Redis.
# Django's own RedisCache increments atomically but is not on django-ratelimit's
# list of tested backends, hence its warning W001 is silenced for that backend.
SILENCED_SYSTEM_CHECKS = list(vars().get("SILENCED_SYSTEM_CHECKS", []))  # keep any silenced above
if not PRODUCTION:
    SILENCED_SYSTEM_CHECKS += ["django_ratelimit.E003", "django_ratelimit.W001"]
elif CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.W001")

# Subscriptions: update notices by mail (double opt-in, one-click unsubscribe).
# Days a customer has, from the approval of a subprocessor change, to object.
SUBPROCESSOR_OBJECTION_DAYS = env.int("SUBPROCESSOR_OBJECTION_DAYS", default=30)
# Business days staff have to answer an objection or a document access request.
SUBPROCESSOR_OBJECTION_DUE_BUSINESS_DAYS = env.int("SUBPROCESSOR_OBJECTION_DUE_BUSINESS_DAYS", default=10)
DOCUMENT_ACCESS_DUE_BUSINESS_DAYS = env.int("DOCUMENT_ACCESS_DUE_BUSINESS_DAYS", default=2)
# The mailto: half of List-Unsubscribe (RFC 2369); empty means DEFAULT_FROM_EMAIL.
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="")
# Subscribe form abuse limits ("count/period"), per client address and per email address.
SUBSCRIBE_RATE_PER_IP = env.str("SUBSCRIBE_RATE_PER_IP", default="10/h")
SUBSCRIBE_RATE_PER_EMAIL = env.str("SUBSCRIBE_RATE_PER_EMAIL", default="3/h")

# Gated documents (SOC 2 report, pen-test summary, ...).
# Largest document staff can upload (bytes); only PDF files are accepted. Keep it
# below MAX_REQUEST_BODY_BYTES, which bounds the whole upload request.
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
# How long an approved access request lets the requester download the document.
DOCUMENT_GRANT_DAYS = env.int("DOCUMENT_GRANT_DAYS", default=30)
# Work-email domains whose access requests are approved at once (comma-separated;
# subdomains included). Empty: staff decide every request.
DOCUMENT_AUTO_APPROVE_DOMAINS = env.list("DOCUMENT_AUTO_APPROVE_DOMAINS", default=[])
# Refuse access requests from free-mail addresses (gmail.com, outlook.com, ...).
DOCUMENT_BLOCK_FREEMAIL = env.bool("DOCUMENT_BLOCK_FREEMAIL", default=True)
