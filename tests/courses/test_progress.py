"""The course structure every course page reads is cached as plain data, not model instances:
what the cache holds does not depend on the models' internals, and reads back cheaply."""

import pytest
from django.db import models

from courses.progress import LessonEntry, ModuleEntry, course_structures
from tests.factories import EnrolmentFactory, LessonFactory, course_with_content

pytestmark = pytest.mark.django_db

PLAIN = (int, str, bool, type(None), tuple, ModuleEntry, LessonEntry)


def assert_plain(value):
    assert not isinstance(value, models.Model), value
    assert isinstance(value, PLAIN), type(value)
    if isinstance(value, ModuleEntry | LessonEntry):
        for name in value.__slots__:
            assert_plain(getattr(value, name))
    if isinstance(value, tuple):
        for item in value:
            assert_plain(item)


def test_the_cached_course_structure_is_plain_data(
    learner_client, learner, django_assert_num_queries
):
    course = course_with_content(modules=2, lessons=2, questions=1)
    module = course.modules.order_by("order").first()
    LessonFactory(module=module, order=99, title="Not ready yet", status="draft")
    EnrolmentFactory(user=learner, course=course)
    lesson = module.lessons.order_by("order").first()
    assert learner_client.get(lesson.get_absolute_url()).status_code == 200

    with django_assert_num_queries(0):
        structure = course_structures([course])[course.pk]

    assert_plain(structure)
    assert [m.title for m in structure] == [m.title for m in course.modules.order_by("order")]
    assert [entry.url for entry in structure[0].lessons] == [
        lesson.get_absolute_url()
        for lesson in module.lessons.filter(status="published").order_by("order", "pk")
    ]
    assert structure[0].quiz_url == f"{module.get_absolute_url()}questions/"
