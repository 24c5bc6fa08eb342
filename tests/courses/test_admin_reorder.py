"""Reordering courses by drag and drop in the admin shows in the cached catalogue at once."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from courses.models import Course
from tests.factories import ContentEditorFactory, CourseFactory

pytestmark = pytest.mark.django_db


def test_a_drag_and_drop_reorder_of_courses_shows_in_the_cached_catalogue_at_once(client):
    first = CourseFactory(title="IR Bites", order=1)
    second = CourseFactory(title="Vascular access", order=2)
    before = client.get("/learn/").content.decode()
    assert client.get("/learn/")["X-Page-Cache"] == "hit"
    assert before.index("IR Bites") < before.index("Vascular access")
    editor = Client()
    editor.force_login(ContentEditorFactory())

    response = editor.post(
        reverse("admin:courses_course_sortable_update"),
        json.dumps({"updatedItems": [[str(second.pk), 1], [str(first.pk), 2]]}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert list(Course.objects.order_by("order").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]
    after = client.get("/learn/")
    assert "X-Page-Cache" not in after
    html = after.content.decode()
    assert html.index("Vascular access") < html.index("IR Bites")
