from django.db import models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from procedures.querysets import CONTROL_CHARACTERS

PUBLISHED = "published"


def _terms(query: str) -> list[str]:
    """Up to ten words of ``query``, without control characters (PostgreSQL refuses NUL)."""
    return CONTROL_CHARACTERS.sub(" ", query).split()[:10]


def _count(queryset, field="pk"):
    """A correlated COUNT subquery, so several counts can be annotated without a join fan-out."""
    return Coalesce(
        Subquery(
            queryset.order_by().values(field).annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


class CourseQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PUBLISHED)

    def visible_to(self, user):
        """Published courses; staff also see drafts, which they preview before publishing."""
        return self if user.is_staff else self.published()

    def with_totals(self):
        """Annotate what the catalogue shows: published modules, lessons and quizzes, minutes."""
        from courses.models import Lesson, Module

        modules = Module.objects.published().filter(course=OuterRef("pk"))
        lessons = Lesson.objects.published().filter(module__course=OuterRef("pk"))
        return self.annotate(
            module_total=_count(modules, "course"),
            lesson_total=_count(lessons, "module__course"),
            quiz_total=_count(modules.filter(questions__isnull=False).distinct(), "course"),
            minutes_total=Coalesce(
                Subquery(
                    modules.order_by()
                    .values("course")
                    .annotate(m=Sum("estimated_minutes"))
                    .values("m")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )

    def search(self, query: str):
        """Published courses whose title, summary or outcomes contain every word of ``query``."""
        courses = self.published()
        if not _terms(query):
            return courses.none()
        for term in _terms(query):
            courses = courses.filter(
                Q(title__icontains=term) | Q(summary__icontains=term) | Q(outcomes__icontains=term)
            )
        return courses


class ModuleQuerySet(models.QuerySet):
    def published(self):
        """Modules learners see: published, in a published course."""
        return self.filter(status=PUBLISHED, course__status=PUBLISHED)

    def visible_to(self, user):
        return self if user.is_staff else self.published()

    def with_question_count(self):
        from courses.models import Question

        return self.annotate(
            question_total=_count(Question.objects.filter(module=OuterRef("pk")), "module")
        )

    def search(self, query: str):
        """Published modules whose title, summary or lessons' titles contain every word."""
        modules = self.published().select_related("course")
        if not _terms(query):
            return modules.none()
        for term in _terms(query):
            modules = modules.filter(
                Q(title__icontains=term)
                | Q(summary__icontains=term)
                | Q(lessons__title__icontains=term, lessons__status=PUBLISHED)
            )
        return modules.distinct()


class LessonQuerySet(models.QuerySet):
    def published(self):
        """Lessons learners see: published, in a published module of a published course."""
        return self.filter(
            status=PUBLISHED, module__status=PUBLISHED, module__course__status=PUBLISHED
        )

    def visible_to(self, user):
        return self if user.is_staff else self.published()
