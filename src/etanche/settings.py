"""Django settings, from environment variables only (see README, "Configuration").

Nothing secret lives here or in the database: the secret key comes from
ETANCHE_SECRET_KEY, ETANCHE_SECRET_KEY_FILE or the key file `etanche init`
writes in the data directory.
"""

import ipaddress
import os
import secrets

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from etanche.lib.datadir import SQLITE_FILE, checkpoint_path, data_dir, read_secret_key
from etanche.lib.env import env_bool, env_int, env_list, env_secret, env_str

DATA_DIR = data_dir()
DEBUG = env_bool("ETANCHE_DEBUG", False)

SECRET_KEY = env_secret("ETANCHE_SECRET_KEY") or read_secret_key(DATA_DIR)
if not SECRET_KEY:
    # Help output and `etanche init` itself run before any key exists; cli.py
    # sets this flag for them only. A throwaway key signs nothing that lasts.
    if DEBUG or os.environ.get("ETANCHE_EPHEMERAL_SECRET") == "1":
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured(
            "no secret key: set ETANCHE_SECRET_KEY or ETANCHE_SECRET_KEY_FILE, "
            f"or run `etanche init` to create {DATA_DIR / 'secret_key'}"
        )

ALLOWED_HOSTS = env_list("ETANCHE_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto and turn on HSTS.
BEHIND_TLS = env_bool("ETANCHE_BEHIND_TLS", False)

INSTALLED_APPS = [
    # First, so its `createsuperuser` (which refuses) shadows django.contrib.auth's.
    "etanche.ops",
    "etanche.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "etanche",
    "etanche.vault",
    "etanche.labs",
    "etanche.patients",
    "etanche.orders",
    "etanche.journal",
    "etanche.exports",
    "etanche.watch",
    "etanche.breach",
    "etanche.imports",
    "etanche.interop",
    "etanche.rights",
    "etanche.tabular",
    "etanche.fhir",
    "etanche.web",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
]

# A leaked file uploaded to the breach page is sealed as it arrives (web/breach_upload.py);
# every other upload goes on to Django's own handlers.
FILE_UPLOAD_HANDLERS = [
    "etanche.web.breach_upload.SealingUploadHandler",
    "etanche.web.import_upload.ImportUploadHandler",  # likewise, encrypted (issue 20)
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "etanche.web.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Deny by default: every view needs a logged-in user unless it is
    # decorated with @login_not_required (grep for it: that is the exempt list).
    # This subclass of LoginRequiredMiddleware also requires the TOTP step, a
    # changed initial password, and enforces idle and absolute session limits.
    "etanche.web.middleware.AccessMiddleware",
    # After the access check: reading the form's token parses a multipart body, and the
    # upload handlers of the breach and import pages need the checked membership then
    # (web/breach_upload.py, web/import_upload.py). Before, a browser's upload lost it.
    "django.middleware.csrf.CsrfViewMiddleware",
    # After the login checks, so an anonymous request is still sent to the login page.
    "etanche.web.input_guard.RejectNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "etanche.web.urls"
WSGI_APPLICATION = "etanche.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "etanche.web.context_processors.access",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / SQLITE_FILE}",
        conn_max_age=env_int("ETANCHE_DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: a writing transaction takes the lock up front, so concurrent
    # writers queue instead of failing; WAL lets readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server, and a statement sent five times on a connection
    # prepared there: PostgreSQL then stops parsing and planning every query of every
    # request anew (its CPU per registration fell by a third, bench/RESULTS.md Run 18).
    # Off for a pooler that cannot keep prepared statements (pgbouncer in transaction
    # mode before 1.21): ETANCHE_DB_PREPARED=0.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "server_side_binding": True,
        "prepare_threshold": 5 if env_bool("ETANCHE_DB_PREPARED", True) else None,
    })
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# ModelBackend, loading each request's user with its membership in one query (issue 25).
AUTHENTICATION_BACKENDS = ["etanche.accounts.backends.MembershipBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # CNIL deliberation 2022-100, case 2 (lockout limits online guessing): 50 bits.
    {"NAME": "etanche.accounts.passwords.CnilEntropyValidator",
     "OPTIONS": {"min_bits": env_int("ETANCHE_PASSWORD_MIN_BITS", 50)}},
]

LANGUAGE_CODE = "fr"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_ALLOW_ALL_ORIGINS = False

# Sessions: server-side, expire after inactivity (the accounts app adds a
# hard limit of one working day).
# Only a keyed hash of each session key is stored: a database copy opens no session.
SESSION_ENGINE = "etanche.accounts.session_store"
SESSION_COOKIE_AGE = env_int("ETANCHE_SESSION_IDLE_MINUTES", 15) * 60
# Accounts (docs/accounts.md): absolute session limit, sudo mode, lockout, shared use.
ETANCHE_SESSION_MAX_HOURS = env_int("ETANCHE_SESSION_MAX_HOURS", 10)
ETANCHE_SUDO_MINUTES = env_int("ETANCHE_SUDO_MINUTES", 10)
# Failed logins buy growing waits, never a lock (issue 16): free failures per account
# (and per account from one place), per address; the longest wait; when a quiet
# counter is forgotten; bursts journaled for the watch rules.
ETANCHE_THROTTLE_ACCOUNT_FAILURES = env_int("ETANCHE_THROTTLE_ACCOUNT_FAILURES", 5)
ETANCHE_THROTTLE_ADDRESS_FAILURES = env_int("ETANCHE_THROTTLE_ADDRESS_FAILURES", 20)
ETANCHE_THROTTLE_MAX_SECONDS = env_int("ETANCHE_THROTTLE_MAX_SECONDS", 900)
ETANCHE_THROTTLE_FORGET_HOURS = env_int("ETANCHE_THROTTLE_FORGET_HOURS", 24)
ETANCHE_LOGIN_BURST_FAILURES = env_int("ETANCHE_LOGIN_BURST_FAILURES", 20)
ETANCHE_LOGIN_BURST_ALL_FAILURES = env_int("ETANCHE_LOGIN_BURST_ALL_FAILURES", 100)
ETANCHE_LOGIN_BURST_MINUTES = env_int("ETANCHE_LOGIN_BURST_MINUTES", 10)
# Proxies whose X-Forwarded-For is believed (addresses or networks). Behind TLS the
# recommended proxy runs on this host; anything else must be listed.
ETANCHE_TRUSTED_PROXIES = env_list("ETANCHE_TRUSTED_PROXIES",
                                   ["127.0.0.1", "::1"] if BEHIND_TLS else [])
for _proxy in ETANCHE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ETANCHE_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network") from None
# Per account: searches and patient reads per minute and per hour (HTTP 429 beyond),
# and how many records a search by name without birth date may list.
ETANCHE_SEARCH_PER_MINUTE = env_int("ETANCHE_SEARCH_PER_MINUTE", 20)
ETANCHE_SEARCH_PER_HOUR = env_int("ETANCHE_SEARCH_PER_HOUR", 200)
ETANCHE_PATIENT_READS_PER_MINUTE = env_int("ETANCHE_PATIENT_READS_PER_MINUTE", 30)
ETANCHE_PATIENT_READS_PER_HOUR = env_int("ETANCHE_PATIENT_READS_PER_HOUR", 300)
ETANCHE_SEARCH_NAME_ONLY_MAX = env_int("ETANCHE_SEARCH_NAME_ONLY_MAX", 5)
# Personal API tokens (docs/fhir.md): requests per token and window (429 + Retry-After past
# them), authorisation failures before a token locks, longest validity in days.
ETANCHE_API_REQUESTS_PER_MINUTE = env_int("ETANCHE_API_REQUESTS_PER_MINUTE", 120)
ETANCHE_API_REQUESTS_PER_HOUR = env_int("ETANCHE_API_REQUESTS_PER_HOUR", 3000)
ETANCHE_API_TOKEN_FAILURES = env_int("ETANCHE_API_TOKEN_FAILURES", 10)
ETANCHE_API_TOKEN_MAX_DAYS = env_int("ETANCHE_API_TOKEN_MAX_DAYS", 365)
ETANCHE_SHARED_USE_WINDOW_MINUTES = env_int("ETANCHE_SHARED_USE_WINDOW_MINUTES", 5)
# CNIL 2022-100: periodic renewal for privileged accounts (lab admin, DPO) only.
ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS = env_int("ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS", 365)
if ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS < 1:
    raise ImproperlyConfigured("ETANCHE_PRIVILEGED_PASSWORD_MAX_DAYS must be at least 1")
# Security notices (accounts/notices.py): a mail to the person whose password or second
# factor changed. Without a mail server (a trial, development) they go to the console.
EMAIL_HOST = env_str("ETANCHE_EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "ETANCHE_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("ETANCHE_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("ETANCHE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_secret("ETANCHE_EMAIL_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("ETANCHE_EMAIL_STARTTLS", True)
EMAIL_USE_SSL = env_bool("ETANCHE_EMAIL_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("set ETANCHE_EMAIL_STARTTLS=0 to use ETANCHE_EMAIL_SSL=1")
EMAIL_TIMEOUT = env_int("ETANCHE_EMAIL_TIMEOUT_SECONDS", 10)
DEFAULT_FROM_EMAIL = env_str("ETANCHE_EMAIL_FROM", "etanche@localhost")
# Where people open Étanche: the start of the activation links the CLI prints (the web
# builds its own from the request).
ETANCHE_PUBLIC_URL = env_str("ETANCHE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
OTP_TOTP_ISSUER = "Étanche"
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Written when it changes, not on every request (web/sessions.touch): bench/RESULTS.md Run 10.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_NAME = "etanche_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
# Browsers accept Secure cookies from http://127.0.0.1 and localhost, so they
# stay Secure even for a local trial; only a plain-HTTP remote host needs this off.
SESSION_COOKIE_SECURE = env_bool("ETANCHE_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env_list("ETANCHE_CSRF_TRUSTED_ORIGINS", [])
# A refused form in French, in the site's layout (issue 24, item 5).
CSRF_FAILURE_VIEW = "etanche.web.errors.csrf_failure"
# The lab contact printed on a patient's receipt (address, phone, hours), one line.
ETANCHE_RECEIPT_CONTACT = os.environ.get("ETANCHE_RECEIPT_CONTACT", "")

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if BEHIND_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env_int("ETANCHE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Logs carry ids and outcomes, never request bodies or personal data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ETANCHE_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the whole request object on errors; keep only the message.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# --- journal
# CNIL recommends keeping access logs six months to one year.
ETANCHE_JOURNAL_RETENTION_DAYS = env_int("ETANCHE_JOURNAL_RETENTION_DAYS", 365)

# --- exports: worker processes building a large export (0 = one per core)
ETANCHE_EXPORT_WORKERS = env_int("ETANCHE_EXPORT_WORKERS", 0)
# `etanche backup create` encrypts to these age public keys (comma-separated; docs/deploy.md).
ETANCHE_BACKUP_RECIPIENTS = env_list("ETANCHE_BACKUP_RECIPIENTS", [])
ETANCHE_EXPORT_PARALLEL_MIN = env_int("ETANCHE_EXPORT_PARALLEL_MIN", 20_000)
# An export of more patients than this (counted in the lab's own selection) needs two
# approvers besides the requester (issue 16, item 3).
ETANCHE_EXPORT_SECOND_APPROVER_OVER = env_int("ETANCHE_EXPORT_SECOND_APPROVER_OVER", 10_000)

# --- imports from the previous software (issue 20, etanche.imports) ---
# An uploaded file not imported (or abandoned) within this many hours is destroyed.
ETANCHE_IMPORT_KEEP_HOURS = env_int("ETANCHE_IMPORT_KEEP_HOURS", 24)
# Largest upload accepted on the web page (the CLI reads any size in place).
ETANCHE_IMPORT_MAX_UPLOAD_MB = env_int("ETANCHE_IMPORT_MAX_UPLOAD_MB", 2048)
# Rows per transaction of an import's write pass (a killed run loses at most one batch).
ETANCHE_IMPORT_BATCH = env_int("ETANCHE_IMPORT_BATCH", 2000)

# --- watch: alert rules over the journal feed and their delivery (docs/watch.md)
# Defaults for every lab; a lab admin sets the lab's own on the watch settings page.
ETANCHE_ALERT_EMAIL_TO = env_list("ETANCHE_ALERT_EMAIL_TO", [])
# udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (RFC 5424 messages)
ETANCHE_ALERT_SYSLOG = env_str("ETANCHE_ALERT_SYSLOG", "")
# For tls://: the certificate authority (PEM file) the collector's certificate chains to;
# empty: the system's trusted authorities.
ETANCHE_ALERT_SYSLOG_CA = env_str("ETANCHE_ALERT_SYSLOG_CA", "")
# https://... (plain http only to a loopback address), JSON POST signed HMAC-SHA256
ETANCHE_ALERT_WEBHOOK = env_str("ETANCHE_ALERT_WEBHOOK", "")
ETANCHE_ALERT_WEBHOOK_SECRET = env_secret("ETANCHE_ALERT_WEBHOOK_SECRET") or ""
ETANCHE_ALERT_TIMEOUT_SECONDS = env_int("ETANCHE_ALERT_TIMEOUT_SECONDS", 5)
# Back-off between attempts doubles from 5 s up to this; an alert is never dropped.
ETANCHE_ALERT_RETRY_MAX_SECONDS = env_int("ETANCHE_ALERT_RETRY_MAX_SECONDS", 600)
# How often the worker reads the journal feed and sends the outbox (the 60 s promise).
ETANCHE_WATCH_ROUND_SECONDS = env_int("ETANCHE_WATCH_ROUND_SECONDS", 2)
# How often the worker verifies the journal chains (0: never; `journal verify` still works).
ETANCHE_WATCH_VERIFY_MINUTES = env_int("ETANCHE_WATCH_VERIFY_MINUTES", 15)
# The domain the lab's honeypot patients' e-mail addresses use: one the lab controls, so
# that mail reaching one of them is a sign the lab's data is in use somewhere.
ETANCHE_CANARY_EMAIL_DOMAIN = env_str("ETANCHE_CANARY_EMAIL_DOMAIN", "canari.invalid")
# Honeypot patients seeded at lab creation, per 10,000 expected patients (at least one).
ETANCHE_CANARIES_PER_10K = env_int("ETANCHE_CANARIES_PER_10K", 3)
ETANCHE_BREAK_GLASS_MINUTES = env_int("ETANCHE_BREAK_GLASS_MINUTES", 30)

# --- task queue (docs/adr/0006-task-queue.md): rows in this database, run by `etanche worker`
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Seconds an idle worker waits before looking at the queue again.
ETANCHE_WORKER_POLL_SECONDS = env_int("ETANCHE_WORKER_POLL_SECONDS", 1)
# `etanche serve` starts one worker beside gunicorn (0: run `etanche worker` yourself).
ETANCHE_SERVE_WORKER = env_bool("ETANCHE_SERVE_WORKER", True)

# --- housekeeping run by `etanche serve` (0 turns it off; cron can do it instead)
ETANCHE_HOUSEKEEPING_SECONDS = env_int("ETANCHE_HOUSEKEEPING_SECONDS", 900)
# Where `etanche serve` ships signed journal checkpoints at each round, e.g.
# syslog:logs.lab.example:514 or file:/mnt/other-system/etanche-checkpoints.jsonl;
# by default a file beside the data directory (docs/journal.md), "off" for none.
_CHECKPOINTS = env_str("ETANCHE_CHECKPOINT_TARGET") or f"file:{checkpoint_path(DATA_DIR)}"
ETANCHE_CHECKPOINT_TARGET = None if _CHECKPOINTS == "off" else _CHECKPOINTS

# --- interop: HL7 v2.5 over MLLP to each lab's analytical LIS (docs/interop.md)
ETANCHE_INTEROP_ROUND_SECONDS = env_int("ETANCHE_INTEROP_ROUND_SECONDS", 1)
# Failed attempts (no answer, AR, malformed answer) before a message is parked for a lab admin.
ETANCHE_INTEROP_MAX_ATTEMPTS = env_int("ETANCHE_INTEROP_MAX_ATTEMPTS", 5)
# Back-off after a failure: this many seconds, doubled each time, capped.
ETANCHE_INTEROP_BACKOFF_SECONDS = env_int("ETANCHE_INTEROP_BACKOFF_SECONDS", 5)
ETANCHE_INTEROP_BACKOFF_MAX_SECONDS = env_int("ETANCHE_INTEROP_BACKOFF_MAX_SECONDS", 600)
# Seconds to connect, and to wait for an acknowledgement.
ETANCHE_INTEROP_TIMEOUT_SECONDS = env_int("ETANCHE_INTEROP_TIMEOUT_SECONDS", 10)
# Sent messages are kept this long (to answer "was it sent?"), then deleted.
ETANCHE_INTEROP_RETENTION_DAYS = env_int("ETANCHE_INTEROP_RETENTION_DAYS", 30)

# --- vault (etanche.vault; see docs/security.md) ---
# The master key (KEK) as a URI: file://PATH (default, created by `etanche init`,
# a separate 0600 file, never inside the database), pkcs11:..., or a Tink KMS URI.
ETANCHE_MASTER_KEY = env_str("ETANCHE_MASTER_KEY") or f"file://{DATA_DIR / 'master.key'}"
# How stale a process's idea of a lab's primary key version may be after a rotation.
VAULT_RECHECK_SECONDS = env_int("ETANCHE_VAULT_RECHECK_SECONDS", 2)
# A missing or wrong master key, or a tampered record, becomes an error page, not a traceback.
MIDDLEWARE.append("etanche.web.vault_errors.VaultErrorMiddleware")
# --- end vault ---
