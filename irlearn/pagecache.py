"""Whole pages for visitors who are not logged in, from the cache, until content changes.

Anonymous visitors make most of the traffic and all see the same home page, procedure library,
catalogue and course pages, so those are rendered once and then served from the cache
(PAGE_CACHE_SECONDS, ten minutes by default). Any save or deletion of content (procedures,
courses, site pages: each app registers its models with register_content_models()) moves the
content version on, which retires every cached page at once: a published change is live at the
next request.

What is never cached: anything for a logged-in user, a request carrying a session or messages
cookie, a response that sets a cookie or used a CSRF token or a CSP nonce (it would hand one
visitor's token or nonce to the next), responses marked private or no-store, and every page not
on the allow-list below. So the cached pages use no nonce: our scripts are files of our own.
With several processes the cache must be shared (CACHE_URL=rediscache://...) so that all of
them see the new content version; with the default per-process memory cache, another process
may serve a page up to PAGE_CACHE_SECONDS old.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.urls import Resolver404, resolve
from django.utils.csp import CSP

VERSION_KEY = "pagecache:content-version"
# Pages that show only published content and nothing about the visitor.
CACHEABLE_VIEWS = {
    "home",
    "about",
    "pages:page-detail",
    "privacy",
    "robots-txt",
    "django.contrib.sitemaps.views.sitemap",
    "pages:search",
    "procedures:index",
    "procedures:category-detail",
    "procedures:procedure-detail",
    "courses:catalogue",
    "courses:course-detail",
}


def content_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = str(time.time_ns())
        cache.add(VERSION_KEY, version, timeout=None)
        version = cache.get(VERSION_KEY, version)
    return version


def content_changed(**kwargs) -> None:
    """Retire every cached page: the next request for each renders it afresh."""
    cache.set(VERSION_KEY, str(time.time_ns()), timeout=None)


# Labels of the models registered below: their rows appear on cacheable pages.
CONTENT_MODELS: set[str] = set()


def register_content_models(*models) -> None:
    """Retire every cached page whenever a row of ``models`` changes, however it is made (admin,
    services, seed, shell): saved, deleted, or one of its many-to-many links changed.

    Each app names its own models whose rows appear on cacheable pages, in its
    AppConfig.ready(): this module imports no app.
    """
    for model in models:
        label = model._meta.label
        CONTENT_MODELS.add(label)
        post_save.connect(content_changed, sender=model, dispatch_uid=f"pagecache-save-{label}")
        post_delete.connect(content_changed, sender=model, dispatch_uid=f"pagecache-delete-{label}")
        for field in model._meta.many_to_many:
            m2m_changed.connect(
                content_changed,
                sender=field.remote_field.through,
                dispatch_uid=f"pagecache-m2m-{label}-{field.name}",
            )


def content_rows_changed(model) -> None:
    """Retire every cached page if rows of ``model`` appear on cacheable pages: for writes
    that send no signals (``QuerySet.update``, ``bulk_update``, such as the admin's
    drag-and-drop reordering).

    Now, like a save does, and again once the transaction commits: a page another request
    renders in between, from the rows as they were, would otherwise stay cached.
    """
    if model._meta.label in CONTENT_MODELS:
        content_changed()
        transaction.on_commit(content_changed)


def _view_name(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


class AnonymousPageCacheMiddleware:
    """Outermost middleware: a hit returns the stored response, headers and all, at once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self._cacheable_request(request):
            return self.get_response(request)
        key = self._key(request)
        response = cache.get(key)
        if response is not None:
            response["X-Page-Cache"] = "hit"
            return response
        response = self.get_response(request)
        if self._cacheable_response(request, response):
            cache.set(key, response, settings.PAGE_CACHE_SECONDS)
        return response

    @staticmethod
    def _cacheable_request(request) -> bool:
        return (
            settings.PAGE_CACHE_SECONDS > 0
            and request.method == "GET"
            and not request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            and not request.COOKIES.get("messages")
            and "Authorization" not in request.headers
            # Only pages on the allow-list: any other request goes on without a cache lookup.
            and _view_name(request.path_info) in CACHEABLE_VIEWS
        )

    @staticmethod
    def _key(request) -> str:
        path = request.get_full_path()
        digest = hashlib.sha256(f"{request.get_host()}|{path}".encode()).hexdigest()
        return f"pagecache:{content_version()}:{digest}"

    @staticmethod
    def _cacheable_response(request, response) -> bool:
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        cache_control = response.get("Cache-Control", "")
        return (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and match is not None
            and match.view_name in CACHEABLE_VIEWS
            and (user is None or not user.is_authenticated)
            # The page used a CSRF token: it must not go to anyone else.
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            # The page used a CSP nonce: every visitor would get the same one, and a nonce that
            # anyone can read off a cached page protects nothing.
            and "'nonce-" not in response.get(CSP.HEADER_ENFORCE, "")
            and "'nonce-" not in response.get(CSP.HEADER_REPORT_ONLY, "")
            and not any(word in cache_control for word in ("private", "no-store", "no-cache"))
        )
