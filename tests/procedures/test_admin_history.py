"""A procedure's history in the admin: who made each change, linked only for a viewer who may
open their page; no empty "change reason" column; nothing a strict CSP would block."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import ContentEditorFactory, ProcedureFactory, SuperuserFactory
from tests.procedures.test_admin import admin_form, change_url

pytestmark = pytest.mark.django_db

HISTORY_PAGE_QUERIES = 8


@pytest.fixture
def editor():
    return ContentEditorFactory(full_name="Eddie Editor")


@pytest.fixture
def procedure(editor):
    """A procedure created by a seed (no one recorded), then changed by ``editor`` in the admin."""
    procedure = ProcedureFactory(title="Nephrostomy")
    client = Client()
    client.force_login(editor)
    data, _ = admin_form(client.get(change_url(procedure)), "procedure_form")
    data["summary"] = ["A rewritten summary."]
    assert client.post(change_url(procedure), {**data, "_save": "Save"}).status_code == 302
    return procedure


def history_url(procedure):
    return reverse("admin:procedures_procedure_history", args=[procedure.pk])


def user_admin_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def test_a_content_editor_sees_who_changed_it_as_plain_text_not_a_link_they_cannot_open(
    client, editor, procedure
):
    client.force_login(editor)

    page = client.get(history_url(procedure))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Eddie Editor" in body
    assert user_admin_url(editor) not in body
    assert client.get(user_admin_url(editor)).status_code == 403
    # The seed's version names no one, and says so in words.
    assert re.search(r"<td>\s*<span[^>]*>Not recorded</span>\s*</td>", body)


def test_an_admin_who_may_open_the_editors_page_gets_a_link_to_it(client, editor, procedure):
    client.force_login(SuperuserFactory())

    page = client.get(history_url(procedure))

    assert f'<a href="{user_admin_url(editor)}">Eddie Editor</a>' in page.content.decode()
    assert client.get(user_admin_url(editor)).status_code == 200


def test_history_shows_no_change_reason_column_and_no_none(client, editor, procedure):
    client.force_login(editor)

    body = client.get(history_url(procedure)).content.decode()

    assert "Change reason" not in body
    assert "Reason" not in body
    assert not re.search(r"<td>\s*None\s*</td>", body)


def test_a_change_with_a_reason_shows_the_reason_column(client, editor, procedure):
    record = procedure.history.latest()
    record.history_change_reason = "Updated to the 2031 guideline"
    record.save()
    client.force_login(editor)

    body = client.get(history_url(procedure)).content.decode()

    assert '<th scope="col">Reason</th>' in body
    assert "Updated to the 2031 guideline" in body
    assert not re.search(r"<td>\s*None\s*</td>", body)


def test_history_page_has_no_inline_styles_and_loads_the_admin_styles(client, editor, procedure):
    client.force_login(editor)

    body = client.get(history_url(procedure)).content.decode()

    assert "style=" not in body
    assert "/static/admin-extra/admin.css" in body


def test_history_page_query_budget(client, editor, procedure, django_assert_max_num_queries):
    for n in range(5):
        procedure.summary = f"Summary {n}."
        procedure.save()
    client.force_login(editor)

    with django_assert_max_num_queries(HISTORY_PAGE_QUERIES):
        response = client.get(history_url(procedure))

    assert response.status_code == 200
