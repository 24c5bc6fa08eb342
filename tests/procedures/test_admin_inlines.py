"""The figure inline on a procedure's page: no empty forms, an "add another" link, and a grip
to drag each figure by (the admin's extra styles)."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import ContentEditorFactory, FigureFactory, ProcedureFactory
from tests.procedures.test_admin import change_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(ContentEditorFactory())
    return client


def total_forms(body, prefix):
    return int(re.search(rf'name="{prefix}-TOTAL_FORMS" value="(\d+)"', body).group(1))


def test_a_new_procedure_shows_no_empty_figure_forms_only_add_another(editor_client):
    body = editor_client.get(reverse("admin:procedures_procedure_add")).content.decode()

    assert total_forms(body, "figures") == 0
    assert "Add another Figure" in body


def test_a_procedure_with_a_figure_shows_just_that_figure_and_add_another(editor_client):
    procedure = ProcedureFactory()
    FigureFactory(procedure=procedure)

    body = editor_client.get(change_url(procedure)).content.decode()

    assert total_forms(body, "figures") == 1
    assert 'id="figures-0"' in body
    assert 'id="figures-1"' not in body
    assert "Add another Figure" in body


def test_the_figure_inline_is_sortable_with_a_visible_grip(editor_client):
    procedure = ProcedureFactory()
    FigureFactory(procedure=procedure)

    body = editor_client.get(change_url(procedure)).content.decode()

    assert '<fieldset class="module sortable"' in body
    assert "/static/admin-extra/admin.css" in body
    css = Path(finders.find("admin-extra/admin.css")).read_text(encoding="utf-8")
    # The grip is drawn on the rows that sortable2 drags by (its handles: "h3", "td.original p").
    assert "fieldset.sortable .inline-related.has_original > h3::before" in css
    assert "fieldset.sortable tr.has_original td.original p::before" in css
    assert finders.find("admin-extra/grip.svg")
    assert "style=" not in body.split('id="figures-group"')[1].split("</fieldset>")[0]
