"""The Redis cache backend production uses (CACHE_URL=rediscache://...), against a real Redis.

Tests otherwise run on the per-process memory cache; these need Redis on 127.0.0.1:6379
(.ci/run starts it). Without it they skip, except under CI=true, where that is a failure.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from django_redis.cache import RedisCache

REDIS_URL = "redis://127.0.0.1:6379/13"
SHARED = {
    "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL},
}


@pytest.fixture
def redis_cache():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).flushdb()
    except redis.RedisError as error:
        reason = f"Redis does not answer on {REDIS_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true, so these tests cannot be skipped", pytrace=False)
        pytest.skip(reason)
    with override_settings(CACHES=SHARED):
        yield caches["default"]
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_the_redis_cache_keeps_what_the_site_stores(redis_cache):
    redis_cache.set("page", {"html": "<p>Nephrostomy</p>"}, 60)
    assert redis_cache.get("page") == {"html": "<p>Nephrostomy</p>"}
    assert redis_cache.add("page", "other") is False
    redis_cache.set_many({"a": 1, "b": 2})
    assert redis_cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": 2}
    assert redis_cache.incr("a") == 2
    redis_cache.delete("page")
    assert redis_cache.get("page") is None


def test_every_process_sees_the_same_redis_cache(redis_cache):
    """Another process (here, another backend instance) reads what this one wrote: how a
    published change reaches every web worker."""
    other = RedisCache(REDIS_URL, {})
    redis_cache.set("pagecache:content-version", "2", None)
    assert other.get("pagecache:content-version") == "2"
    other.delete("pagecache:content-version")
    assert redis_cache.get("pagecache:content-version") is None


def test_logging_out_ends_a_session_kept_in_redis(client, learner, redis_cache, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    client.force_login(learner)
    assert client.get("/learn/my/").status_code == 200

    client.post("/accounts/logout/")

    assert client.get("/learn/my/").status_code == 302


def test_a_rediscache_url_gives_django_redis_and_sessions_in_the_cache():
    """What settings.py makes of CACHE_URL=rediscache://..., read as a new process reads it."""
    code = (
        "from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'], "
        "settings.SESSION_ENGINE)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "irlearn.settings",
        "CACHE_URL": "rediscache://127.0.0.1:6379/9",
    }
    result = subprocess.run(  # noqa: S603 (our own settings)
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.split() == [
        "django_redis.cache.RedisCache",
        "redis://127.0.0.1:6379/9",
        "django.contrib.sessions.backends.cached_db",
    ]
