"""The learner's side of the e-learning, through the HTTP client: catalogue, course page, module
viewer, questions, certificates, dashboard, search and the procedure page's links."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from courses.models import (
    Answer,
    Attempt,
    Certificate,
    Enrolment,
    LessonProgress,
    ModuleCompletion,
)
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    LessonFactory,
    ModuleFactory,
    ProcedureFactory,
    QuestionFactory,
    StaffFactory,
    UserFactory,
    course_with_content,
)

pytestmark = pytest.mark.django_db

CATALOGUE_URL = reverse("courses:catalogue")
DASHBOARD_URL = reverse("courses:dashboard")
TICK = '<span class="outline-tick" aria-hidden="true">✓</span>'


def login_url(next_url):
    return f"{reverse('account_login')}?next={next_url}"


def modules_of(course):
    return list(course.modules.order_by("order"))


def lessons_of(module):
    return list(module.lessons.order_by("order"))


def quiz_url(module):
    return reverse("courses:quiz", args=[module.course.slug, module.slug])


def complete_url(lesson):
    return reverse(
        "courses:lesson-complete", args=[lesson.module.course.slug, lesson.module.slug, lesson.slug]
    )


def question_url(attempt, number):
    return reverse("courses:attempt-question", args=[attempt.pk, number])


def result_url(attempt):
    return reverse("courses:attempt-result", args=[attempt.pk])


def mark_complete(client, lesson, **data):
    return client.post(complete_url(lesson), data)


def start_attempt(client, module):
    """Start (or resume) the module's questions as the browser does, and return the attempt."""
    response = client.post(quiz_url(module))
    attempt = Attempt.objects.filter(module=module).latest("pk")
    assertRedirects(response, question_url(attempt, 1), fetch_redirect_response=False)
    return attempt


def answer(client, attempt, number, choice, question_id=None):
    """Post ``choice`` for question ``number`` of ``attempt`` (the question's own id unless
    another is given, as a tampered form would)."""
    if question_id is None:
        question_id = attempt.question_ids[number - 1]
    data = {"question": question_id}
    if choice is not None:
        data["choice"] = choice
    return client.post(question_url(attempt, number), data)


def take_questions(client, module, choices):
    attempt = start_attempt(client, module)
    for number, choice in enumerate(choices, start=1):
        answer(client, attempt, number, choice)
    attempt.refresh_from_db()
    return attempt


# The catalogue.


def test_catalogue_lists_published_courses_with_modules_duration_and_cpd_hours(client):
    course = course_with_content(title="Nephrostomy care", modules=3, cpd_hours="1.5")
    ModuleFactory(course=course, title="Unfinished module", status="draft", estimated_minutes=45)

    response = client.get(CATALOGUE_URL)

    assert response.status_code == 200
    assertContains(response, "Nephrostomy care")
    assertContains(response, f'href="{course.get_absolute_url()}"')
    # The draft module counts neither as a module nor towards the time.
    facts = '<li class="list-inline-item">{}</li>'
    assertContains(response, facts.format("3 modules"), html=True)
    assertContains(response, facts.format("about 1 hour"), html=True)
    assertContains(response, facts.format("1.5 CPD hours"), html=True)


def test_catalogue_hides_draft_courses_from_visitors_and_learners(client, learner_client):
    CourseFactory(title="Published course")
    CourseFactory(title="Secret draft course", status="draft")

    for response in (client.get(CATALOGUE_URL), learner_client.get(CATALOGUE_URL)):
        assertContains(response, "Published course")
        assertNotContains(response, "Secret draft course")


def test_catalogue_shows_draft_courses_to_staff_with_a_draft_badge(client):
    CourseFactory(title="Secret draft course", status="draft")
    client.force_login(StaffFactory())

    response = client.get(CATALOGUE_URL)

    assertContains(response, "Secret draft course")
    assertContains(response, '<span class="badge text-bg-warning">Draft</span>', html=True)


def test_catalogue_shows_an_enrolled_learners_progress_and_resume(learner_client, learner):
    course = course_with_content(title="Nephrostomy care", modules=1, lessons=3, questions=1)
    other = CourseFactory(title="Course not taken")
    EnrolmentFactory(user=learner, course=course)
    first, second, _ = lessons_of(modules_of(course)[0])
    LessonProgress.objects.create(user=learner, lesson=first)

    response = learner_client.get(CATALOGUE_URL)

    # Three lessons and the questions: one step of four done.
    assertContains(response, "Your progress", count=1)
    assertContains(response, '<progress id="progress-nephrostomy-care" value="25" max="100"')
    assertContains(response, f'href="{reverse("courses:resume", args=[course.slug])}"')
    assertNotContains(response, reverse("courses:resume", args=[other.slug]))


def test_catalogue_shows_a_completed_course_as_completed(learner_client, learner):
    course = course_with_content(title="Nephrostomy care", modules=1, lessons=1, questions=1)
    EnrolmentFactory(user=learner, course=course)
    certificate = Certificate.objects.create(
        user=learner,
        course=course,
        full_name=learner.full_name,
        course_title=course.title,
        cpd_hours=course.cpd_hours,
        completed_on="2026-05-01",
    )

    response = learner_client.get(CATALOGUE_URL)

    assertContains(response, '<span class="badge text-bg-success">Completed</span>', html=True)
    assertContains(response, f'href="{certificate.get_absolute_url()}"')
    assertNotContains(response, "Your progress")


# The course page.


def test_course_page_shows_outcomes_and_syllabus_to_visitors(client):
    course = course_with_content(title="Nephrostomy care", modules=2, lessons=2, questions=5)
    first, _ = modules_of(course)
    ModuleFactory(course=course, title="Unfinished module", status="draft")
    LessonFactory(module=first, title="Unfinished lesson", status="draft")

    response = client.get(course.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "<li>Explain what the procedure is</li>", html=True)
    assertContains(response, "<li>Describe the aftercare</li>", html=True)
    assertContains(response, "Nephrostomy care module 1")
    assertContains(response, "Nephrostomy care module 2")
    assertContains(response, "Nephrostomy care module 1 lesson 2")
    assertContains(response, "5 questions, pass mark 80%", count=2)
    assertNotContains(response, "Unfinished module")
    assertNotContains(response, "Unfinished lesson")
    assertContains(response, "2 modules")


def test_course_page_offers_visitors_sign_up_and_log_in_coming_back_to_it(client):
    course = CourseFactory(title="Nephrostomy care")

    response = client.get(course.get_absolute_url())

    assertContains(response, f'href="{reverse("account_signup")}?next=/learn/nephrostomy-care/"')
    assertContains(response, f'href="{reverse("account_login")}?next=/learn/nephrostomy-care/"')
    assertNotContains(response, reverse("courses:enrol", args=[course.slug]))


def test_course_page_offers_a_learner_the_enrol_button(learner_client):
    course = CourseFactory()

    response = learner_client.get(course.get_absolute_url())

    assertContains(response, f'action="{reverse("courses:enrol", args=[course.slug])}"')
    assertContains(response, ">Enrol</button>")


def test_draft_course_is_404_for_learners_and_visitors(client, learner_client):
    course = course_with_content(status="draft")

    assert client.get(course.get_absolute_url()).status_code == 404
    assert learner_client.get(course.get_absolute_url()).status_code == 404


def test_draft_course_page_is_a_preview_for_staff(client):
    course = course_with_content(title="Draft course", status="draft")
    client.force_login(StaffFactory())

    response = client.get(course.get_absolute_url())

    assertContains(response, "Draft preview.")
    assertContains(response, "Draft course module 1")


def test_enrol_needs_a_login(client):
    course = course_with_content()
    url = reverse("courses:enrol", args=[course.slug])

    response = client.post(url)

    assertRedirects(response, login_url(url), fetch_redirect_response=False)
    assert not Enrolment.objects.exists()


def test_enrol_is_not_allowed_by_get(learner_client):
    course = course_with_content()

    response = learner_client.get(reverse("courses:enrol", args=[course.slug]))

    assert response.status_code == 405
    assert not Enrolment.objects.exists()


def test_enrol_on_a_draft_course_is_404(learner_client):
    course = course_with_content(status="draft")

    response = learner_client.post(reverse("courses:enrol", args=[course.slug]))

    assert response.status_code == 404
    assert not Enrolment.objects.exists()


def test_enrol_redirects_to_the_first_lesson(learner_client, learner):
    course = course_with_content(title="Nephrostomy care")
    first_lesson = lessons_of(modules_of(course)[0])[0]

    response = learner_client.post(reverse("courses:enrol", args=[course.slug]), follow=True)

    assertRedirects(response, first_lesson.get_absolute_url())
    assertContains(response, "You are enrolled on Nephrostomy care.")
    assert Enrolment.objects.get().user == learner


def test_enrolled_learner_sees_progress_and_resume_on_the_course_page(learner_client, learner):
    course = course_with_content(modules=1, lessons=3, questions=1)
    EnrolmentFactory(user=learner, course=course)
    LessonProgress.objects.create(user=learner, lesson=lessons_of(modules_of(course)[0])[0])

    response = learner_client.get(course.get_absolute_url())

    assertContains(response, '<progress id="course-progress" value="25" max="100"')
    assertContains(response, f'href="{reverse("courses:resume", args=[course.slug])}">Resume</a>')
    assertContains(response, "Leave this course")
    assertNotContains(response, ">Enrol</button>")


def test_resume_opens_the_first_incomplete_lesson(learner_client, learner):
    course = course_with_content(modules=2, lessons=3, questions=1)
    first, _ = modules_of(course)
    one, two, three = lessons_of(first)
    EnrolmentFactory(user=learner, course=course)
    LessonProgress.objects.create(user=learner, lesson=one)
    LessonProgress.objects.create(user=learner, lesson=three)

    response = learner_client.get(reverse("courses:resume", args=[course.slug]))

    assertRedirects(response, two.get_absolute_url())


def test_resume_opens_the_questions_when_every_lesson_is_done(learner_client, learner):
    course = course_with_content(modules=2, lessons=2, questions=1)
    first, _ = modules_of(course)
    EnrolmentFactory(user=learner, course=course)
    for lesson in lessons_of(first):
        LessonProgress.objects.create(user=learner, lesson=lesson)

    response = learner_client.get(reverse("courses:resume", args=[course.slug]))

    assertRedirects(response, quiz_url(first))


def test_leaving_a_course_keeps_progress_and_enrolling_again_restores_it(learner_client, learner):
    course = course_with_content(title="Nephrostomy care", modules=1, lessons=3, questions=1)
    one, two, _ = lessons_of(modules_of(course)[0])
    EnrolmentFactory(user=learner, course=course)
    mark_complete(learner_client, one)

    response = learner_client.post(reverse("courses:unenrol", args=[course.slug]), follow=True)

    assertRedirects(response, DASHBOARD_URL)
    assertContains(response, "You have left Nephrostomy care.")
    assert not Enrolment.objects.get().is_active
    assert LessonProgress.objects.filter(user=learner, lesson=one).exists()
    # Lessons are closed until they enrol again.
    assertRedirects(
        learner_client.get(two.get_absolute_url()),
        course.get_absolute_url(),
        fetch_redirect_response=False,
    )
    assertContains(learner_client.get(course.get_absolute_url()), "Enrol again")

    response = learner_client.post(reverse("courses:enrol", args=[course.slug]), follow=True)

    assertRedirects(response, two.get_absolute_url())
    assertContains(response, "Welcome back to Nephrostomy care")
    assert Enrolment.objects.get().is_active
    assertContains(response, TICK, count=1)


# Lessons.


def test_lesson_sends_visitors_to_log_in(client):
    lesson = lessons_of(modules_of(course_with_content())[0])[0]
    url = lesson.get_absolute_url()

    assertRedirects(client.get(url), login_url(url), fetch_redirect_response=False)


def test_lesson_sends_a_learner_who_is_not_enrolled_to_the_course_page(learner_client):
    course = course_with_content()
    lesson = lessons_of(modules_of(course)[0])[0]

    response = learner_client.get(lesson.get_absolute_url(), follow=True)

    assertRedirects(response, course.get_absolute_url())
    assertContains(response, "Enrol on the course to open its lessons and questions.")


def test_lesson_shows_an_enrolled_learner_the_body_outline_and_pager(learner_client, learner):
    course = course_with_content(modules=1, lessons=3, questions=1)
    module = modules_of(course)[0]
    one, two, three = lessons_of(module)
    EnrolmentFactory(user=learner, course=course)
    LessonProgress.objects.create(user=learner, lesson=one)

    response = learner_client.get(two.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "<p>A nephrostomy drains urine from the kidney.</p>", html=True)
    assertContains(response, f'<h1 id="lesson-title">{two.title}</h1>', html=True)
    assertContains(response, "lesson 2 of 3")
    # A tick beside the lesson done, and only there.
    assertContains(response, TICK, count=1)
    assertContains(response, f'href="{two.get_absolute_url()}" aria-current="page"')
    assertContains(response, f'href="{one.get_absolute_url()}" rel="prev"')
    assertContains(response, f'href="{three.get_absolute_url()}" rel="next"')
    assertContains(response, f'action="{complete_url(two)}"')
    assertContains(response, "Mark as complete and continue")


def test_an_editors_change_shows_in_the_outline_at_the_learners_next_request(
    learner_client, learner
):
    """The course structure is cached for every learner; any change to content retires it."""
    course = course_with_content(modules=1, lessons=2, questions=1)
    module = modules_of(course)[0]
    first, second = lessons_of(module)
    EnrolmentFactory(user=learner, course=course)
    assertContains(learner_client.get(first.get_absolute_url()), "lesson 1 of 2")

    second.title = "Exchanging a blocked drain"
    second.save()
    added = LessonFactory(module=module, order=99, title="Aftercare and follow-up")
    LessonFactory(module=module, order=100, title="Not ready yet", status="draft")

    response = learner_client.get(first.get_absolute_url())
    assertContains(response, "lesson 1 of 3")
    assertContains(response, f'href="{second.get_absolute_url()}">Exchanging a blocked drain</a>')
    assertContains(response, f'href="{added.get_absolute_url()}">Aftercare and follow-up</a>')
    assertNotContains(response, "Not ready yet")

    added.delete()
    assertContains(learner_client.get(first.get_absolute_url()), "lesson 1 of 2")


def test_first_and_last_lessons_link_to_the_neighbouring_steps(learner_client, learner):
    course = course_with_content(modules=2, lessons=2, questions=1)
    first, second = modules_of(course)
    EnrolmentFactory(user=learner, course=course)
    opening = lessons_of(first)[0]
    closing = lessons_of(first)[-1]

    opening_page = learner_client.get(opening.get_absolute_url())
    closing_page = learner_client.get(closing.get_absolute_url())
    next_module_page = learner_client.get(lessons_of(second)[0].get_absolute_url())

    assertNotContains(opening_page, 'rel="prev"')
    assertContains(closing_page, f'href="{quiz_url(first)}" rel="next"')
    assertContains(next_module_page, f'href="{quiz_url(first)}" rel="prev"')


def test_draft_lesson_is_404_for_learners(learner_client, learner):
    course = course_with_content(modules=1, lessons=1)
    draft = LessonFactory(module=modules_of(course)[0], status="draft")
    EnrolmentFactory(user=learner, course=course)

    assert learner_client.get(draft.get_absolute_url()).status_code == 404


def test_staff_preview_a_draft_lesson_without_enrolling(client):
    course = course_with_content(modules=1, lessons=1)
    draft = LessonFactory(
        module=modules_of(course)[0], title="Lesson in the making", status="draft"
    )
    client.force_login(StaffFactory())

    response = client.get(draft.get_absolute_url())

    assert response.status_code == 200
    assertContains(response, "Draft preview.")
    assertContains(response, "Lesson in the making")
    assertContains(response, "Learners mark the lesson complete here once it is published.")
    assertNotContains(response, "Mark as complete")


def test_staff_open_a_published_lesson_without_a_draft_banner(client):
    lesson = lessons_of(modules_of(course_with_content())[0])[0]
    client.force_login(StaffFactory())

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 200
    assertNotContains(response, "Draft preview.")


def test_lesson_of_a_draft_module_is_404_for_learners(learner_client, learner):
    course = course_with_content(modules=1)
    draft_module = ModuleFactory(course=course, status="draft")
    lesson = LessonFactory(module=draft_module)
    EnrolmentFactory(user=learner, course=course)

    assert learner_client.get(lesson.get_absolute_url()).status_code == 404


def test_lesson_of_a_draft_course_is_404_for_learners(learner_client, learner):
    course = course_with_content(status="draft")
    lesson = lessons_of(modules_of(course)[0])[0]
    # An enrolment from before the course went back to draft opens nothing.
    EnrolmentFactory(user=learner, course=course)

    assert learner_client.get(lesson.get_absolute_url()).status_code == 404


def test_lesson_under_another_modules_slug_is_404(learner_client, learner):
    course = course_with_content(modules=2)
    first, second = modules_of(course)
    EnrolmentFactory(user=learner, course=course)
    lesson = lessons_of(second)[0]

    url = reverse("courses:lesson-detail", args=[course.slug, first.slug, lesson.slug])

    assert learner_client.get(url).status_code == 404


# The module page.


def test_module_page_offers_the_next_step_and_lists_its_published_procedures(
    learner_client, learner
):
    course = course_with_content(modules=1, lessons=2, questions=1)
    module = modules_of(course)[0]
    first, second = lessons_of(module)
    EnrolmentFactory(user=learner, course=course)
    LessonProgress.objects.create(user=learner, lesson=first)
    module.procedures.add(
        ProcedureFactory(title="Percutaneous nephrostomy"),
        ProcedureFactory(title="Procedure still in draft", draft=True),
    )

    response = learner_client.get(module.get_absolute_url())

    assertContains(
        response,
        f'<a class="btn btn-primary" href="{second.get_absolute_url()}">Resume this module</a>',
        html=True,
    )
    assertContains(response, "Procedures in this module")
    assertContains(response, ">Percutaneous nephrostomy</a>")
    assertNotContains(response, "Procedure still in draft")


def test_module_page_under_an_unknown_slug_is_404(learner_client, learner):
    course = course_with_content(modules=1)
    EnrolmentFactory(user=learner, course=course)

    url = reverse("courses:module-detail", args=[course.slug, "no-such-module"])

    assert learner_client.get(url).status_code == 404


# Marking a lesson complete.


def test_mark_complete_records_progress_and_goes_to_the_next_lesson(learner_client, learner):
    course = course_with_content(modules=1, lessons=3)
    one, two, _ = lessons_of(modules_of(course)[0])
    EnrolmentFactory(user=learner, course=course)

    response = mark_complete(learner_client, one)

    assertRedirects(response, two.get_absolute_url(), fetch_redirect_response=False)
    assert LessonProgress.objects.filter(user=learner, lesson=one).count() == 1
    response = learner_client.get(one.get_absolute_url())
    assertContains(response, "You have completed this lesson.")
    assertContains(response, "Mark as not complete")


def test_mark_complete_on_a_modules_last_lesson_goes_to_its_questions(learner_client, learner):
    course = course_with_content(modules=2, lessons=2, questions=2)
    first, _ = modules_of(course)
    EnrolmentFactory(user=learner, course=course)

    response = mark_complete(learner_client, lessons_of(first)[-1])

    assertRedirects(response, quiz_url(first), fetch_redirect_response=False)


def test_mark_as_not_complete_removes_the_progress(learner_client, learner):
    course = course_with_content(modules=1, lessons=2)
    lesson = lessons_of(modules_of(course)[0])[0]
    EnrolmentFactory(user=learner, course=course)
    mark_complete(learner_client, lesson)

    response = mark_complete(learner_client, lesson, undo="1")

    assertRedirects(response, lesson.get_absolute_url(), fetch_redirect_response=False)
    assert not LessonProgress.objects.exists()


def test_marking_complete_twice_keeps_one_progress_row(learner_client, learner):
    course = course_with_content(modules=1, lessons=2)
    lesson = lessons_of(modules_of(course)[0])[0]
    EnrolmentFactory(user=learner, course=course)

    mark_complete(learner_client, lesson)
    mark_complete(learner_client, lesson)

    assert LessonProgress.objects.filter(user=learner, lesson=lesson).count() == 1


def test_mark_complete_in_a_course_not_enrolled_on_records_nothing(learner_client, learner):
    taken = course_with_content(title="Course taken")
    other = course_with_content(title="Course not taken")
    EnrolmentFactory(user=learner, course=taken)
    lesson = lessons_of(modules_of(other)[0])[0]

    response = mark_complete(learner_client, lesson)

    assertRedirects(response, other.get_absolute_url(), fetch_redirect_response=False)
    assert not LessonProgress.objects.exists()


def test_mark_complete_is_not_allowed_by_get(learner_client, learner):
    course = course_with_content()
    lesson = lessons_of(modules_of(course)[0])[0]
    EnrolmentFactory(user=learner, course=course)

    assert learner_client.get(complete_url(lesson)).status_code == 405
    assert not LessonProgress.objects.exists()


# Questions.


@pytest.fixture
def quiz_module(learner):
    """A module of two questions (answer B, pass mark 80%) whose course the learner is on."""
    course = course_with_content(title="Nephrostomy care", modules=1, lessons=1, questions=2)
    EnrolmentFactory(user=learner, course=course)
    return modules_of(course)[0]


def test_quiz_page_explains_the_questions_and_starts_an_attempt(learner_client, quiz_module):
    response = learner_client.get(quiz_url(quiz_module))

    assertContains(response, "2 single best answer questions")
    assertContains(response, "You pass with 80% or more")
    assertContains(response, "Start the questions")

    attempt = start_attempt(learner_client, quiz_module)

    assert attempt.question_ids == list(
        quiz_module.questions.order_by("order").values_list("pk", flat=True)
    )
    response = learner_client.get(question_url(attempt, 1))
    assertContains(response, "Question 1 of 2")
    assertContains(response, 'name="choice"', count=5)


def test_quiz_page_sends_a_learner_who_is_not_enrolled_to_the_course_page(learner_client):
    module = modules_of(course_with_content())[0]

    response = learner_client.post(quiz_url(module))

    assertRedirects(response, module.course.get_absolute_url(), fetch_redirect_response=False)
    assert not Attempt.objects.exists()


def test_answer_shows_feedback_on_every_option_and_the_learning_point(learner_client, quiz_module):
    attempt = start_attempt(learner_client, quiz_module)

    response = answer(learner_client, attempt, 1, "c")

    assertRedirects(response, question_url(attempt, 1), fetch_redirect_response=False)
    response = learner_client.get(question_url(attempt, 1))
    assertContains(response, "Not quite.")
    assertContains(response, "You answered C; the best answer is B.")
    for explanation in ("A is wrong.", "B is right.", "C is wrong.", "D is wrong.", "E is wrong."):
        assertContains(response, explanation)
    assertContains(response, "Learning point")
    assertContains(response, "B is the best answer.")
    assertContains(response, f'href="{question_url(attempt, 2)}">Next question</a>')
    assert Answer.objects.get().choice == "c"


def test_answer_without_a_choice_asks_for_one_and_stores_nothing(learner_client, quiz_module):
    attempt = start_attempt(learner_client, quiz_module)

    response = answer(learner_client, attempt, 1, None)

    assert response.status_code == 200
    assertContains(response, "Choose an answer")
    assert not Answer.objects.exists()


def test_after_the_last_answer_the_learner_sees_the_score(learner_client, quiz_module):
    attempt = start_attempt(learner_client, quiz_module)
    answer(learner_client, attempt, 1, "b")

    answer(learner_client, attempt, 2, "b")

    response = learner_client.get(question_url(attempt, 2))
    assertContains(response, "Correct.")
    assertContains(response, f'href="{result_url(attempt)}">See your score</a>')
    response = learner_client.get(result_url(attempt))
    assertContains(response, "You passed")
    assertContains(response, "You scored 2 out of 2 (100%). The pass mark is 80%.")


def test_failed_attempt_shows_the_score_against_the_pass_mark_and_a_retake(
    learner_client, quiz_module
):
    attempt = take_questions(learner_client, quiz_module, ["b", "a"])

    response = learner_client.get(result_url(attempt))

    assert attempt.passed is False
    assertContains(response, "Not passed this time")
    assertContains(response, "You scored 1 out of 2 (50%). The pass mark is 80%.")
    assertContains(response, f'action="{quiz_url(quiz_module)}"')
    assertContains(response, "Take the questions again")

    retake = start_attempt(learner_client, quiz_module)

    assert retake.pk != attempt.pk
    assert Attempt.objects.filter(module=quiz_module).count() == 2


def test_result_of_an_unfinished_attempt_goes_back_to_the_questions(learner_client, quiz_module):
    attempt = start_attempt(learner_client, quiz_module)
    answer(learner_client, attempt, 1, "b")

    response = learner_client.get(result_url(attempt))

    assertRedirects(response, question_url(attempt, 2), fetch_redirect_response=False)


@pytest.mark.parametrize(
    "tamper",
    [
        "unknown option",
        "option E of a four-option question",
        "question of another module",
        "another question of the attempt",
        "question id not a number",
    ],
)
def test_tampered_answer_is_a_bad_request(learner_client, learner, quiz_module, tamper):
    if tamper == "option E of a four-option question":
        quiz_module.questions.update(option_e="", explanation_e="")
    attempt = start_attempt(learner_client, quiz_module)
    other_module_question = QuestionFactory()
    number, choice, question_id = {
        "unknown option": (1, "z", None),
        "option E of a four-option question": (1, "e", None),
        "question of another module": (1, "b", other_module_question.pk),
        "another question of the attempt": (2, "b", attempt.question_ids[0]),
        "question id not a number": (1, "b", "1 OR 1=1"),
    }[tamper]

    response = answer(learner_client, attempt, number, choice, question_id=question_id)

    assert response.status_code == 400
    assert not Answer.objects.exists()


def test_another_learners_attempt_is_404(client, learner_client, quiz_module):
    attempt = take_questions(learner_client, quiz_module, ["b", "b"])
    someone_else = UserFactory()
    EnrolmentFactory(user=someone_else, course=quiz_module.course)
    client.force_login(someone_else)

    assert client.get(question_url(attempt, 1)).status_code == 404
    assert client.get(result_url(attempt)).status_code == 404
    assert answer(client, attempt, 1, "a").status_code == 404
    assert Answer.objects.filter(choice="a").count() == 0


def test_answering_the_same_question_twice_keeps_the_first_answer(learner_client, quiz_module):
    attempt = start_attempt(learner_client, quiz_module)
    answer(learner_client, attempt, 1, "a")

    response = answer(learner_client, attempt, 1, "b")

    assertRedirects(response, question_url(attempt, 1), fetch_redirect_response=False)
    assert list(Answer.objects.values_list("choice", flat=True)) == ["a"]


# Completing a module and the course.


def test_completing_every_lesson_and_passing_issues_the_certificate(learner_client, learner):
    course = course_with_content(title="Nephrostomy care", modules=2, lessons=2, questions=2)
    first, second = modules_of(course)
    learner_client.post(reverse("courses:enrol", args=[course.slug]))

    for lesson in lessons_of(first):
        mark_complete(learner_client, lesson)
    take_questions(learner_client, first, ["b", "b"])

    assert ModuleCompletion.objects.filter(user=learner, module=first).exists()
    assert not Certificate.objects.exists()
    response = learner_client.get(course.get_absolute_url())
    assertContains(response, '<span class="badge text-bg-success">Complete</span>', html=True)

    for lesson in lessons_of(second):
        mark_complete(learner_client, lesson)
    attempt = take_questions(learner_client, second, ["b", "b"])

    certificate = Certificate.objects.get(user=learner, course=course)
    assertContains(learner_client.get(result_url(attempt)), "You have completed Nephrostomy care.")
    response = learner_client.get(DASHBOARD_URL)
    pdf_url = reverse("courses:certificate-pdf", args=[certificate.code])
    assertContains(response, f'href="{pdf_url}">Download PDF')
    assertContains(response, f'href="{certificate.get_absolute_url()}">Verification page')
    assertContains(response, certificate.code)
    verification = learner_client.get(certificate.get_absolute_url())
    assertContains(verification, learner.full_name)
    assertContains(verification, "Nephrostomy care")
    pdf = learner_client.get(pdf_url)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_passing_before_the_last_lesson_completes_the_module_with_that_lesson(
    learner_client, learner
):
    course = course_with_content(modules=1, lessons=2, questions=1)
    module = modules_of(course)[0]
    one, two = lessons_of(module)
    EnrolmentFactory(user=learner, course=course)
    take_questions(learner_client, module, ["b"])
    mark_complete(learner_client, one)
    assert not ModuleCompletion.objects.exists()

    response = mark_complete(learner_client, two)

    assertRedirects(
        response,
        reverse("courses:course-complete", args=[course.slug]),
        fetch_redirect_response=False,
    )
    assert ModuleCompletion.objects.filter(user=learner, module=module).exists()
    assert Certificate.objects.filter(user=learner, course=course).exists()


# The dashboard.


def test_dashboard_needs_a_login(client):
    assertRedirects(
        client.get(DASHBOARD_URL), login_url(DASHBOARD_URL), fetch_redirect_response=False
    )


def test_dashboard_shows_courses_in_progress_completed_and_left(learner_client, learner):
    going = course_with_content(title="Course in progress", modules=1, lessons=3, questions=1)
    done = course_with_content(title="Course completed", modules=1, lessons=1, questions=1)
    left = course_with_content(title="Course left", modules=1, lessons=1, questions=1)
    for course in (going, done, left):
        EnrolmentFactory(user=learner, course=course)
    LessonProgress.objects.create(user=learner, lesson=lessons_of(modules_of(going)[0])[0])
    certificate = Certificate.objects.create(
        user=learner,
        course=done,
        full_name=learner.full_name,
        course_title=done.title,
        cpd_hours=done.cpd_hours,
        completed_on="2026-05-01",
    )
    learner_client.post(reverse("courses:unenrol", args=[left.slug]))
    CourseFactory(title="Course never taken")

    response = learner_client.get(DASHBOARD_URL)

    assert [o.course for o in response.context["in_progress"]] == [going]
    assert [o.course for o in response.context["completed"]] == [done]
    assert [o.course for o in response.context["left"]] == [left]
    assertContains(response, '<progress id="progress-course-in-progress" value="25" max="100"')
    assertContains(response, f'href="{reverse("courses:resume", args=[going.slug])}">Resume')
    assertContains(response, "1 May 2026")
    assertContains(response, certificate.code)
    assertContains(response, "Courses you left")
    assertContains(response, "Course left</a> (0% done)")
    assertNotContains(response, "Course never taken")


def test_dashboard_invites_a_learner_with_no_courses_to_the_catalogue(learner_client):
    response = learner_client.get(DASHBOARD_URL)

    assertContains(response, "You are not enrolled in any course yet.")
    assertContains(response, f'href="{CATALOGUE_URL}"')


# Search and the procedure page.


def test_search_finds_courses_and_modules_by_title_but_not_drafts(client):
    course = CourseFactory(title="Nephrostomy essentials")
    ModuleFactory(course=CourseFactory(title="Renal access"), title="Nephrostomy aftercare")
    CourseFactory(title="Nephrostomy secrets", status="draft")
    ModuleFactory(course=course, title="Nephrostomy draft module", status="draft")
    ModuleFactory(
        course=CourseFactory(title="Hidden course", status="draft"),
        title="Nephrostomy module of a draft course",
    )

    response = client.get(reverse("pages:search"), {"q": "nephrostomy"})

    assert [c.title for c in response.context["courses"]] == ["Nephrostomy essentials"]
    assert [m.title for m in response.context["modules"]] == ["Nephrostomy aftercare"]
    assertContains(response, f'href="{course.get_absolute_url()}"')
    assertContains(response, 'href="/learn/renal-access/#syllabus-nephrostomy-aftercare"')
    assertNotContains(response, "Nephrostomy secrets")
    assertNotContains(response, "Nephrostomy draft module")
    assertNotContains(response, "draft course")


def test_procedure_page_links_to_its_published_modules_only(client):
    procedure = ProcedureFactory(title="Nephrostomy")
    shown = ModuleFactory(title="Draining the kidney", course=CourseFactory(title="IR Bites"))
    procedure.modules.add(
        shown,
        ModuleFactory(title="Draft module", course=shown.course, status="draft"),
        ModuleFactory(title="Module of a draft course", course=CourseFactory(status="draft")),
    )
    ModuleFactory(title="Module on something else")

    response = client.get(procedure.get_absolute_url())

    assertContains(response, "Learn more in these modules")
    assertContains(response, 'href="/learn/ir-bites/#syllabus-draining-the-kidney"')
    assertContains(response, "Draining the kidney")
    assertNotContains(response, "Draft module")
    assertNotContains(response, "Module of a draft course")
    assertNotContains(response, "Module on something else")


def test_procedure_page_without_modules_has_no_learn_more_box(client):
    procedure = ProcedureFactory()
    ModuleFactory(status="draft").procedures.add(procedure)

    response = client.get(procedure.get_absolute_url())

    assertNotContains(response, "Learn more in these modules")
