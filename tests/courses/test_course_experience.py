"""Finishing a course and finding one's way, through the HTTP client: the course complete page,
the course page's first action, the module page after new content, My learning's next steps,
the certificate check for an unknown code, and what irlearn.markup does to editors' headings and
tables on a lesson page."""

import io
import re

import pytest
from django.urls import reverse
from pdfminer.high_level import extract_text
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from courses import services
from courses.models import Certificate, Lesson
from irlearn.markup import render_markdown
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    LessonFactory,
    QuestionFactory,
    UserFactory,
    course_with_content,
)

pytestmark = pytest.mark.django_db

DASHBOARD_URL = reverse("courses:dashboard")
LOOKUP_URL = reverse("courses:certificate-lookup")


def complete_page(course):
    return reverse("courses:course-complete", args=[course.slug])


def finish(user, course):
    """Enrol ``user`` and complete every lesson and module of ``course`` (no questions)."""
    services.enrolment_create(user=user, course=course)
    for module in course.modules.all():
        for lesson in module.lessons.all():
            services.lesson_complete(user=user, lesson=lesson)
    return Certificate.objects.get(user=user, course=course)


def position(content, text):
    index = content.find(text)
    assert index >= 0, f"{text!r} is not on the page"
    return index


# The course complete page.


def test_the_last_lesson_marked_complete_opens_the_course_complete_page(learner_client, learner):
    course = course_with_content(title="Nephrostomy care", modules=1, lessons=2, questions=0)
    services.enrolment_create(user=learner, course=course)
    first, last = course.modules.get().lessons.order_by("order")
    services.lesson_complete(user=learner, lesson=first)

    response = learner_client.post(
        reverse("courses:lesson-complete", args=[course.slug, last.module.slug, last.slug])
    )

    assertRedirects(response, complete_page(course), fetch_redirect_response=False)
    page = learner_client.get(complete_page(course))
    certificate = Certificate.objects.get(user=learner, course=course)
    assertContains(page, "Well done, you have completed Nephrostomy care")
    assertContains(page, learner.full_name)
    assertContains(
        page, f'href="{reverse("courses:certificate-pdf", args=[certificate.code])}">Download'
    )
    # The verification link in full, to copy or send, and the page it leads to.
    assertContains(page, f'value="http://testserver{certificate.get_absolute_url()}" readonly')
    assertContains(page, f'href="{certificate.get_absolute_url()}">Open the verification page')


def test_the_course_complete_page_suggests_courses_not_taken_yet(learner_client, learner):
    done = finish(learner, course_with_content(title="Done", modules=1, lessons=1, questions=0))
    going = course_with_content(title="Going", modules=1, lessons=1, questions=0)
    EnrolmentFactory(user=learner, course=going)
    left = course_with_content(title="Left behind", modules=1, lessons=1, questions=0)
    services.enrolment_create(user=learner, course=left)
    services.enrolment_cancel(user=learner, course=left)
    fresh = course_with_content(title="Fresh start", modules=2, lessons=1, questions=0)
    CourseFactory(title="Still a draft", status="draft")

    response = learner_client.get(complete_page(done.course))

    assert [c.title for c in response.context["suggestions"]] == ["Fresh start", "Left behind"]
    assertContains(response, f'href="{fresh.get_absolute_url()}">Fresh start</a>')
    assertNotContains(response, "Still a draft")
    assertNotContains(response, f'href="{going.get_absolute_url()}"')


def test_the_course_complete_page_says_so_when_every_course_is_taken(learner_client, learner):
    certificate = finish(learner, course_with_content(modules=1, lessons=1, questions=0))

    response = learner_client.get(complete_page(certificate.course))

    assertContains(response, "You have taken every course we offer so far.")


def test_the_course_complete_page_mentions_cpd_hours_only_when_the_course_gives_some(
    learner_client, learner
):
    with_cpd = finish(learner, course_with_content(modules=1, questions=0, cpd_hours="2.5"))
    without = finish(learner, course_with_content(modules=1, questions=0, cpd_hours="0"))

    assertContains(learner_client.get(complete_page(with_cpd.course)), "2.5 CPD hours")
    response = learner_client.get(complete_page(without.course))
    assertNotContains(response, "CPD")


def test_an_unfinished_course_has_no_complete_page(learner_client, learner):
    course = course_with_content(modules=1, lessons=2, questions=0)
    EnrolmentFactory(user=learner, course=course)

    response = learner_client.get(complete_page(course))

    assertRedirects(response, course.get_absolute_url(), fetch_redirect_response=False)


def test_the_course_complete_page_needs_a_login_and_shows_only_ones_own(client, learner):
    certificate = finish(learner, course_with_content(modules=1, lessons=1, questions=0))
    url = complete_page(certificate.course)

    response = client.get(url)
    assertRedirects(
        response, f"{reverse('account_login')}?next={url}", fetch_redirect_response=False
    )
    client.force_login(UserFactory())
    assertRedirects(
        client.get(url), certificate.course.get_absolute_url(), fetch_redirect_response=False
    )


def test_the_complete_page_of_a_revoked_certificate_offers_no_download(learner_client, learner):
    certificate = finish(learner, course_with_content(modules=1, lessons=1, questions=0))
    services.certificate_revoke(certificates=Certificate.objects.filter(pk=certificate.pk))

    response = learner_client.get(complete_page(certificate.course))

    assertContains(response, "This certificate was revoked")
    assertNotContains(response, reverse("courses:certificate-pdf", args=[certificate.code]))


# One query each: session, user, course, certificate, the courses to suggest; and the footer's
# subscriber count on a cold cache.
COMPLETE_PAGE_QUERIES = 6


def test_the_course_complete_page_runs_as_many_queries_with_many_courses_as_with_one(
    learner_client, learner, django_assert_num_queries, settings
):
    settings.PAGE_CACHE_SECONDS = 0
    url = complete_page(finish(learner, course_with_content(modules=1, questions=0)).course)
    with django_assert_num_queries(COMPLETE_PAGE_QUERIES):
        learner_client.get(url)

    for n in range(6):
        course_with_content(title=f"Other {n}", modules=3, lessons=2, questions=2)
        finish(learner, course_with_content(title=f"Done {n}", modules=1, questions=0))
    # The footer's count is cached by now.
    with django_assert_num_queries(COMPLETE_PAGE_QUERIES - 1):
        response = learner_client.get(url)

    assert len(response.context["suggestions"]) == 3


def test_my_learning_links_each_completed_course_to_its_complete_page(learner_client, learner):
    certificate = finish(learner, course_with_content(title="Done", modules=1, questions=0))

    response = learner_client.get(DASHBOARD_URL)

    assertContains(response, f'href="{complete_page(certificate.course)}">Your certificate')


def test_the_score_page_of_the_last_module_offers_the_certificate_not_continue(
    learner_client, learner
):
    course = course_with_content(title="Short course", modules=1, lessons=1, questions=1)
    services.enrolment_create(user=learner, course=course)
    module = course.modules.get()
    services.lesson_complete(user=learner, lesson=module.lessons.get())
    attempt = services.attempt_start(user=learner, module=module)
    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[0], choice="b")

    response = learner_client.get(reverse("courses:attempt-result", args=[attempt.pk]))

    assertContains(response, "You have completed Short course.")
    assertContains(response, f'href="{complete_page(course)}">See your certificate')
    assertNotContains(response, "Continue the course")


# The course page.


def test_the_course_page_puts_enrol_before_what_the_course_holds(learner_client):
    course = course_with_content(modules=3, lessons=4, questions=1)

    content = learner_client.get(course.get_absolute_url()).content.decode()

    assert position(content, ">Enrol</button>") < position(content, 'id="audience-heading"')
    assert position(content, ">Enrol</button>") < position(content, 'id="syllabus-heading"')


def test_a_finished_course_page_offers_the_certificate_and_no_continue(learner_client, learner):
    certificate = finish(learner, course_with_content(modules=2, lessons=2, questions=0))

    response = learner_client.get(certificate.course.get_absolute_url())

    assertContains(response, "You completed this course")
    assertContains(response, f'href="{complete_page(certificate.course)}">Your certificate')
    for offer in ("Continue", "Resume", reverse("courses:resume", args=[certificate.course.slug])):
        assertNotContains(response, offer)


# A module completed before new content was added.


def test_a_completed_module_with_new_lessons_says_what_is_new(learner_client, learner):
    course = course_with_content(modules=1, lessons=2, questions=1)
    module = course.modules.get()
    services.enrolment_create(user=learner, course=course)
    for lesson in module.lessons.all():
        services.lesson_complete(user=learner, lesson=lesson)
    attempt = services.attempt_start(user=learner, module=module)
    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[0], choice="b")
    new = [
        LessonFactory(module=module, title=f"Brand new lesson {n}", order=10 + n) for n in (1, 2)
    ]

    for url in (
        module.get_absolute_url(),
        reverse("courses:quiz", args=[course.slug, module.slug]),
    ):
        response = learner_client.get(url)
        assertContains(response, "2 new lessons since you completed this module")
        for lesson in new:
            assertContains(response, f'<a href="{lesson.get_absolute_url()}">{lesson.title}</a>')
        assertNotContains(response, "complete once you have also marked every lesson complete")


def test_a_module_not_completed_yet_says_nothing_is_new(learner_client, learner):
    course = course_with_content(modules=1, lessons=2, questions=1)
    module = course.modules.get()
    EnrolmentFactory(user=learner, course=course)

    response = learner_client.get(reverse("courses:quiz", args=[course.slug, module.slug]))

    assertNotContains(response, "since you completed this module")
    assertContains(response, "complete once you have also marked every lesson complete")


# My learning.


def test_my_learning_names_the_next_step_of_each_course_in_progress(learner_client, learner):
    course = course_with_content(title="Going", modules=2, lessons=2, questions=1)
    EnrolmentFactory(user=learner, course=course)
    first_module = course.modules.order_by("order").first()
    for lesson in first_module.lessons.all():
        services.lesson_complete(user=learner, lesson=lesson)

    response = learner_client.get(DASHBOARD_URL)

    assertContains(response, f"Next:</span> Questions: {first_module.title}")


# The certificate check.


def test_an_unknown_code_is_a_404_page_with_a_form_to_type_it_again(client):
    response = client.get(reverse("courses:certificate-verify", args=["ZZZZ-ZZZZ-ZZZZ"]))

    assert response.status_code == 404
    assertContains(response, "Certificate not found", status_code=404)
    assertContains(
        response, "No IRLearn certificate has the code “ZZZZ-ZZZZ-ZZZZ”", status_code=404
    )
    assertContains(response, f'action="{LOOKUP_URL}"', status_code=404)
    assertContains(response, 'name="code" type="text" value="ZZZZ-ZZZZ-ZZZZ"', status_code=404)


def test_the_code_form_goes_to_the_certificate_however_the_code_is_typed(client, learner):
    certificate = finish(learner, course_with_content(modules=1, lessons=1, questions=0))
    typed = f"  {certificate.code.replace('-', ' ').lower()} "

    response = client.get(LOOKUP_URL, {"code": typed})

    assertRedirects(response, certificate.get_absolute_url())


def test_the_code_form_says_when_no_certificate_has_the_code(client):
    response = client.get(LOOKUP_URL, {"code": "<b>nope</b>"})

    assert response.status_code == 404
    assertContains(
        response, "No IRLearn certificate has the code “&lt;b&gt;nope&lt;/b&gt;”", status_code=404
    )


def test_the_code_form_without_a_code_asks_for_one(client):
    response = client.get(LOOKUP_URL)

    assert response.status_code == 200
    assertContains(response, "Check a certificate")
    assertContains(response, 'for="certificate-code">Certificate code</label>')


# Editors' headings and tables on the lesson page (irlearn/markup.py).


def lesson_page(client, learner, body):
    course = course_with_content(modules=1, lessons=0, questions=0)
    lesson = LessonFactory(module=course.modules.get(), body=body)
    EnrolmentFactory(user=learner, course=course)
    return client.get(lesson.get_absolute_url()).content.decode()


def headings(html):
    return re.findall(r"<(h[1-6])\b[^>]*>([^<]*)<", html)


def test_an_editors_headings_nest_under_the_lesson_title_without_gaps(learner_client, learner):
    body = "### Before\n\ntext\n\n##### Detail\n\ntext\n\n# After\n\ntext"

    content = lesson_page(learner_client, learner, body)

    body_html = content.split('class="lesson-body">', 1)[1].split("</div>", 1)[0]
    assert headings(body_html) == [("h2", "Before"), ("h3", "Detail"), ("h2", "After")]


def test_a_learning_points_headings_nest_under_its_own_heading():
    question = QuestionFactory.build(learning_point="## Remember\n\nDrain first.")

    assert headings(question.learning_point_html) == [("h3", "Remember")]


@pytest.mark.parametrize(
    ("markdown", "under", "expected"),
    [
        ("## A\n\n## B", 1, [("h2", "A"), ("h2", "B")]),
        ("## A\n\n#### B\n\n### C\n\n## D", 1,
         [("h2", "A"), ("h3", "B"), ("h3", "C"), ("h2", "D")]),
        ("## A\n\n### B", 2, [("h3", "A"), ("h4", "B")]),
        ("# A\n\n## B\n\n### C\n\n#### D\n\n##### E\n\n###### F", 3,
         [("h4", "A"), ("h5", "B"), ("h6", "C"), ("h6", "D"), ("h6", "E"), ("h6", "F")]),
    ],
)  # fmt: skip
def test_fit_under_renumbers_headings_below_the_page_heading(markdown, under, expected):
    assert headings(render_markdown(markdown, fit_under=under)) == expected


def test_without_fit_under_heading_levels_are_as_before():
    assert headings(render_markdown("## A\n\n#### B")) == [("h2", "A"), ("h4", "B")]
    assert headings(render_markdown("# A", heading_level=3)) == [("h3", "A")]


TABLE = "| Situation | Usual approach |\n|---|---|\n| Septic | Drain today |\n"


def test_a_markdown_table_scrolls_in_a_named_focusable_box(learner_client, learner):
    content = lesson_page(learner_client, learner, f"Text.\n\n{TABLE}\nMore.\n\n{TABLE}")

    boxes = re.findall(r'<div class="table-scroll"[^>]*>\s*<table>', content)
    assert boxes == [
        '<div class="table-scroll" role="region" tabindex="0" '
        f'aria-label="Table {n}: Situation, Usual approach"><table>'
        for n in (1, 2)
    ]
    assert content.count("</table></div>") == 2
    assert '<th scope="col">Situation</th>' in content


def test_an_empty_corner_header_cell_becomes_an_ordinary_cell():
    html = render_markdown("| | Dose |\n|---|---|\n| Adult | 1 g |\n")

    assert "<td></td>" in html
    assert '<th scope="col">Dose</th>' in html
    assert "<th></th>" not in html


def test_an_editors_own_html_cannot_make_a_focusable_box_or_break_the_wrapping():
    html = render_markdown(
        '<div tabindex="0" role="region" class="x">Hi</div>\n\n'
        "<table><tr><td>outer<table><tr><td>inner</td></tr></table></td></tr></table>"
    )

    assert html.count('tabindex="0"') == 1
    assert html.count('class="table-scroll"') == 1
    assert html.endswith("</table></td></tr></tbody></table></div>")


def test_a_lessons_stored_html_is_rendered_with_the_new_rules_on_save(learner):
    lesson = LessonFactory(body=f"### Only heading\n\n{TABLE}")

    assert headings(lesson.body_html) == [("h2", "Only heading")]
    assert 'class="table-scroll"' in Lesson.objects.get(pk=lesson.pk).body_html


def test_the_pdf_of_a_course_without_cpd_hours_does_not_mention_cpd(learner_client, learner):
    certificate = finish(learner, course_with_content(modules=1, questions=0, cpd_hours="0"))

    response = learner_client.get(reverse("courses:certificate-pdf", args=[certificate.code]))

    text = " ".join(extract_text(io.BytesIO(response.content)).split())
    assert "CPD" not in text
    assert "Completed on" in text
    assert "Issued by IRLearn" in text
