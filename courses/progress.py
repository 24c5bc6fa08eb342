"""Where a learner stands in one or more courses: reads only, a fixed number of queries.

A course is a list of steps: each published lesson, then the module's questions (when it has
any). Progress is the share of steps done; "Resume" opens the first step not done.
"""

from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.urls import reverse

from courses.models import (
    Attempt,
    Certificate,
    Enrolment,
    Lesson,
    LessonFigure,
    LessonProgress,
    Module,
    ModuleCompletion,
)


@dataclass
class ModuleState:
    module: Module
    lessons: list
    done_lesson_ids: set
    passed: bool
    completed: bool

    @property
    def question_total(self):
        return self.module.question_total

    @property
    def has_questions(self):
        return self.module.question_total > 0

    @property
    def lessons_done(self):
        return sum(1 for lesson in self.lessons if lesson.pk in self.done_lesson_ids)

    @property
    def steps_total(self):
        return len(self.lessons) + (1 if self.has_questions else 0)

    @property
    def steps_done(self):
        return self.lessons_done + (1 if self.has_questions and self.passed else 0)

    @property
    def percent(self):
        if self.completed:
            return 100
        return round(100 * self.steps_done / self.steps_total) if self.steps_total else 0

    @property
    def lessons_complete(self):
        return self.lessons_done == len(self.lessons)

    @property
    def quiz_url(self):
        module = self.module
        return reverse("courses:quiz", kwargs={"course": module.course.slug, "module": module.slug})

    def next_step_url(self):
        """The first lesson not done, else the questions if not passed, else None."""
        for lesson in self.lessons:
            if lesson.pk not in self.done_lesson_ids:
                return lesson.get_absolute_url()
        if self.has_questions and not self.passed:
            return self.quiz_url
        return None


@dataclass
class CourseOutline:
    course: object
    modules: list = field(default_factory=list)
    enrolment: Enrolment | None = None
    certificate: Certificate | None = None

    @property
    def is_enrolled(self):
        return self.enrolment is not None and self.enrolment.is_active

    @property
    def steps_total(self):
        return sum(state.steps_total for state in self.modules)

    @property
    def steps_done(self):
        return sum(state.steps_done for state in self.modules)

    @property
    def percent(self):
        if self.certificate is not None:
            return 100
        total = self.steps_total
        return round(100 * self.steps_done / total) if total else 0

    @property
    def has_started(self):
        return self.steps_done > 0

    @property
    def is_complete(self):
        return self.certificate is not None

    def module_state(self, module):
        return next(state for state in self.modules if state.module.pk == module.pk)

    def resume_url(self):
        """The first step not done in course order; the course page when all are done."""
        for state in self.modules:
            if not state.completed:
                url = state.next_step_url()
                if url:
                    return url
        return self.course.get_absolute_url()

    def lesson_sequence(self):
        return [lesson for state in self.modules for lesson in state.lessons]


def course_outlines(*, user, courses, include_drafts=False, with_figures=False) -> dict:
    """{course pk: CourseOutline} for ``courses`` (a list), as ``user`` stands in each.

    Seven queries for a learner whatever the number of courses, modules and lessons, and two
    for a visitor. ``include_drafts`` shows draft modules and lessons (staff previews).
    """
    courses = list(courses)
    outlines = {course.pk: CourseOutline(course=course) for course in courses}
    if not courses:
        return outlines
    by_pk = {course.pk: course for course in courses}
    lessons = Lesson.objects.all() if include_drafts else Lesson.objects.filter(status="published")
    # The outline needs titles, not the editors' Markdown (the page shows the rendered body).
    lessons = lessons.defer("body")
    if with_figures:
        lessons = lessons.prefetch_related(
            Prefetch("figures", queryset=LessonFigure.objects.order_by("order", "pk"))
        )
    modules = Module.objects.filter(course__in=courses)
    if not include_drafts:
        modules = modules.filter(status="published")
    modules = list(
        modules.with_question_count()
        .prefetch_related(Prefetch("lessons", queryset=lessons.order_by("order", "pk")))
        .order_by("course", "order", "pk")
    )

    done, passed, completed = set(), set(), set()
    if user.is_authenticated:
        done = set(
            LessonProgress.objects.filter(
                user=user, lesson__module__course__in=courses
            ).values_list("lesson_id", flat=True)
        )
        passed = set(
            Attempt.objects.filter(user=user, module__course__in=courses, passed=True)
            # Without order_by(), the default ordering joins DISTINCT: a row per attempt.
            .order_by()
            .values_list("module_id", flat=True)
            .distinct()
        )
        completed = set(
            ModuleCompletion.objects.filter(user=user, module__course__in=courses).values_list(
                "module_id", flat=True
            )
        )
        for enrolment in Enrolment.objects.filter(user=user, course__in=courses):
            outlines[enrolment.course_id].enrolment = enrolment
        for certificate in Certificate.objects.filter(user=user, course__in=courses):
            outlines[certificate.course_id].certificate = certificate

    for module in modules:
        module.course = by_pk[module.course_id]
        lessons = list(module.lessons.all())
        for lesson in lessons:
            lesson.module = module
            lesson.is_done = lesson.pk in done
        outlines[module.course_id].modules.append(
            ModuleState(
                module=module,
                lessons=lessons,
                done_lesson_ids=done,
                passed=module.pk in passed,
                completed=module.pk in completed,
            )
        )
    return outlines


def course_outline(*, user, course, **kwargs) -> CourseOutline:
    return course_outlines(user=user, courses=[course], **kwargs)[course.pk]
