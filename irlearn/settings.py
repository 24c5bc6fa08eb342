"""IRLearn settings: one module, everything that differs between deployments comes from the
environment (see .env.example). Development-safe defaults; production secrets have none."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development; real deployments set the environment.
# Tests switch it off so that a developer's .env cannot change what they check.
if env.bool("DJANGO_READ_DOT_ENV", default=True):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
else:
    SECRET_KEY = env("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# The site's name in emails ("Hello from IRLearn!"), certificates and page titles.
SITE_NAME = env("SITE_NAME", default="IRLearn")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "bootstrap",
    "crispy_forms",
    "crispy_bootstrap5",
    "allauth",
    "allauth.account",
    "django_tasks_db",
    "simple_history",
    "adminsortable2",
    "irlearn.accounts",
    "irlearn.pages",
    "irlearn.newsletter",
    "irlearn.stacks",
    "procedures",
    "courses",
]

MIDDLEWARE = [
    # Outermost: a cached page for an anonymous visitor goes out as first rendered.
    "irlearn.pagecache.AnonymousPageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # NUL or a lone surrogate in the path, query or form: 400 before any view or query sees it.
    "irlearn.middleware.RejectUnreadableInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "irlearn.urls"
WSGI_APPLICATION = "irlearn.wsgi.application"

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
                "django.template.context_processors.csp",
                "irlearn.newsletter.context_processors.newsletter",
            ],
        },
    },
]

# Databases: SQLite by default so `make run` needs no server; PostgreSQL in production.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool: no persistent connections (CONN_MAX_AGE must be 0 with a pool).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the task worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# `make bench` only: the bench app (its data generator and a bare reference view at /bench/bare/).
BENCH = env.bool("DJANGO_BENCH", default=False)
if BENCH:
    INSTALLED_APPS += ["bench"]

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://irlearn")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Redis through django-redis, which keeps one client per connection pool: Django's own
    # backend builds a new client object, some 0.15 ms of Python, for every operation.
    # django-environ names django-redis itself whenever it is installed; this makes it so anyway.
    CACHES["default"]["BACKEND"] = "django_redis.cache.RedisCache"
# Sessions are read from the cache when every process shares it (Redis, Memcached) and written
# through to the database. A per-process memory cache would keep a session alive in one process
# after the learner logged out in another, so then the database alone holds them.
if CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] not in ("LocMemCache", "DummyCache"):
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Whole pages for anonymous visitors, until content changes (irlearn/pagecache.py); 0 turns it off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=600)

# Background work: django.tasks with the database backend (`manage.py db_worker`) by default;
# TASKS_BACKEND=rq moves the queue to Redis
# (`manage.py rqworker --with-scheduler --job-class django_tasks_rq.Job`).
TASKS_BACKEND = env("TASKS_BACKEND", default="database")
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
    # No job timeout (RQ's default is 180 s), as with db_worker: a send task works through its
    # issue however long that takes, and a timeout would cut it off mid-batch.
    RQ_QUEUES = {
        "default": {
            "URL": env("REDIS_URL", default="redis://127.0.0.1:6379/0"),
            "DEFAULT_TIMEOUT": -1,
        }
    }
elif TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Finished task results are pruned (irlearn/taskresults.py): successful ones after a day, failed
# ones, kept to read after an outage, after 30. Tracebacks may name an email recipient.
TASK_RESULTS_KEEP_DAYS = env.int("TASK_RESULTS_KEEP_DAYS", default=1)
TASK_RESULTS_KEEP_FAILED_DAYS = env.int("TASK_RESULTS_KEEP_FAILED_DAYS", default=30)

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env("DJANGO_PASSWORD_HASHERS", default=""):
    PASSWORD_HASHERS = env.list("DJANGO_PASSWORD_HASHERS")
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login; verification is mandatory before the first login.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "irlearn.accounts.forms.SignupForm"
ACCOUNT_ADAPTER = "irlearn.accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
# Confirmation keys are the signed id of the address's row: the worker derives them again, so
# queued account emails carry no key (irlearn/accounts/services.py).
ACCOUNT_EMAIL_CONFIRMATION_HMAC = True
# Confirming in the browser that signed up (or tried to log in) logs the learner in; allauth
# does so only when that pending log-in is in the same session, so a leaked link logs no one
# in. Elsewhere the confirm page sends them to log in, and says so (EmailConfirmView).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# allauth's forms with our labels (sentence case: "Current password", "Keep me logged in").
ACCOUNT_FORMS = {
    "login": "irlearn.accounts.allauth_forms.LoginForm",
    "change_password": "irlearn.accounts.allauth_forms.ChangePasswordForm",
    "reset_password_from_key": "irlearn.accounts.allauth_forms.ResetPasswordKeyForm",
}
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env(
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="https" if not DEBUG else "http"
)
# Failed logins: at most 5 a minute per IP and 10 per 5 minutes per account (allauth's limiter).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/m/ip,10/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# Static files: whitenoise serves them (hashed, compressed names outside DEBUG).
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed names need `collectstatic`; development and tests serve the sources.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (development, tests), whitenoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = STORAGES["staticfiles"]["BACKEND"].startswith("django.")
WHITENOISE_AUTOREFRESH = DEBUG
# Several web servers must share uploads: put them in S3-compatible storage.
# MEDIA_ORIGINS: where pages load uploads from besides the site itself (the CSP's img-src).
MEDIA_ORIGINS = []
if env("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "access_key": env("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env("AWS_SECRET_ACCESS_KEY", default=None),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "file_overwrite": False,
        },
    }
    _s3 = STORAGES["default"]["OPTIONS"]
    if _s3["custom_domain"]:
        MEDIA_ORIGINS = [f"https://{_s3['custom_domain']}"]
    elif _s3["endpoint_url"]:
        # Other S3-compatible services: links name the bucket in the path, on the endpoint.
        _endpoint = urlsplit(_s3["endpoint_url"])
        MEDIA_ORIGINS = [f"{_endpoint.scheme}://{_endpoint.netloc}"]
    else:
        # Amazon S3: links name the bucket in the host, global or regional.
        MEDIA_ORIGINS = [f"https://{_s3['bucket_name']}.s3.amazonaws.com"]
        if _s3["region_name"]:
            MEDIA_ORIGINS.append(
                f"https://{_s3['bucket_name']}.s3.{_s3['region_name']}.amazonaws.com"
            )
# Image stack uploads wait here, never served, until the worker has processed them (then they
# are deleted): they may hold patient data. On S3, a private prefix of the same bucket.
STACK_UPLOADS_ROOT = Path(
    env("STACK_UPLOADS_ROOT", default=str(BASE_DIR / "var" / "stack-uploads"))
)
STORAGES["stack_uploads"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": STACK_UPLOADS_ROOT, "base_url": "/not-served/"},
}
if env("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["stack_uploads"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **STORAGES["default"]["OPTIONS"],
            "location": "private/stack-uploads",
            "default_acl": "private",
            "querystring_auth": True,
            "custom_domain": None,
        },
    }
STACK_UPLOAD_MAX_BYTES = env.int("STACK_UPLOAD_MAX_BYTES", default=1024**3)
# A processing run not heard of for this long has stopped (its worker was stopped or killed).
STACK_PROCESSING_STALL = timedelta(minutes=env.int("STACK_PROCESSING_STALL_MINUTES", default=5))
# Let Django serve uploads from MEDIA_ROOT (development, single-server sites). Off when a proxy
# or S3-compatible storage serves them.
SERVE_MEDIA = env.bool("DJANGO_SERVE_MEDIA", default=not env("AWS_STORAGE_BUCKET_NAME", default=""))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Email (Django 6.1 MAILERS): SMTP from EMAIL_URL (smtp+tls://user:pass@host:587) in production,
# the console in development.
if email_url := env("EMAIL_URL", default=""):
    _smtp = env.email_url_config(email_url)
    MAILERS = {
        "default": {
            "BACKEND": _smtp["EMAIL_BACKEND"],
            "OPTIONS": {
                "host": _smtp.get("EMAIL_HOST", "localhost"),
                "port": _smtp.get("EMAIL_PORT", 25),
                "username": _smtp.get("EMAIL_HOST_USER", ""),
                "password": _smtp.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": _smtp.get("EMAIL_USE_TLS", False),
                "use_ssl": _smtp.get("EMAIL_USE_SSL", False),
                "timeout": env.int("EMAIL_TIMEOUT", default=20),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": env(
                "EMAIL_BACKEND",
                default="django.core.mail.backends.console.EmailBackend"
                if DEBUG
                else "django.core.mail.backends.smtp.EmailBackend",
            )
        }
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="IRLearn <noreply@irlearn.localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
ADMINS = env.list("DJANGO_ADMINS", default=[])

# Newsletter: how many send tasks work on one issue at once, how long a worker holds the
# deliveries it has claimed (keep it well above EMAIL_TIMEOUT), and the domain of Message-IDs.
# Sign-ups per hour from one IP address (high: a hospital network is one address) and for one
# email address (the footer form).
NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR = env.int("NEWSLETTER_SUBSCRIBE_LIMIT_PER_HOUR", default=300)
NEWSLETTER_SUBSCRIBE_LIMIT_PER_ADDRESS_PER_HOUR = env.int(
    "NEWSLETTER_SUBSCRIBE_LIMIT_PER_ADDRESS_PER_HOUR", default=3
)
NEWSLETTER_SEND_TASKS = env.int("NEWSLETTER_SEND_TASKS", default=2)
NEWSLETTER_LEASE_SECONDS = env.int("NEWSLETTER_LEASE_SECONDS", default=120)
NEWSLETTER_MESSAGE_ID_DOMAIN = env("NEWSLETTER_MESSAGE_ID_DOMAIN", default="irlearn.localhost")

# Security headers. Every asset is our own, so the policy needs no outside origin at all.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *MEDIA_ORIGINS],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
# Browser features no page of ours uses are off, for our pages and anything they might embed.
# Full screen stays available to our own pages (image viewers).
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "ambient-light-sensor": [],
    "autoplay": [],
    "browsing-topics": [],
    "camera": [],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": ["self"],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # allauth's per-IP rate limits must count the client, not the proxy: otherwise five wrong
    # passwords from anyone lock every learner out of logging in for a minute.
    ALLAUTH_TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=1)
CSRF_FAILURE_VIEW = "irlearn.pages.views.csrf_failure"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
