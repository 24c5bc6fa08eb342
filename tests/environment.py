"""Loaded by pytest before Django starts (``-p tests.environment`` in pyproject.toml).

Tests run with production settings (DEBUG off) and only the defaults a test run needs; anything
already in the environment (DATABASE_URL for the PostgreSQL run) wins.
"""

import os

os.environ.setdefault("DJANGO_READ_DOT_ENV", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_STATIC_MANIFEST", "0")
os.environ.setdefault("TASKS_BACKEND", "immediate")
os.environ.setdefault("CACHE_URL", "locmemcache://irlearn-tests")
# Browser tests drive Playwright's sync API, which runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A fast hasher keeps factories and logins quick; production uses Django's default (PBKDF2).
os.environ.setdefault("DJANGO_PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher")
