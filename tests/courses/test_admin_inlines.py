"""The lesson's figure inline offers no empty forms, and the module's lessons have a grip to
drag them by."""

import re

import pytest
from django.urls import reverse

from tests.factories import ContentEditorFactory, LessonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(ContentEditorFactory())
    return client


def test_a_new_lesson_shows_no_empty_figure_forms_only_add_another(editor_client):
    body = editor_client.get(reverse("admin:courses_lesson_add")).content.decode()

    assert re.findall(r'name="(\w+)-TOTAL_FORMS" value="(\d+)"', body) == [("figures", "0")]
    assert "Add another Lesson figure" in body


def test_the_lessons_of_a_module_are_sortable_with_the_admin_styles(editor_client):
    lesson = LessonFactory()

    body = editor_client.get(
        reverse("admin:courses_module_change", args=[lesson.module.pk])
    ).content.decode()

    assert '<fieldset class="module sortable" aria-labelledby="lessons-heading">' in body
    assert '<tr class="form-row has_original"' in body
    assert "/static/admin-extra/admin.css" in body
