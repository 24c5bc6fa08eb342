"""Reports for editors: how a course is doing, on its admin report page and as a CSV download.

Reads only, in a fixed number of queries whatever the number of learners and answers. The admin
wires the pages (courses.admin, CourseAdmin.get_urls) and checks who may see them.
"""

import csv
from dataclasses import dataclass

from django.db.models import Avg, Count, Exists, FloatField, OuterRef, Q
from django.db.models.functions import Cast

from courses.models import (
    Attempt,
    Certificate,
    Course,
    Enrolment,
    LessonProgress,
    Question,
)
from irlearn.exports import csv_cell

# A question fewer than this share of learners answer correctly is worth a second look: the
# stem may be ambiguous, or the keyed answer wrong.
CHECK_BELOW_PERCENT = 40


@dataclass(frozen=True)
class QuestionFigures:
    """How one question fares: every answer given to it, and how many were correct."""

    question: Question
    answers: int
    correct: int

    @property
    def percent_correct(self) -> int | None:
        return round(100 * self.correct / self.answers) if self.answers else None

    @property
    def needs_checking(self) -> bool:
        return self.answers > 0 and 100 * self.correct < CHECK_BELOW_PERCENT * self.answers


@dataclass(frozen=True)
class CourseReport:
    """One course's figures: its learners, its finished attempts and each of its questions."""

    enrolled: int
    started: int
    completed: int
    finished_attempts: int
    average_score: int | None
    modules: list  # [(module, [QuestionFigures, ...]), ...] in the course's order

    def csv_rows(self):
        """The report as rows of section, module, question, answers, percent correct.

        The summary rows come first and use the same columns: the figure goes under
        "answers" (a count) and, for the attempts, the average score under "percent".
        """
        yield ["section", "module", "question", "answers", "percent correct"]
        yield ["summary", "", "learners enrolled", self.enrolled, ""]
        yield ["summary", "", "learners started", self.started, ""]
        yield ["summary", "", "learners completed (certificates not revoked)", self.completed, ""]
        yield [
            "summary",
            "",
            "finished attempts (average score)",
            self.finished_attempts,
            "" if self.average_score is None else self.average_score,
        ]
        for module, rows in self.modules:
            for row in rows:
                stem = " ".join(row.question.stem.split())
                percent = row.percent_correct
                yield [
                    "question",
                    module.title,
                    stem,
                    row.answers,
                    "" if percent is None else percent,
                ]

    def write_csv(self, file) -> None:
        """Write ``csv_rows()`` to ``file`` (an HttpResponse will do), formulas kept as text."""
        writer = csv.writer(file)
        for row in self.csv_rows():
            writer.writerow([csv_cell(value) for value in row])


def course_report(course: Course) -> CourseReport:
    """How ``course`` is doing, in five queries however many learners and questions it has.

    Enrolled and started count active enrolments only; completed counts certificates that are
    not revoked; answers count every answer given, by anyone, to the course's questions.
    """
    did_something = Exists(
        LessonProgress.objects.filter(user=OuterRef("user"), lesson__module__course=course)
    ) | Exists(Attempt.objects.filter(user=OuterRef("user"), module__course=course))
    learners = Enrolment.objects.filter(course=course, is_active=True).aggregate(
        enrolled=Count("pk"), started=Count("pk", filter=did_something)
    )
    attempts = Attempt.objects.filter(
        module__course=course, finished_at__isnull=False, total__gt=0
    ).aggregate(
        finished=Count("pk"),
        average=Avg(Cast("score", FloatField()) * 100 / Cast("total", FloatField())),
    )
    completed = Certificate.objects.filter(course=course, revoked_at__isnull=True).count()
    questions = (
        Question.objects.filter(module__course=course)
        .only("pk", "module_id", "stem", "order")
        .annotate(
            answer_total=Count("answers"),
            correct_total=Count("answers", filter=Q(answers__is_correct=True)),
        )
        .order_by("order", "pk")
    )
    by_module = {}
    for question in questions:
        by_module.setdefault(question.module_id, []).append(
            QuestionFigures(question, question.answer_total, question.correct_total)
        )
    modules = course.modules.order_by("order", "pk")
    average = attempts["average"]
    return CourseReport(
        enrolled=learners["enrolled"],
        started=learners["started"],
        completed=completed,
        finished_attempts=attempts["finished"],
        average_score=None if average is None else round(float(average)),
        modules=[(module, by_module.get(module.pk, [])) for module in modules],
    )
