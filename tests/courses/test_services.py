"""The e-learning's writes: enrolment, progress, attempts, completion, certificates, duplicating a
module and "download my data", with the database constraints that keep them single.

Tests call ``courses.services`` as the views do. The race tests run two threads against
PostgreSQL; SQLite's in-memory test database cannot be shared between threads.
"""

import json
import re
import threading
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import (
    Answer,
    Attempt,
    Certificate,
    Enrolment,
    LessonFigure,
    LessonProgress,
    Module,
    ModuleCompletion,
)
from tests.factories import (
    CourseFactory,
    LessonFactory,
    ModuleFactory,
    ProcedureFactory,
    QuestionFactory,
    UserFactory,
    course_with_content,
    png_bytes,
)
from tests.races import at_once

# Twelve characters without look-alikes (no 0, 1, I, L or O), in three groups of four.
CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="threads cannot share SQLite's in-memory test database",
)


def take_attempt(user, module, *, correct=None):
    """Start an attempt at ``module`` and answer every question: the first ``correct`` right
    (all of them by default), the rest wrong. Returns the attempt as stored."""
    attempt = services.attempt_start(user=user, module=module)
    right = len(attempt.question_ids) if correct is None else correct
    for number, question_id in enumerate(attempt.question_ids):
        services.answer_submit(
            attempt=attempt, question_id=question_id, choice="b" if number < right else "a"
        )
    attempt.refresh_from_db()
    return attempt


def complete_lessons(user, module):
    for lesson in module.lessons.filter(status="published"):
        services.lesson_complete(user=user, lesson=lesson)


def is_complete(user, module):
    return ModuleCompletion.objects.filter(user=user, module=module).exists()


# Enrolment.


@pytest.mark.django_db
def test_enrolling_twice_makes_one_enrolment(learner):
    course = CourseFactory()

    first = services.enrolment_create(user=learner, course=course)
    second = services.enrolment_create(user=learner, course=course)

    assert first.pk == second.pk
    assert Enrolment.objects.filter(user=learner, course=course).count() == 1


@pytest.mark.django_db
def test_leaving_keeps_the_enrolment_row_as_inactive(learner):
    course = CourseFactory()
    services.enrolment_create(user=learner, course=course)

    services.enrolment_cancel(user=learner, course=course)

    enrolment = Enrolment.objects.get(user=learner, course=course)
    assert enrolment.is_active is False
    assert enrolment.unenrolled_at is not None


@pytest.mark.django_db
def test_enrolling_again_after_leaving_restores_the_same_enrolment_with_progress_kept(learner):
    course = course_with_content(modules=1, lessons=2, questions=2)
    module = course.modules.get()
    lesson = module.lessons.first()
    enrolment = services.enrolment_create(user=learner, course=course)
    services.lesson_complete(user=learner, lesson=lesson)
    failed = take_attempt(learner, module, correct=0)
    services.enrolment_cancel(user=learner, course=course)

    again = services.enrolment_create(user=learner, course=course)

    assert again.pk == enrolment.pk
    again.refresh_from_db()
    assert again.is_active is True
    assert again.unenrolled_at is None
    assert Enrolment.objects.filter(user=learner, course=course).count() == 1
    assert list(LessonProgress.objects.filter(user=learner).values_list("lesson", flat=True)) == [
        lesson.pk
    ]
    assert list(Attempt.objects.filter(user=learner)) == [failed]


# Constraints the database enforces, whatever the code above it does.


@pytest.mark.django_db
def test_the_database_refuses_a_second_enrolment_for_the_same_learner_and_course(learner):
    course = CourseFactory()
    Enrolment.objects.create(user=learner, course=course)

    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(user=learner, course=course, is_active=False)

    assert Enrolment.objects.filter(user=learner, course=course).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_progress_row_for_the_same_learner_and_lesson(learner):
    lesson = LessonFactory()
    LessonProgress.objects.create(user=learner, lesson=lesson)

    with pytest.raises(IntegrityError), transaction.atomic():
        LessonProgress.objects.create(user=learner, lesson=lesson)


@pytest.mark.django_db
def test_the_database_refuses_a_second_certificate_for_the_same_learner_and_course(learner):
    course = CourseFactory()
    facts = {
        "full_name": learner.full_name,
        "course_title": course.title,
        "cpd_hours": course.cpd_hours,
        "completed_on": timezone.localdate(),
    }
    Certificate.objects.create(user=learner, course=course, **facts)

    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(user=learner, course=course, **facts)


@pytest.mark.django_db
def test_the_database_refuses_a_second_completion_of_the_same_module(learner):
    module = ModuleFactory()
    ModuleCompletion.objects.create(user=learner, module=module)

    with pytest.raises(IntegrityError), transaction.atomic():
        ModuleCompletion.objects.create(user=learner, module=module)


@pytest.mark.django_db
def test_the_database_refuses_a_second_open_attempt_at_the_same_module(learner):
    module = ModuleFactory()
    Attempt.objects.create(user=learner, module=module, question_ids=[1], pass_mark=80)

    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.create(user=learner, module=module, question_ids=[1], pass_mark=80)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(
            {"correct": "e", "option_e": "", "explanation_e": ""}, id="answer-e-not-given"
        ),
        pytest.param({"correct": "x"}, id="answer-not-a-letter"),
        pytest.param({"explanation_c": ""}, id="option-c-without-explanation"),
        pytest.param({"option_e": "Option E", "explanation_e": ""}, id="option-e-unexplained"),
        pytest.param({"option_e": "", "explanation_e": "Why E"}, id="explanation-without-e"),
        pytest.param({"option_d": "", "explanation_d": ""}, id="three-options"),
        pytest.param({"option_a": ""}, id="option-a-empty"),
    ],
)
def test_the_database_refuses_a_question_that_is_not_single_best_answer(fields):
    module = ModuleFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionFactory(module=module, **fields)

    assert not module.questions.exists()


@pytest.mark.django_db
def test_a_four_option_question_and_a_five_option_one_answered_e_are_accepted():
    four = QuestionFactory(option_e="", explanation_e="", correct="d")
    five = QuestionFactory(correct="e")

    assert four.letters == ["a", "b", "c", "d"]
    assert five.letters == ["a", "b", "c", "d", "e"]


# Lessons and module completion.


@pytest.mark.django_db
def test_completing_a_lesson_twice_keeps_one_progress_row_and_the_first_time(learner):
    lesson = LessonFactory()

    first = services.lesson_complete(user=learner, lesson=lesson)
    second = services.lesson_complete(user=learner, lesson=lesson)

    assert second.pk == first.pk
    assert second.completed_at == first.completed_at
    assert LessonProgress.objects.filter(user=learner, lesson=lesson).count() == 1


@pytest.mark.django_db
def test_a_module_is_not_complete_with_its_lessons_done_but_its_questions_not_passed(learner):
    module = course_with_content(modules=1, lessons=2, questions=2).modules.get()

    complete_lessons(learner, module)
    assert not is_complete(learner, module)

    take_attempt(learner, module, correct=1)  # 50%, under the pass mark of 80%
    assert not is_complete(learner, module)


@pytest.mark.django_db
def test_a_module_is_not_complete_with_its_questions_passed_but_a_lesson_left(learner):
    module = course_with_content(modules=1, lessons=2, questions=2).modules.get()
    first, last = module.lessons.all()
    services.lesson_complete(user=learner, lesson=first)

    take_attempt(learner, module)
    assert not is_complete(learner, module)

    services.lesson_complete(user=learner, lesson=last)
    assert is_complete(learner, module)


@pytest.mark.django_db
def test_passing_the_questions_after_the_lessons_completes_the_module(learner):
    module = course_with_content(modules=1, lessons=2, questions=2).modules.get()
    complete_lessons(learner, module)

    take_attempt(learner, module)

    assert is_complete(learner, module)


@pytest.mark.django_db
def test_a_draft_lesson_does_not_hold_back_the_module(learner):
    module = course_with_content(modules=1, lessons=2, questions=0).modules.get()
    LessonFactory(module=module, status="draft", title="Still being written")

    complete_lessons(learner, module)

    assert is_complete(learner, module)


@pytest.mark.django_db
def test_a_module_without_questions_completes_on_its_lessons_alone(learner):
    module = course_with_content(modules=1, lessons=2, questions=0).modules.get()
    first, last = module.lessons.all()

    services.lesson_complete(user=learner, lesson=first)
    assert not is_complete(learner, module)

    services.lesson_complete(user=learner, lesson=last)
    assert is_complete(learner, module)


@pytest.mark.django_db
def test_a_module_of_questions_only_completes_when_they_are_passed(learner):
    module = course_with_content(modules=1, lessons=0, questions=2).modules.get()

    take_attempt(learner, module)

    assert is_complete(learner, module)


@pytest.mark.django_db
def test_another_learners_progress_does_not_complete_my_module(learner):
    module = course_with_content(modules=1, lessons=2, questions=2).modules.get()
    other = UserFactory()
    complete_lessons(other, module)
    take_attempt(other, module)

    services.lesson_complete(user=learner, lesson=module.lessons.first())
    take_attempt(learner, module)

    assert is_complete(other, module)
    assert not is_complete(learner, module)


# Attempts and answers.


@pytest.mark.django_db
def test_starting_twice_resumes_the_open_attempt(learner):
    module = course_with_content(modules=1, lessons=0, questions=3).modules.get()

    first = services.attempt_start(user=learner, module=module)
    second = services.attempt_start(user=learner, module=module)

    assert second.pk == first.pk
    assert Attempt.objects.filter(user=learner, module=module).count() == 1
    assert first.question_ids == list(module.questions.values_list("pk", flat=True))
    assert first.total == 3
    assert first.pass_mark == module.pass_mark


@pytest.mark.django_db
def test_starting_after_a_finished_attempt_opens_a_new_one(learner):
    module = course_with_content(modules=1, lessons=0, questions=2).modules.get()
    finished = take_attempt(learner, module, correct=0)

    retake = services.attempt_start(user=learner, module=module)

    assert retake.pk != finished.pk
    assert retake.finished_at is None


@pytest.mark.django_db
def test_a_module_without_questions_cannot_be_attempted(learner):
    module = ModuleFactory()

    with pytest.raises(ValueError):
        services.attempt_start(user=learner, module=module)

    assert not Attempt.objects.exists()


@pytest.mark.django_db
def test_answering_the_same_question_again_keeps_the_first_answer(learner):
    module = course_with_content(modules=1, lessons=0, questions=2).modules.get()
    attempt = services.attempt_start(user=learner, module=module)
    question_id = attempt.question_ids[0]

    first = services.answer_submit(attempt=attempt, question_id=question_id, choice="a")
    again = services.answer_submit(attempt=attempt, question_id=str(question_id), choice="b")

    assert again.pk == first.pk
    assert again.choice == "a"
    assert again.is_correct is False
    assert Answer.objects.filter(attempt=attempt).count() == 1


@pytest.mark.django_db
def test_an_attempt_stays_open_until_every_question_is_answered(learner):
    module = course_with_content(modules=1, lessons=0, questions=3).modules.get()
    attempt = services.attempt_start(user=learner, module=module)

    for question_id in attempt.question_ids[:2]:
        services.answer_submit(attempt=attempt, question_id=question_id, choice="b")

    attempt.refresh_from_db()
    assert attempt.finished_at is None
    assert attempt.score is None
    assert attempt.passed is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pass_mark", "questions", "correct", "passed"),
    [
        (80, 5, 5, True),
        (80, 5, 4, True),  # exactly the pass mark
        (80, 5, 3, False),
        (75, 4, 3, True),  # exactly the pass mark
        (75, 4, 2, False),
        (70, 3, 2, False),  # 66.7%: just under
        (100, 3, 2, False),
        (1, 3, 0, False),
    ],
)
def test_an_attempt_is_scored_against_the_pass_mark(learner, pass_mark, questions, correct, passed):
    module = ModuleFactory(pass_mark=pass_mark)
    QuestionFactory.create_batch(questions, module=module)

    attempt = take_attempt(learner, module, correct=correct)

    assert attempt.finished_at is not None
    assert (attempt.score, attempt.total) == (correct, questions)
    assert attempt.passed is passed


@pytest.mark.django_db
def test_an_attempt_keeps_the_pass_mark_it_started_with(learner):
    module = ModuleFactory(pass_mark=50)
    QuestionFactory.create_batch(2, module=module)
    attempt = services.attempt_start(user=learner, module=module)
    Module.objects.filter(pk=module.pk).update(pass_mark=100)

    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[0], choice="b")
    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[1], choice="a")

    attempt.refresh_from_db()
    assert attempt.passed is True


@pytest.mark.django_db
def test_failing_then_passing_on_a_retake_completes_the_module_and_keeps_both_attempts(learner):
    module = course_with_content(modules=1, lessons=1, questions=5).modules.get()
    complete_lessons(learner, module)

    failed = take_attempt(learner, module, correct=2)
    assert failed.passed is False
    assert not is_complete(learner, module)

    passed = take_attempt(learner, module)
    assert passed.passed is True
    assert is_complete(learner, module)

    attempts = Attempt.objects.filter(user=learner, module=module).order_by("pk")
    assert [(a.score, a.passed) for a in attempts] == [(2, False), (5, True)]
    assert Answer.objects.filter(attempt__in=attempts).count() == 10


@pytest.mark.django_db
def test_failing_after_passing_does_not_undo_the_module(learner):
    module = course_with_content(modules=1, lessons=1, questions=2).modules.get()
    complete_lessons(learner, module)
    take_attempt(learner, module)

    take_attempt(learner, module, correct=0)

    assert is_complete(learner, module)
    assert Attempt.objects.filter(user=learner, module=module).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("question_id", "choice"),
    [
        pytest.param("own", "z", id="unknown-letter"),
        pytest.param("own", "", id="empty-letter"),
        pytest.param("own", None, id="no-letter"),
        pytest.param("own", "B", id="upper-case-letter"),
        pytest.param("four-options", "e", id="e-on-a-four-option-question"),
        pytest.param("other-module", "b", id="question-of-another-module"),
        pytest.param("abc", "b", id="non-numeric-question"),
        pytest.param(None, "b", id="no-question"),
        pytest.param("1.5", "b", id="decimal-question"),
        pytest.param("added-later", "b", id="question-not-in-the-attempt"),
    ],
)
def test_tampered_answers_are_rejected_and_not_stored(learner, question_id, choice):
    module = ModuleFactory()
    own = QuestionFactory(module=module)
    four = QuestionFactory(module=module, option_e="", explanation_e="")
    attempt = services.attempt_start(user=learner, module=module)
    elsewhere = QuestionFactory()
    added_later = QuestionFactory(module=module)
    question_id = {
        "own": own.pk,
        "four-options": four.pk,
        "other-module": elsewhere.pk,
        "added-later": added_later.pk,
    }.get(question_id, question_id)

    with pytest.raises(services.AnswerRejected):
        services.answer_submit(attempt=attempt, question_id=question_id, choice=choice)

    assert not Answer.objects.exists()


@pytest.mark.django_db
def test_a_question_moved_to_another_module_after_the_start_is_rejected(learner):
    module = ModuleFactory()
    moved = QuestionFactory(module=module)
    QuestionFactory(module=module)
    attempt = services.attempt_start(user=learner, module=module)
    moved.module = ModuleFactory()
    moved.save()

    with pytest.raises(services.AnswerRejected):
        services.answer_submit(attempt=attempt, question_id=moved.pk, choice="b")

    assert not Answer.objects.exists()


@pytest.mark.django_db
def test_a_question_deleted_during_an_attempt_no_longer_counts(learner):
    module = ModuleFactory(pass_mark=100)
    kept, deleted = QuestionFactory.create_batch(2, module=module)
    attempt = services.attempt_start(user=learner, module=module)
    deleted.delete()

    services.answer_submit(attempt=attempt, question_id=kept.pk, choice="b")

    attempt.refresh_from_db()
    assert (attempt.score, attempt.total, attempt.passed) == (1, 1, True)


# Certificates.


@pytest.mark.django_db
def test_the_certificate_is_issued_when_the_last_lesson_completes_the_course():
    learner = UserFactory(full_name="Amara Okonkwo")
    course = course_with_content(modules=2, lessons=2, questions=0, title="IR Bites")
    lessons = [lesson for module in course.modules.all() for lesson in module.lessons.all()]
    for lesson in lessons[:-1]:
        services.lesson_complete(user=learner, lesson=lesson)
    assert not Certificate.objects.exists()

    services.lesson_complete(user=learner, lesson=lessons[-1])

    certificate = Certificate.objects.get()
    assert certificate.user == learner
    assert certificate.course == course
    assert certificate.full_name == "Amara Okonkwo"
    assert certificate.course_title == "IR Bites"
    assert certificate.cpd_hours == Decimal("2.0")
    assert certificate.completed_on == timezone.localdate()
    assert CODE.match(certificate.code), certificate.code
    assert certificate.is_revoked is False


@pytest.mark.django_db
def test_the_certificate_is_issued_by_the_last_answer_of_the_last_module(learner):
    course = course_with_content(modules=2, lessons=1, questions=2, cpd_hours="3.5")
    first, last = course.modules.all()
    for module in (first, last):
        complete_lessons(learner, module)
    take_attempt(learner, first)
    attempt = services.attempt_start(user=learner, module=last)
    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[0], choice="b")
    assert not Certificate.objects.exists()

    services.answer_submit(attempt=attempt, question_id=attempt.question_ids[1], choice="b")

    certificate = Certificate.objects.get(user=learner, course=course)
    assert certificate.cpd_hours == Decimal("3.5")
    assert certificate.course_title == course.title


@pytest.mark.django_db
def test_no_certificate_while_a_module_is_incomplete(learner):
    course = course_with_content(modules=2, lessons=1, questions=2)
    first, last = course.modules.all()
    complete_lessons(learner, first)
    take_attempt(learner, first)
    complete_lessons(learner, last)  # but the questions of the last module are not passed

    assert services.certificate_issue_if_complete(user=learner, course=course) is None
    assert not Certificate.objects.exists()


@pytest.mark.django_db
def test_a_draft_module_does_not_hold_back_the_certificate(learner):
    course = course_with_content(modules=1, lessons=1, questions=0)
    draft = ModuleFactory(course=course, status="draft")
    LessonFactory(module=draft)

    complete_lessons(learner, course.modules.get(status="published"))

    assert Certificate.objects.filter(user=learner, course=course).exists()


@pytest.mark.django_db
def test_a_course_without_published_modules_gives_no_certificate(learner):
    course = CourseFactory()
    ModuleFactory(course=course, status="draft")

    assert services.certificate_issue_if_complete(user=learner, course=course) is None


@pytest.mark.django_db
def test_each_learner_gets_a_certificate_with_a_code_of_its_own():
    course = course_with_content(modules=1, lessons=1, questions=0)
    lesson = course.modules.get().lessons.get()
    learners = UserFactory.create_batch(3)

    for learner in learners:
        services.lesson_complete(user=learner, lesson=lesson)

    codes = set(Certificate.objects.values_list("code", flat=True))
    assert len(codes) == 3
    assert all(CODE.match(code) for code in codes)


@pytest.mark.django_db
def test_content_added_after_finishing_does_not_take_the_certificate_away(learner):
    course = course_with_content(modules=1, lessons=1, questions=1)
    module = course.modules.get()
    complete_lessons(learner, module)
    take_attempt(learner, module)
    certificate = Certificate.objects.get(user=learner, course=course)

    LessonFactory(module=module, title="A new lesson")
    QuestionFactory(module=module)
    new_module = ModuleFactory(course=course, title="A new module")
    LessonFactory(module=new_module)
    services.lesson_uncomplete(user=learner, lesson=module.lessons.first())

    again = services.certificate_issue_if_complete(user=learner, course=course)
    assert again is not None
    assert again.pk == certificate.pk
    assert again.code == certificate.code
    assert again.is_revoked is False
    assert is_complete(learner, module)


@pytest.mark.django_db
def test_the_certificate_keeps_the_facts_it_was_issued_with(learner):
    course = course_with_content(modules=1, lessons=1, questions=0, title="Radiology Basics")
    complete_lessons(learner, course.modules.get())
    name = learner.full_name

    course.title = "Radiology Basics (2027 edition)"
    course.cpd_hours = "5.0"
    course.save()
    learner.full_name = "Someone Else"
    learner.save()

    certificate = Certificate.objects.get(user=learner)
    assert (certificate.full_name, certificate.course_title) == (name, "Radiology Basics")
    assert certificate.cpd_hours == Decimal("2.0")


@pytest.mark.django_db
def test_staff_revoke_and_reinstate_a_certificate(learner):
    course = course_with_content(modules=1, lessons=1, questions=0)
    complete_lessons(learner, course.modules.get())
    certificates = Certificate.objects.filter(user=learner, course=course)

    assert services.certificate_revoke(certificates=certificates, reason="Shared account") == 1
    certificate = certificates.get()
    assert certificate.is_revoked is True
    assert certificate.revoked_reason == "Shared account"
    revoked_at = certificate.revoked_at

    assert services.certificate_revoke(certificates=certificates, reason="Again") == 0
    certificate.refresh_from_db()
    assert (certificate.revoked_at, certificate.revoked_reason) == (revoked_at, "Shared account")

    assert services.certificate_reinstate(certificates=certificates) == 1
    certificate.refresh_from_db()
    assert certificate.is_revoked is False
    assert certificate.revoked_reason == ""
    assert services.certificate_reinstate(certificates=certificates) == 0


@pytest.mark.django_db
def test_a_revoked_certificate_is_not_reissued_by_completing_again(learner):
    course = course_with_content(modules=1, lessons=1, questions=0)
    complete_lessons(learner, course.modules.get())
    certificates = Certificate.objects.filter(user=learner)
    services.certificate_revoke(certificates=certificates)

    complete_lessons(learner, course.modules.get())
    kept = services.certificate_issue_if_complete(user=learner, course=course)

    assert certificates.count() == 1
    assert kept.is_revoked is True


# Duplicating a module (the admin's action).


@pytest.mark.django_db
def test_duplicating_a_module_makes_a_draft_copy_with_copies_of_its_content():
    course = CourseFactory()
    original = ModuleFactory(course=course, title="Nephrostomy", slug="nephrostomy", pass_mark=70)
    procedure = ProcedureFactory()
    original.procedures.add(procedure)
    lessons = [LessonFactory(module=original, title=f"Lesson {n}", order=n) for n in range(2)]
    LessonFigure.objects.create(
        lesson=lessons[0],
        image=ContentFile(png_bytes(), name="kidney.png"),
        alt_text="A tube in the kidney",
    )
    questions = [QuestionFactory(module=original, order=n) for n in range(3)]

    copy = services.module_duplicate(module=original)

    assert copy.pk != original.pk
    assert copy.course == course
    assert copy.status == "draft"
    assert copy.slug == "nephrostomy-copy"
    assert copy.title == "Nephrostomy (copy)"
    assert copy.pass_mark == 70
    assert list(copy.procedures.all()) == [procedure]
    copied_lessons = list(copy.lessons.all())
    assert [lesson.title for lesson in copied_lessons] == ["Lesson 0", "Lesson 1"]
    assert {lesson.status for lesson in copied_lessons} == {"draft"}
    assert not {lesson.pk for lesson in copied_lessons} & {lesson.pk for lesson in lessons}
    assert [f.alt_text for f in copied_lessons[0].figures.all()] == ["A tube in the kidney"]
    copied_questions = list(copy.questions.all())
    assert [q.stem for q in copied_questions] == [q.stem for q in questions]
    assert not {q.pk for q in copied_questions} & {q.pk for q in questions}


@pytest.mark.django_db
def test_duplicating_a_module_leaves_the_original_untouched():
    original = course_with_content(modules=1, lessons=2, questions=3).modules.get()
    original.procedures.add(ProcedureFactory())
    before = (
        original.title,
        original.slug,
        original.status,
        list(original.lessons.values_list("pk", "title", "status")),
        list(original.questions.values_list("pk", "stem")),
        list(original.procedures.values_list("pk", flat=True)),
    )

    services.module_duplicate(module=original)

    original.refresh_from_db()
    after = (
        original.title,
        original.slug,
        original.status,
        list(original.lessons.values_list("pk", "title", "status")),
        list(original.questions.values_list("pk", "stem")),
        list(original.procedures.values_list("pk", flat=True)),
    )
    assert after == before
    assert LessonFigure.objects.count() == 0


@pytest.mark.django_db
def test_duplicating_twice_gives_two_copies_with_distinct_slugs():
    original = ModuleFactory(slug="biopsy")

    first = services.module_duplicate(module=original)
    second = services.module_duplicate(module=original)

    assert (first.slug, second.slug) == ("biopsy-copy", "biopsy-copy-2")
    assert original.course.modules.count() == 3


# Races: a double click or two tabs at the same moment.


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_enrolments_at_once_make_one_row():
    learner = UserFactory()
    course = CourseFactory()

    first, second = at_once(lambda: services.enrolment_create(user=learner, course=course))

    assert first.pk == second.pk
    assert Enrolment.objects.filter(user=learner, course=course).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_completing_the_last_lesson_twice_at_once_makes_one_of_each_row():
    learner = UserFactory()
    course = course_with_content(modules=1, lessons=1, questions=0)
    lesson = course.modules.get().lessons.get()

    first, second = at_once(lambda: services.lesson_complete(user=learner, lesson=lesson))

    assert first.pk == second.pk
    assert LessonProgress.objects.filter(user=learner, lesson=lesson).count() == 1
    assert ModuleCompletion.objects.filter(user=learner).count() == 1
    assert Certificate.objects.filter(user=learner, course=course).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_starting_an_attempt_twice_at_once_makes_one_attempt():
    learner = UserFactory()
    module = course_with_content(modules=1, lessons=0, questions=2).modules.get()

    first, second = at_once(lambda: services.attempt_start(user=learner, module=module))

    assert first.pk == second.pk
    assert Attempt.objects.filter(user=learner, module=module).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_answering_the_last_question_twice_at_once_scores_the_attempt_once():
    learner = UserFactory()
    module = course_with_content(modules=1, lessons=0, questions=1).modules.get()
    attempt = services.attempt_start(user=learner, module=module)
    question_id = attempt.question_ids[0]

    first, second = at_once(
        lambda: services.answer_submit(attempt=attempt, question_id=question_id, choice="b")
    )

    assert first.pk == second.pk
    attempt.refresh_from_db()
    assert (attempt.score, attempt.total, attempt.passed) == (1, 1, True)
    assert ModuleCompletion.objects.filter(user=learner, module=module).count() == 1
    assert Certificate.objects.filter(user=learner).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_last_two_lessons_completed_in_two_tabs_at_once_still_complete_the_module():
    """Tab one has marked lesson 1 but not yet committed when tab two marks lesson 2: tab two
    must wait and see lesson 1, or neither tab would complete the module."""
    from django.db import connection, transaction

    learner = UserFactory()
    course = course_with_content(modules=1, lessons=2, questions=0)
    first, second = course.modules.get().lessons.all()
    marked, release = threading.Event(), threading.Event()
    finished = {}

    def tab_one():
        try:
            with transaction.atomic():
                services.lesson_complete(user=learner, lesson=first)
                marked.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    def tab_two():
        try:
            marked.wait(timeout=10)
            services.lesson_complete(user=learner, lesson=second)
            finished["tab two"] = True
        finally:
            connection.close()

    threads = [threading.Thread(target=tab_one), threading.Thread(target=tab_two)]
    for thread in threads:
        thread.start()
    marked.wait(timeout=10)
    threads[1].join(timeout=1)
    assert threads[1].is_alive(), "tab two must wait for tab one's decision"
    release.set()
    for thread in threads:
        thread.join(timeout=10)

    assert finished == {"tab two": True}
    assert ModuleCompletion.objects.filter(user=learner).count() == 1
    assert Certificate.objects.filter(user=learner, course=course).count() == 1


# "Download my data".


@pytest.mark.django_db
def test_download_my_data_holds_my_e_learning_record_and_nothing_of_another_learner(
    learner_client, learner
):
    course = course_with_content(modules=1, lessons=2, questions=2, title="Ultrasound and CT")
    module = course.modules.get()
    services.enrolment_create(user=learner, course=course)
    complete_lessons(learner, module)
    take_attempt(learner, module, correct=0)
    take_attempt(learner, module)
    certificate = Certificate.objects.get(user=learner)

    other = UserFactory(full_name="Zebedee Otheruser")
    theirs = course_with_content(modules=1, lessons=1, questions=1, title="Secret Elsewhere")
    services.enrolment_create(user=other, course=theirs)
    complete_lessons(other, theirs.modules.get())
    take_attempt(other, theirs.modules.get())
    their_certificate = Certificate.objects.get(user=other)

    response = learner_client.get(reverse("accounts:data-export"))

    assert response.status_code == 200
    data = json.loads(response.content)["e_learning"]
    assert [(e["course"], e["active"]) for e in data["enrolments"]] == [("Ultrasound and CT", True)]
    assert sorted(p["lesson"] for p in data["lessons_completed"]) == sorted(
        module.lessons.values_list("title", flat=True)
    )
    assert sorted((a["score"], a["total"], a["passed"]) for a in data["attempts"]) == [
        (0, 2, False),
        (2, 2, True),
    ]
    assert all(len(a["answers"]) == 2 for a in data["attempts"])
    assert [(c["code"], c["course"], c["full_name"]) for c in data["certificates"]] == [
        (certificate.code, "Ultrasound and CT", learner.full_name)
    ]
    body = response.content.decode()
    assert "Secret Elsewhere" not in body
    assert their_certificate.code not in body
    assert other.full_name not in body
