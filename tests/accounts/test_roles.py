"""Staff roles in the admin, checked over every registered model so that models added by later
apps are covered without touching this file."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from irlearn.accounts.roles import CONTENT_EDITORS, ROLE_APP_LABELS, SUBSCRIBER_MANAGERS
from tests.factories import (
    ContentEditorFactory,
    StaffFactory,
    SubscriberManagerFactory,
    SuperuserFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLE_FACTORIES = {
    CONTENT_EDITORS: ContentEditorFactory,
    SUBSCRIBER_MANAGERS: SubscriberManagerFactory,
}


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


def changelist_url(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def models_on_admin_index(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{entry['object_name']}".lower()
        for app in response.context["app_list"]
        for entry in app["models"]
    }


def split_by_role(role):
    allowed = [m for m in registered_models() if m._meta.app_label in ROLE_APP_LABELS[role]]
    forbidden = [m for m in registered_models() if m._meta.app_label not in ROLE_APP_LABELS[role]]
    return allowed, forbidden


def test_the_data_migration_created_both_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        CONTENT_EDITORS,
        SUBSCRIBER_MANAGERS,
    }


@pytest.mark.parametrize("role", [CONTENT_EDITORS, SUBSCRIBER_MANAGERS])
def test_each_role_holds_every_permission_of_its_apps_and_nothing_else(role):
    labels = ROLE_APP_LABELS[role]
    granted = set(Group.objects.get(name=role).permissions.all())

    assert granted == set(Permission.objects.filter(content_type__app_label__in=labels))
    assert all(p.content_type.app_label in labels for p in granted)


def test_the_roles_do_not_overlap():
    assert not set(ROLE_APP_LABELS[CONTENT_EDITORS]) & set(ROLE_APP_LABELS[SUBSCRIBER_MANAGERS])


def test_no_role_can_manage_users_groups_or_tasks():
    for role in ROLE_APP_LABELS:
        assert not {"accounts", "auth", "account", "django_tasks_database"} & set(
            ROLE_APP_LABELS[role]
        )


def test_content_editors_look_after_the_site_pages():
    # Keeps the generic tests below meaningful: editors have at least one model today.
    allowed, _ = split_by_role(CONTENT_EDITORS)
    assert "pages.Page" in {m._meta.label for m in allowed}


@pytest.mark.parametrize("role", [CONTENT_EDITORS, SUBSCRIBER_MANAGERS])
def test_role_sees_and_opens_exactly_the_models_of_its_apps(client, role):
    client.force_login(ROLE_FACTORIES[role]())
    allowed, forbidden = split_by_role(role)

    assert models_on_admin_index(client) == {m._meta.label_lower for m in allowed}
    for model in allowed:
        assert client.get(changelist_url(model)).status_code == 200, model._meta.label
    for model in forbidden:
        assert client.get(changelist_url(model)).status_code == 403, model._meta.label


@pytest.mark.parametrize("role", [CONTENT_EDITORS, SUBSCRIBER_MANAGERS])
def test_role_is_refused_users_and_groups(client, role):
    client.force_login(ROLE_FACTORIES[role]())

    for label in ["accounts.User", "auth.Group"]:
        assert label in {m._meta.label for m in split_by_role(role)[1]}
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403


def test_subscriber_managers_are_refused_the_site_pages(client):
    client.force_login(SubscriberManagerFactory())

    response = client.get(reverse("admin:pages_page_changelist"))

    assert response.status_code == 403
    assert "You do not have access to this page" in response.content.decode()


def test_content_editors_can_add_and_change_a_page(client):
    from irlearn.pages.models import Page

    client.force_login(ContentEditorFactory())
    page = Page.objects.get(slug="about")

    assert client.get(reverse("admin:pages_page_add")).status_code == 200
    response = client.post(
        reverse("admin:pages_page_change", args=[page.pk]),
        {"title": "About us", "slug": "about", "summary": "", "body": "Hello"},
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.title == "About us"


def test_staff_without_a_role_sees_nothing(client):
    client.force_login(StaffFactory())

    assert models_on_admin_index(client) == set()
    for model in registered_models():
        assert client.get(changelist_url(model)).status_code == 403, model._meta.label


def test_superuser_sees_and_opens_every_model(client):
    client.force_login(SuperuserFactory())

    assert models_on_admin_index(client) == {m._meta.label_lower for m in registered_models()}
    for model in registered_models():
        assert client.get(changelist_url(model)).status_code == 200, model._meta.label


def test_learner_is_sent_to_the_admin_login(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    for model in registered_models():
        response = client.get(changelist_url(model))
        assert response.status_code == 302, model._meta.label
        assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
