"""The site as production runs it: static files collected into the manifest storage, debug off.

The test settings serve static files straight from the app folders, so a template or admin media
that names a file that is never collected passes every other test and fails with a 500 in
production ("Missing staticfiles manifest entry"). That happened to every sortable content admin
page once. These tests collect the static files with the production storage, then crawl every
public page and every admin changelist, add, change and history page as each role, and fail on
any server error or on a static file that production would not serve.
"""

from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import reverse

from courses import services as course_services
from courses.models import Course, Lesson
from irlearn.newsletter import sending
from irlearn.newsletter.services import subscriber_subscribe
from tests.factories import (
    ContentEditorFactory,
    SubscriberManagerFactory,
    SuperuserFactory,
    UserFactory,
    course_with_content,
)
from tests.newsletter.factories import IssueFactory, SubscriberFactory

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
# Pages reached by following links, per client: enough for every page type, bounded for CI.
CRAWL_LIMIT = 400


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory):
    """Run collectstatic once, with the storage and options production uses."""
    root = tmp_path_factory.mktemp("staticfiles")
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    with override_settings(STATIC_ROOT=root, STORAGES=storages, DEBUG=False):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root, storages


@pytest.fixture
def production(settings, collected_static):
    """Serve the collected files through whitenoise, as `make serve` does; no finders."""
    root, storages = collected_static
    settings.DEBUG = False
    settings.STATIC_ROOT = root
    settings.STORAGES = storages
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    return settings


@pytest.fixture
def site_content(db, settings, django_capture_on_commit_callbacks):
    """Demo content plus a row in every table the admin shows (so every change page is seen)."""
    call_command("seed_demo", "--no-accounts", verbosity=0)
    learner = UserFactory(full_name="Crawl Learner")
    # A finished course: enrolment, lesson progress, attempts, completions and a certificate.
    course = course_with_content(modules=1, lessons=1, questions=1, title="Crawl course")
    course_services.enrolment_create(user=learner, course=course)
    for lesson in Lesson.objects.filter(module__course=course):
        course_services.lesson_complete(user=learner, lesson=lesson)
    module = course.modules.get()
    attempt = course_services.attempt_start(user=learner, module=module)
    question = module.questions.get()
    course_services.answer_submit(attempt=attempt, question_id=question.pk, choice="b")
    for other in Course.objects.exclude(pk=course.pk):
        course_services.enrolment_create(user=learner, course=other)
    # Newsletter: a pending sign-up (consent record), a subscriber, an issue with deliveries and
    # the queued send tasks in the database backend's table.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        subscriber_subscribe(
            email="crawl-reader@example.org", wording="Yes please", source="/", ip_address=None
        )
        SubscriberFactory()
        issue = IssueFactory()
        sending.issue_send_start(issue_id=issue.pk)
    return learner


ASSET_RELS = {"stylesheet", "icon", "preload", "modulepreload"}


class Links(HTMLParser):
    """Links and static assets of one HTML page."""

    def __init__(self):
        super().__init__()
        self.links, self.assets = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.assets.append(attrs["src"])
        elif tag == "link" and set((attrs.get("rel") or "").split()) & ASSET_RELS:
            self.assets.append(attrs["href"])


def page_links(url, response):
    parser = Links()
    parser.feed(response.content.decode())
    same_site = []
    for href in parser.links:
        target, _ = urldefrag(urljoin(url, href))
        parts = urlsplit(target)
        if parts.scheme in ("", "http", "https") and parts.netloc in ("", "testserver"):
            same_site.append(target.removeprefix("http://testserver"))
    return same_site, [a for a in parser.assets if a.startswith("/static/")]


class Crawl:
    """GET pages with one client, remember every failure and every static file they use."""

    def __init__(self, client):
        self.client = client
        # Record a server error and go on, so one run lists every failing page.
        client.raise_request_exception = False
        self.seen = {}
        self.assets = set()

    def get(self, url):
        if url in self.seen:
            return self.seen[url]
        response = self.client.get(url)
        self.seen[url] = response
        if response.get("Content-Type", "").startswith("text/html"):
            links, assets = page_links(url, response)
            self.assets.update(assets)
            response.links = links
        else:
            response.links = []
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
    sitemap = client.get("/sitemap.xml").content.decode()
    locs = [loc.split("</loc>")[0] for loc in sitemap.split("<loc>")[1:]]
    crawl.follow([urlsplit(loc).path for loc in locs], inside="/")
    return crawl


def crawl_admin(client, user):
    """Every changelist, add, change and history page the user's admin index offers, plus the
    admin pages linked from each change page (reports, previews, delete confirmations)."""
    crawl = Crawl(client)
    request = RequestFactory().get("/admin/")
    request.user = user
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


def offered_models(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return {
        entry["model"]._meta.label
        for app in admin.site.get_app_list(request)
        for entry in app["models"]
    }


def assert_clean(crawl):
    assert crawl.server_errors() == []
    assert crawl.missing_assets() == []


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "learner"])
def test_every_public_page_serves_under_production_settings(production, site_content, client, who):
    if who == "learner":
        client.force_login(site_content)
    crawl = crawl_public(client)
    assert len(crawl.seen) > 50, "the crawl should reach procedures, courses and lessons"
    if who == "learner":
        assert any("/lessons/" in url or "/questions/" in url for url in crawl.seen)
    assert_clean(crawl)


ROLES = {
    "superuser": SuperuserFactory,
    "content editor": ContentEditorFactory,
    "subscriber manager": SubscriberManagerFactory,
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_serves_under_production_settings(production, site_content, client, role):
    user = ROLES[role]()
    client.force_login(user)
    crawl, checked_change = crawl_admin(client, user)
    assert checked_change, "the role should see at least one model"
    if role == "superuser":
        # Every model in the admin has a row, so every kind of change page was rendered.
        assert set(checked_change) == offered_models(user)
    assert_clean(crawl)
    # The public pages look different to staff (preview links, drafts): crawl them as well.
    assert_clean(crawl_public(client))


def test_the_sortable_admin_actions_shim_is_still_needed():
    """static/adminsortable2/js/actions-6.1.js stands in for a file django-admin-sortable2 does
    not ship for this Django. When the library ships its own, delete ours: this test says when."""
    import django
    from django.conf import settings
    from django.contrib.staticfiles import finders

    name = "adminsortable2/js/actions-{}.{}.js".format(*django.VERSION[:2])
    ours = settings.BASE_DIR / "static"
    found = [Path(path) for path in finders.find(name, find_all=True)]
    assert ours / name in found
    theirs = [path for path in found if not path.is_relative_to(ours)]
    assert theirs == [], f"django-admin-sortable2 now ships {name}: delete our shim"
