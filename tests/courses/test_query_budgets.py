"""The e-learning pages cost a fixed number of queries, however many courses, modules, lessons,
questions and enrolments there are."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import services
from courses.models import Attempt, Course, LessonFigure, LessonProgress, ModuleCompletion
from tests.factories import (
    EnrolmentFactory,
    LessonFactory,
    ModuleFactory,
    QuestionFactory,
    course_with_content,
    png_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _render_every_time(settings):
    """These budgets are for rendering a page; anonymous visitors usually get it from the page
    cache at no query at all (tests/test_pagecache.py)."""
    settings.PAGE_CACHE_SECONDS = 0


# The most queries any of these pages may run, session and user included, with the footer's
# subscriber count on a cold cache. Raise it only on purpose: a query per course, module,
# lesson or enrolment is exactly what this is here to catch.
PAGE_QUERIES = 12
PAGES = ["lesson", "course-anonymous", "course-learner", "quiz", "catalogue", "dashboard"]


def add_figure(lesson):
    LessonFigure.objects.create(
        lesson=lesson,
        image=ContentFile(png_bytes(), name="figure.png"),
        alt_text=f"A diagram for {lesson.title}",
    )


def give_progress(learner, course):
    """Enrol ``learner`` and leave them part way: the first module done (lessons read and
    questions passed), half the lessons of the others read, and a failed attempt at each."""
    EnrolmentFactory(user=learner, course=course)
    modules = list(course.modules.order_by("order"))
    for index, module in enumerate(modules):
        lessons = list(module.lessons.order_by("order"))
        read = lessons if index == 0 else lessons[: len(lessons) // 2]
        LessonProgress.objects.bulk_create(
            [LessonProgress(user=learner, lesson=lesson) for lesson in read]
        )
        question_ids = list(module.questions.values_list("pk", flat=True))
        passed = index == 0
        Attempt.objects.create(
            user=learner,
            module=module,
            question_ids=question_ids,
            pass_mark=module.pass_mark,
            total=len(question_ids),
            score=len(question_ids) if passed else 0,
            passed=passed,
            finished_at=module.created_at,
        )
        if passed:
            ModuleCompletion.objects.create(user=learner, module=module)


def build_small(learner):
    """One course of one module with two lessons (and a question), the learner enrolled on it
    with some progress."""
    course = course_with_content(modules=1, lessons=2, questions=1, title="Budget course")
    first = course.modules.get().lessons.order_by("order").first()
    add_figure(first)
    give_progress(learner, course)
    return course


def build_large(learner, course):
    """Grow ``course`` to six modules of eight lessons (each with a figure) and five questions,
    with three more attempts at its first module, and add four more such courses, one of them
    complete with a certificate and one the learner left: the learner is enrolled on all five
    with progress in each. Also a draft course, and other learners on ``course``."""
    first_module = course.modules.get()
    for n in range(2, 8):
        add_figure(LessonFactory(module=first_module, title=f"Extra lesson {n}", order=n))
    for n in range(1, 5):
        QuestionFactory(module=first_module, order=n)
    for m in range(1, 6):
        module = ModuleFactory(course=course, title=f"Budget course extra module {m}", order=m)
        for n in range(8):
            add_figure(LessonFactory(module=module, title=f"{module.title} lesson {n}", order=n))
        QuestionFactory.create_batch(5, module=module)
    LessonProgress.objects.bulk_create(
        [
            LessonProgress(user=learner, lesson=lesson)
            for lesson in first_module.lessons.exclude(progress__user=learner)
        ]
    )
    for _ in range(3):
        Attempt.objects.create(
            user=learner,
            module=first_module,
            question_ids=[],
            pass_mark=80,
            total=5,
            score=1,
            passed=False,
            finished_at=first_module.created_at,
        )
    for c in range(4):
        other = course_with_content(modules=6, lessons=8, questions=5, title=f"Other course {c}")
        give_progress(learner, other)
    complete, left = Course.objects.filter(title__startswith="Other course").order_by("pk")[:2]
    for module in complete.modules.all():
        LessonProgress.objects.bulk_create(
            [
                LessonProgress(user=learner, lesson=lesson)
                for lesson in module.lessons.exclude(progress__user=learner)
            ]
        )
        ModuleCompletion.objects.get_or_create(user=learner, module=module)
    assert services.certificate_issue_if_complete(user=learner, course=complete) is not None
    services.enrolment_cancel(user=learner, course=left)
    # Drafts and other learners' enrolments the pages must leave out.
    course_with_content(modules=2, lessons=3, questions=2, title="Draft course", status="draft")
    EnrolmentFactory.create_batch(5, course=course)


def page_url(name, course):
    module = course.modules.order_by("order").first()
    lesson = module.lessons.order_by("order").first()
    return {
        "lesson": lesson.get_absolute_url(),
        "course-anonymous": course.get_absolute_url(),
        "course-learner": course.get_absolute_url(),
        "quiz": reverse("courses:quiz", args=[course.slug, module.slug]),
        "catalogue": reverse("courses:catalogue"),
        "dashboard": reverse("courses:dashboard"),
    }[name]


def client_for(name, client, learner_client):
    return client if name == "course-anonymous" else learner_client


def get_page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response


def assert_full(response, name, *, large):
    """The page really shows what the budget is for: every module, lesson and course."""
    content = response.content.decode()
    modules, lessons = (6, 6 * 8) if large else (1, 2)
    if name in {"lesson", "quiz"}:
        # A tick for every lesson and for every module's questions.
        assert content.count('class="outline-tick"') == lessons + modules
        assert content.count('class="module-outline') == modules
    if name == "lesson":
        assert content.count('class="figure-img') == 1
    if name == "quiz":
        assert content.count(">Passed<span") == 1
        assert content.count(">Not passed<span") == (3 if large else 0)
    if name.startswith("course"):
        assert content.count('class="syllabus-module') == modules
    if name == "course-learner":
        assert content.count('class="outline-tick"') == lessons + modules
    if name == "catalogue":
        assert content.count('class="card h-100 course-card"') == (5 if large else 1)
        assert "Draft course" not in content
        assert content.count("Your progress</span>") == (3 if large else 1)
        assert content.count(">Completed</span>") == (1 if large else 0)
    if name == "dashboard":
        in_progress, completed, left = (
            response.context[key] for key in ("in_progress", "completed", "left")
        )
        assert (len(in_progress), len(completed), len(left)) == ((3, 1, 1) if large else (1, 0, 0))


@pytest.mark.parametrize("name", PAGES)
def test_page_runs_at_most_twelve_queries_on_a_cold_cache(
    client, learner, django_assert_max_num_queries, name
):
    course = build_small(learner)
    build_large(learner, course)
    url = page_url(name, course)
    if name != "course-anonymous":
        client.force_login(learner)

    with django_assert_max_num_queries(PAGE_QUERIES):
        response = get_page(client, url)

    assert_full(response, name, large=True)


@pytest.mark.parametrize("name", PAGES)
def test_page_runs_as_many_queries_for_five_large_courses_as_for_one_small(
    client, learner, django_assert_max_num_queries, name
):
    course = build_small(learner)
    url = page_url(name, course)
    if name != "course-anonymous":
        client.force_login(learner)
    # Warm the cache the site shell uses (the footer's subscriber count), so that both
    # measurements count the page's own queries only.
    get_page(client, url)
    with django_assert_max_num_queries(PAGE_QUERIES) as small:
        small_response = get_page(client, url)

    build_large(learner, course)
    # New content retires the cached course structures: warm them again, as the first
    # learner after a change does for everyone.
    get_page(client, url)
    with CaptureQueriesContext(connection) as large:
        large_response = get_page(client, url)

    assert len(large) == len(small), [query["sql"] for query in large]
    assert_full(small_response, name, large=False)
    assert_full(large_response, name, large=True)
