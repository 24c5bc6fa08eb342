from django.db import models
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from irlearn.content import PublishableQuerySet, Status
from irlearn.search import search_word_lookup, search_words


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
        """Published courses whose title, summary or outcomes contain every word of ``query``
        (a word of three letters or fewer as a whole word: irlearn.search)."""
        courses = self.published()
        terms = search_words(query)
        if not terms:
            return courses.none()
        for term in terms:
            courses = courses.filter(
                search_word_lookup("title", term)
                | search_word_lookup("summary", term)
                | search_word_lookup("outcomes", term)
            )
        return courses

    def search_vocabulary(self) -> list[str]:
        """The titles of published courses, of their published modules and lessons, in one
        query: the search page's spelling help draws on them."""
        Module = _related(self.model, "modules")
        Lesson = _related(Module, "lessons")

        def titles(queryset):
            return queryset.published().order_by().values_list("title", flat=True)

        # Unordered, the union included: the courses' default ordering names no column of it.
        return list(titles(self).union(titles(Module.objects), titles(Lesson.objects)).order_by())

    def to_suggest_to(self, user):
        """Published courses to suggest ``user`` takes next: those they are not enrolled on
        and hold no certificate for (a course they left is suggested again), in catalogue
        order."""
        Enrolment = _related(self.model, "enrolments")
        Certificate = _related(self.model, "certificates")
        courses = self.published()
        if user.is_authenticated:
            active = Enrolment.objects.filter(course=OuterRef("pk"), user=user, is_active=True)
            certified = Certificate.objects.filter(course=OuterRef("pk"), user=user)
            courses = courses.exclude(Exists(active)).exclude(Exists(certified))
        return courses.order_by("order", "title")


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
        """Published modules whose title, summary or lessons' titles contain every word (a word
        of three letters or fewer as a whole word: irlearn.search)."""
        modules = self.published().select_related("course")
        terms = search_words(query)
        if not terms:
            return modules.none()
        for term in terms:
            modules = modules.filter(
                search_word_lookup("title", term)
                | search_word_lookup("summary", term)
                | (search_word_lookup("lessons__title", term) & Q(lessons__status=Status.PUBLISHED))
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
