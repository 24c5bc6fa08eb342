from django.db import models
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from irlearn.content import PublishableQuerySet, Status
from irlearn.search import search_terms


def _related(model, name):
    """The model at the other end of ``model``'s relation ``name`` (Course, "modules" -> Module).

    These querysets reach the other models through their relations: importing courses.models,
    which imports this module, would make the two import each other.
    """
    return model._meta.get_field(name).related_model


def _count(queryset, field="pk"):
    """A correlated COUNT subquery, so several counts can be annotated without a join fan-out."""
    return Coalesce(
        Subquery(
            queryset.order_by().values(field).annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


class CourseQuerySet(PublishableQuerySet):
    def with_totals(self):
        """Annotate what the catalogue shows: published modules, lessons and quizzes, minutes."""
        Module = _related(self.model, "modules")
        Lesson = _related(Module, "lessons")
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
        terms = search_terms(query)
        if not terms:
            return courses.none()
        for term in terms:
            courses = courses.filter(
                Q(title__icontains=term) | Q(summary__icontains=term) | Q(outcomes__icontains=term)
            )
        return courses


class ModuleQuerySet(PublishableQuerySet):
    def published(self):
        """Modules learners see: published, in a published course."""
        return super().published().filter(course__status=Status.PUBLISHED)

    def with_question_count(self):
        Question = _related(self.model, "questions")
        questions = Question.objects.answerable().filter(module=OuterRef("pk"))
        return self.annotate(
            question_total=_count(questions, "module"),
            image_question_total=_count(questions.exclude(kind="sba"), "module"),
        )

    def search(self, query: str):
        """Published modules whose title, summary or lessons' titles contain every word."""
        modules = self.published().select_related("course")
        terms = search_terms(query)
        if not terms:
            return modules.none()
        for term in terms:
            modules = modules.filter(
                Q(title__icontains=term)
                | Q(summary__icontains=term)
                | Q(lessons__title__icontains=term, lessons__status=Status.PUBLISHED)
            )
        return modules.distinct()


class LessonQuerySet(PublishableQuerySet):
    def published(self):
        """Lessons learners see: published, in a published module of a published course."""
        return (
            super()
            .published()
            .filter(module__status=Status.PUBLISHED, module__course__status=Status.PUBLISHED)
        )


class QuestionQuerySet(models.QuerySet):
    def answerable(self):
        """Questions learners can be asked: every single best answer question, and image
        questions once the editor has drawn a target on their stem stack (an image question
        with no target could never be answered right, so it is not served until it has one)."""
        Region = _related(self.model, "regions")
        has_target = Region.objects.filter(
            question=OuterRef("pk"), role="target", stack=OuterRef("stem_stack")
        )
        return self.filter(Q(kind="sba") | Exists(has_target))
