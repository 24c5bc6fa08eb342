"""Crawl the site as a browser would: follow links, note forms, static files and failures.

Used by the production-settings crawl (tests/test_production.py) and the fuzz tests
(tests/test_fuzz.py).
"""

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import RequestFactory
from django.urls import reverse

# Pages reached by following links, per client: enough for every page type, bounded for CI.
CRAWL_LIMIT = 400


ASSET_RELS = {"stylesheet", "icon", "preload", "modulepreload"}


class Form:
    """A form on a page: where it goes, how, and its fields with their default values."""

    def __init__(self, method, action):
        self.method = method
        self.action = action
        self.fields = {}

    @property
    def key(self):
        return (self.method, urlsplit(self.action).path, tuple(sorted(self.fields)))


class Links(HTMLParser):
    """Links, forms and static assets of one HTML page."""

    def __init__(self, url):
        super().__init__()
        self.url = url
        self.links, self.assets, self.forms = [], [], []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.assets.append(attrs["src"])
        elif tag == "link" and set((attrs.get("rel") or "").split()) & ASSET_RELS:
            self.assets.append(attrs["href"])
        elif tag == "form":
            action = urljoin(self.url, attrs.get("action") or self.url)
            self._form = Form((attrs.get("method") or "get").lower(), action)
            self.forms.append(self._form)
        elif (
            tag in ("input", "select", "textarea", "button")
            and self._form
            and attrs.get("name")
            and attrs.get("type") not in ("file", "image")
        ):
            self._form.fields.setdefault(attrs["name"], attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def same_site(url):
    """The path and query of ``url`` if it is on this site, else None."""
    target, _ = urldefrag(url)
    parts = urlsplit(target)
    if parts.scheme in ("", "http", "https") and parts.netloc in ("", "testserver"):
        return target.removeprefix("http://testserver")
    return None


class Crawl:
    """GET pages with one client, remember every failure and every static file they use."""

    def __init__(self, client):
        self.client = client
        # Record a server error and go on, so one run lists every failing page.
        client.raise_request_exception = False
        self.seen = {}
        self.assets = set()
        self.forms = {}

    def get(self, url):
        if url in self.seen:
            return self.seen[url]
        response = self.client.get(url)
        self.seen[url] = response
        response.links = []
        if response.get("Content-Type", "").startswith("text/html"):
            page = Links(url)
            page.feed(response.content.decode())
            response.links = [
                link for href in page.links if (link := same_site(urljoin(url, href)))
            ]
            self.assets.update(a for a in page.assets if a.startswith("/static/"))
            for form in page.forms:
                if same_site(form.action):
                    self.forms.setdefault(form.key, form)
        return response

    def follow(self, start, *, inside, limit=CRAWL_LIMIT):
        """Breadth first from ``start`` over links whose path starts with ``inside``."""
        queue, visited = deque(start), 0
        while queue and visited < limit:
            url = queue.popleft()
            if url in self.seen or not url.startswith(inside) or skipped(url):
                continue
            visited += 1
            queue.extend(self.get(url).links)

    def server_errors(self):
        return sorted(
            f"{r.status_code} {url}" for url, r in self.seen.items() if r.status_code >= 500
        )

    def missing_assets(self):
        missing = []
        for asset in sorted(self.assets):
            response = self.client.get(asset)
            if response.status_code != 200:
                missing.append(f"{response.status_code} {asset}")
        return missing


def skipped(url):
    # The admin is crawled model by model below; logging out would end the crawl's session.
    path = urlsplit(url).path
    return path.startswith(("/admin/", "/static/", "/media/")) or "logout" in path


def crawl_public(client):
    crawl = Crawl(client)
    crawl.follow(["/", "/procedures/", "/learn/", "/learn/my/", "/sitemap.xml"], inside="/")
    # sitemap.xml lists pages no menu links to; follow its <loc> entries too.
    sitemap = crawl.get("/sitemap.xml").content.decode()
    locs = [loc.split("</loc>")[0] for loc in sitemap.split("<loc>")[1:]]
    crawl.follow([urlsplit(loc).path for loc in locs], inside="/")
    return crawl


def crawl_admin(client, user):
    """Every changelist, add, change and history page the user's admin index offers, plus the
    admin pages linked from each change page (reports, previews, delete confirmations)."""
    crawl = Crawl(client)
    request = admin_request(user)
    crawl.get("/admin/")
    checked_change = []
    for app in admin.site.get_app_list(request):
        crawl.get(app["app_url"])
        for entry in app["models"]:
            model = entry["model"]
            opts = model._meta
            crawl.get(entry["admin_url"])
            if entry.get("add_url"):
                crawl.get(entry["add_url"])
            obj = admin.site.get_model_admin(model).get_queryset(request).first()
            if obj is None:
                continue
            change = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)]
            )
            checked_change.append(opts.label)
            prefix = change.rsplit("/", 2)[0] + "/"
            page = crawl.get(change)
            crawl.get(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[quote(obj.pk)])
            )
            crawl.follow(
                [link for link in page.links if link.startswith(prefix)], inside=prefix, limit=20
            )
    return crawl, checked_change


def admin_request(user):
    """A request to the admin index as ``user``: what the admin offers them is read from it."""
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def admin_entries(user):
    """The models of the user's admin index, each with its changelist and add URLs."""
    return [
        entry for app in admin.site.get_app_list(admin_request(user)) for entry in app["models"]
    ]


def offered_models(user):
    return {entry["model"]._meta.label for entry in admin_entries(user)}
