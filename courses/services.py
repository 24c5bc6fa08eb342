"""Writes of the e-learning: enrolment, progress, attempts, completion and certificates.

Every function runs in a transaction and leans on the database's unique constraints, so a
double click or two tabs never make two enrolments, progress rows, attempts or certificates.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from courses import scoring
from courses.models import (
    Answer,
    Attempt,
    Certificate,
    Course,
    Enrolment,
    Lesson,
    LessonProgress,
    Module,
    ModuleCompletion,
    Question,
    QuestionRegion,
)
from irlearn.content import Status
from irlearn.stacks.geometry import Geometry
from irlearn.stacks.models import StackSlice


class AnswerRejected(Exception):
    """An answer that no honest form could have sent (wrong question, unknown option)."""


def enrolment_create(*, user, course: Course) -> Enrolment:
    """Enrol ``user`` on ``course``, or re-enrol them: their earlier progress is still there."""
    with transaction.atomic():
        enrolment, created = Enrolment.objects.get_or_create(user=user, course=course)
        if not created and not enrolment.is_active:
            enrolment.is_active = True
            enrolment.unenrolled_at = None
            enrolment.save(update_fields=["is_active", "unenrolled_at"])
    return enrolment


def enrolment_cancel(*, user, course: Course) -> None:
    """Unenrol ``user``; their progress, attempts and any certificate are kept."""
    Enrolment.objects.filter(user=user, course=course, is_active=True).update(
        is_active=False, unenrolled_at=timezone.now()
    )


def lesson_complete(*, user, lesson: Lesson) -> LessonProgress:
    """Mark ``lesson`` complete for ``user`` (again is harmless) and complete what follows."""
    with transaction.atomic():
        progress, _ = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
        module_complete_if_done(user=user, module=lesson.module)
    return progress


def lesson_uncomplete(*, user, lesson: Lesson) -> None:
    """Take back a "complete" mark. A module or certificate already earned stays earned."""
    LessonProgress.objects.filter(user=user, lesson=lesson).delete()


def attempt_start(*, user, module: Module) -> Attempt:
    """The learner's unfinished attempt at ``module``'s questions, or a new one."""
    question_ids = list(
        module.questions.answerable().order_by("order", "pk").values_list("pk", flat=True)
    )
    if not question_ids:
        raise ValueError("This module has no questions.")
    open_attempts = Attempt.objects.filter(user=user, module=module, finished_at__isnull=True)
    attempt = open_attempts.first()
    if attempt is not None:
        return attempt
    try:
        with transaction.atomic():
            return Attempt.objects.create(
                user=user,
                module=module,
                question_ids=question_ids,
                total=len(question_ids),
                pass_mark=module.pass_mark,
            )
    except IntegrityError:
        # Another request started one a moment ago: that one is ours too.
        return open_attempts.get()


def answer_submit(*, attempt: Attempt, question_id, choice=None, marks=None) -> Answer:
    """Record the answer to one question of ``attempt``; finish the attempt after the last.

    A single best answer question is answered with ``choice`` (a letter); a question on an
    image with ``marks`` (the POST data, or a dict as ``Answer.marks`` stores them), scored
    against the regions drawn on the question's stack (courses/scoring.py).

    Answering the same question again (a double click, a second tab) keeps the first answer:
    feedback has been shown, so changing it would make the score meaningless. The attempt's
    row is locked while the answer is recorded, so the last two answers given at once in two
    tabs still finish the attempt exactly once.
    Raises AnswerRejected for a question outside the attempt, an option the question lacks, or
    marks that cannot be scored (off the image, on a slice the stack lacks, not numbers).
    """
    try:
        question_id = int(question_id)
    except (TypeError, ValueError):
        raise AnswerRejected("Unknown question.") from None
    if question_id not in attempt.question_ids:
        raise AnswerRejected("That question is not part of this attempt.")
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
        question = (
            Question.objects.select_related("stem_stack")
            .filter(pk=question_id, module_id=attempt.module_id)
            .first()
        )
        if question is None:
            raise AnswerRejected("That question is not part of this module.")
        parsed = None
        if question.is_on_image:
            if choice:
                raise AnswerRejected("This question is answered by marking the image.")
            try:
                parsed = scoring.parse_marks(
                    marks, kind=question.kind, slice_count=question.stem_stack.slice_count
                )
            except scoring.MarkError as error:
                raise AnswerRejected(str(error)) from None
        else:
            if marks:
                raise AnswerRejected("This question is answered by choosing an option.")
            if not isinstance(choice, str) or choice not in question.letters:
                raise AnswerRejected("That option is not one of the question's options.")
        existing = attempt.answers.filter(question=question).first()
        if existing is not None:
            return existing
        if attempt.is_finished:
            raise AnswerRejected("This attempt is finished.")
        if parsed is None:
            answer = Answer.objects.create(
                attempt=attempt,
                question=question,
                choice=choice,
                is_correct=choice == question.correct,
            )
        else:
            result = _image_result(question, parsed)
            answer = Answer.objects.create(
                attempt=attempt,
                question=question,
                marks=parsed.as_json(),
                result=result.as_json(),
                is_correct=result.is_correct,
            )
        _attempt_finish_if_answered(attempt)
    return answer


def question_regions(question: Question) -> list[scoring.RegionRow]:
    """The regions of an image question that count (those on its stem stack), in one query."""
    stack = question.stem_stack
    rows = (
        QuestionRegion.objects.filter(question=question)
        .order_by("pk")
        .values_list("stack_id", "role", "label", "shapes")
    )
    return scoring.usable_regions(rows, stack_id=stack.pk, slice_count=stack.slice_count)


def _image_result(question: Question, marks: scoring.Marks) -> scoring.Result:
    """Score ``marks``: one query for the regions and, for routes, one for the slice positions
    (a list of numbers, whatever the number of slices)."""
    regions = question_regions(question)
    geometry = None
    if question.kind == Question.Kind.PLAN_ROUTE:
        stack = question.stem_stack
        positions = list(
            StackSlice.objects.filter(stack=stack)
            .order_by("index")
            .values_list("position", flat=True)
        )
        # A stack being processed again may be short of rows for a moment: the missing slices
        # take their place from the slice spacing.
        positions += [None] * (stack.slice_count - len(positions))
        geometry = Geometry.of(stack, positions)
    return scoring.score(kind=question.kind, marks=marks, regions=regions, geometry=geometry)


def _attempt_finish_if_answered(attempt: Attempt) -> None:
    # Questions deleted since the attempt began no longer count.
    live_ids = set(
        Question.objects.filter(pk__in=attempt.question_ids).values_list("pk", flat=True)
    )
    answers = list(attempt.answers.filter(question_id__in=live_ids))
    if len(answers) < len(live_ids):
        return
    attempt.total = len(live_ids)
    attempt.score = sum(1 for answer in answers if answer.is_correct)
    attempt.passed = attempt.total > 0 and 100 * attempt.score >= attempt.pass_mark * attempt.total
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["total", "score", "passed", "finished_at"])
    if attempt.passed:
        module_complete_if_done(user=attempt.user, module=attempt.module)


def module_complete_if_done(*, user, module: Module) -> ModuleCompletion | None:
    """Record ``module`` complete when its published lessons are done and its questions passed,
    then issue the course certificate if that was the last module."""
    # Inside the caller's transaction no savepoint is needed: nothing here catches an error.
    with transaction.atomic(savepoint=False):
        # One learner's completions are decided one at a time: two tabs finishing the last two
        # lessons at once would otherwise each miss the other's uncommitted row, and neither
        # would complete the module. Waiting on this lock, the second sees the first's commit.
        # (user._meta.model, not type(user): a view passes request.user, a SimpleLazyObject.)
        list(user._meta.model.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        completion = ModuleCompletion.objects.filter(user=user, module=module).first()
        if completion is not None:
            return completion
        lessons = module.lessons.filter(status=Status.PUBLISHED)
        if lessons.exclude(progress__user=user).exists():
            return None
        if (
            module.questions.exists()
            and not module.attempts.filter(user=user, passed=True).exists()
        ):
            return None
        completion, _ = ModuleCompletion.objects.get_or_create(user=user, module=module)
        certificate_issue_if_complete(user=user, course=module.course)
    return completion


def certificate_issue_if_complete(*, user, course: Course) -> Certificate | None:
    """Issue the certificate for ``course`` once every published module is complete.

    A certificate, once issued, stays: modules added to the course later do not take it away.
    """
    with transaction.atomic(savepoint=False):
        certificate = Certificate.objects.filter(user=user, course=course).first()
        if certificate is not None:
            return certificate
        modules = course.modules.filter(status=Status.PUBLISHED)
        if not modules.exists() or modules.exclude(completions__user=user).exists():
            return None
        last = (
            ModuleCompletion.objects.filter(user=user, module__course=course)
            .order_by("-completed_at")
            .values_list("completed_at", flat=True)
            .first()
        )
        certificate, _ = Certificate.objects.get_or_create(
            user=user,
            course=course,
            defaults={
                "full_name": user.full_name or user.email,
                "course_title": course.title,
                "cpd_hours": course.cpd_hours,
                "completed_on": timezone.localdate(last or timezone.now()),
            },
        )
    return certificate


def certificate_revoke(*, certificates, reason: str = "") -> int:
    """Revoke ``certificates`` (a queryset): their verification page then says so."""
    return certificates.filter(revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )


def certificate_reinstate(*, certificates) -> int:
    return certificates.filter(revoked_at__isnull=False).update(revoked_at=None, revoked_reason="")


def module_duplicate(*, module: Module) -> Module:
    """A draft copy of ``module`` in the same course, with copies of its lessons, figures and
    questions, for editors who start a new module from an existing one."""
    with transaction.atomic():
        lessons = list(module.lessons.prefetch_related("figures"))
        questions = list(module.questions.all())
        procedures = list(module.procedures.all())
        slugs = set(module.course.modules.values_list("slug", flat=True))
        number = 1
        slug = f"{module.slug}-copy"[:200]
        while slug in slugs:
            number += 1
            slug = f"{module.slug}-copy-{number}"[:200]
        copy = Module.objects.get(pk=module.pk)
        copy.pk = None
        copy._state.adding = True
        copy.title = f"{module.title} (copy)"[:200]
        copy.slug = slug
        copy.status = Status.DRAFT
        copy.order = module.course.modules.count()
        copy.save()
        copy.procedures.set(procedures)
        for lesson in lessons:
            figures = list(lesson.figures.all())
            lesson.pk = None
            lesson._state.adding = True
            lesson.module = copy
            lesson.status = Status.DRAFT
            lesson.save()
            for figure in figures:
                figure.pk = None
                figure._state.adding = True
                figure.lesson = lesson
                figure.save()
        for question in questions:
            question.pk = None
            question._state.adding = True
            question.module = copy
            question.save()
    return copy


def learner_data(user) -> dict:
    """A learner's e-learning record for "download my data": enrolments, lessons completed,
    every attempt with its answers, and certificates."""
    return {
        "enrolments": [
            {
                "course": e.course.title,
                "enrolled_at": e.enrolled_at.isoformat(),
                "active": e.is_active,
                "unenrolled_at": e.unenrolled_at.isoformat() if e.unenrolled_at else None,
            }
            for e in Enrolment.objects.filter(user=user).select_related("course")
        ],
        "lessons_completed": [
            {
                "course": p.lesson.module.course.title,
                "module": p.lesson.module.title,
                "lesson": p.lesson.title,
                "completed_at": p.completed_at.isoformat(),
            }
            for p in LessonProgress.objects.filter(user=user).select_related(
                "lesson__module__course"
            )
        ],
        "attempts": [
            {
                "module": a.module.title,
                "started_at": a.started_at.isoformat(),
                "finished_at": a.finished_at.isoformat() if a.finished_at else None,
                "score": a.score,
                "total": a.total,
                "passed": a.passed,
                "answers": [
                    {
                        "question": str(answer.question),
                        "choice": answer.choice.upper(),
                        # Questions on images: the marks placed and what they met.
                        **(
                            {"marks": answer.marks, "result": answer.result} if answer.marks else {}
                        ),
                    }
                    for answer in a.answers.all()
                ],
            }
            for a in Attempt.objects.filter(user=user)
            .select_related("module")
            .prefetch_related("answers__question")
        ],
        "certificates": [
            {
                "code": c.code,
                "course": c.course_title,
                "full_name": c.full_name,
                "cpd_hours": str(c.cpd_hours),
                "completed_on": c.completed_on.isoformat(),
                "revoked": c.is_revoked,
            }
            for c in Certificate.objects.filter(user=user)
        ],
    }
