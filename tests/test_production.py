"""The site as production runs it: static files collected into the manifest storage, debug off.

The test settings serve static files straight from the app folders, so a template or admin media
that names a file that is never collected passes every other test and fails with a 500 in
production ("Missing staticfiles manifest entry"). That happened to every sortable content admin
page once. These tests collect the static files with the production storage, then crawl every
public page and every admin changelist, add, change and history page as each role, and fail on
any server error or on a static file that production would not serve.
"""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.crawl import crawl_admin, crawl_public, offered_models
from tests.factories import (
    ContentEditorFactory,
    SubscriberManagerFactory,
    SuperuserFactory,
)

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


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
    settings.STORAGES = {**storages, "stack_uploads": settings.STORAGES["stack_uploads"]}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    return settings


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
