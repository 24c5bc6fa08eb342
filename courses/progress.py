"""Where a learner stands in one or more courses: reads only, a fixed number of queries.

A course is a list of steps: each published lesson, then the module's questions (when it has
any). Progress is the share of steps done; "Resume" opens the first step not done.
"""

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Prefetch, Value
from django.urls import reverse

from courses.models import (
    Attempt,
    Certificate,
    Enrolment,
    Lesson,
    LessonProgress,
    Module,
    ModuleCompletion,
)
from irlearn.pagecache import content_version


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
        return self.module.quiz_url

    def next_step_url(self):
        """The first lesson not done, else the questions if not passed, else None."""
        for lesson in self.lessons:
            if lesson.pk not in self.done_lesson_ids:
                return lesson.url
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


# How long a course's structure stays cached; any change to content retires it sooner.
STRUCTURE_SECONDS = 24 * 60 * 60


def _structure_key(course, include_drafts: bool, version: str) -> str:
    return f"courses:structure:{course.pk}:{int(include_drafts)}:{version}"


def course_structures(courses, *, include_drafts=False) -> dict:
    """{course pk: [Module, ...]}: each course's modules, in order, with their lessons
    (``module.lesson_list``) and the links of both, but without the lessons' bodies.

    The structure is the same for every learner, so it comes from the cache, keyed by the
    content version (irlearn.pagecache): saving or deleting any course, module, lesson or
    question retires it. Two queries for the courses not in the cache, none otherwise.
    """
    version = content_version()
    keys = {course.pk: _structure_key(course, include_drafts, version) for course in courses}
    found = cache.get_many(keys.values())
    structures = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [course for course in courses if course.pk not in structures]
    if missing:
        built = _build_structures(missing, include_drafts=include_drafts)
        cache.set_many({keys[pk]: modules for pk, modules in built.items()}, STRUCTURE_SECONDS)
        structures.update(built)
    by_pk = {course.pk: course for course in courses}
    for pk, modules in structures.items():
        for module in modules:
            module.course = by_pk[pk]  # the caller's course, not the copy in the cache
    return structures


def _build_structures(courses, *, include_drafts) -> dict:
    lessons = Lesson.objects.all() if include_drafts else Lesson.objects.filter(status="published")
    # The outline needs titles and links; the lesson page reads its one body itself.
    lessons = lessons.defer("body", "body_html").order_by("order", "pk")
    modules = Module.objects.filter(course__in=courses)
    if not include_drafts:
        modules = modules.filter(status="published")
    modules = (
        modules.with_question_count()
        .prefetch_related(Prefetch("lessons", queryset=lessons, to_attr="lesson_list"))
        .order_by("course", "order", "pk")
    )
    by_pk = {course.pk: course for course in courses}
    structures = {course.pk: [] for course in courses}
    for module in modules:
        module.course = by_pk[module.course_id]
        module.url = module.get_absolute_url()
        module.quiz_url = reverse(
            "courses:quiz", kwargs={"course": module.course.slug, "module": module.slug}
        )
        for lesson in module.lesson_list:
            lesson.module = module
            lesson.url = lesson.get_absolute_url()
        structures[module.course_id].append(module)
    return structures


def course_outlines(*, user, courses, include_drafts=False) -> dict:
    """{course pk: CourseOutline} for ``courses`` (a list), as ``user`` stands in each.

    Three queries for a learner whatever the number of courses, modules and lessons (their
    marks, enrolments and certificates), and none for a visitor, once the courses' structure
    is cached (two more when it is not). ``include_drafts`` shows draft modules and lessons
    (staff previews).
    """
    courses = list(courses)
    outlines = {course.pk: CourseOutline(course=course) for course in courses}
    if not courses:
        return outlines
    structures = course_structures(courses, include_drafts=include_drafts)

    done, passed, completed = set(), set(), set()
    if user.is_authenticated:
        # The learner's ticks in one query: lessons done, modules passed, modules completed.
        marks = {"done": done, "passed": passed, "completed": completed}
        lessons_done = (
            LessonProgress.objects.filter(user=user, lesson__module__course__in=courses)
            .annotate(kind=Value("done"))
            .values_list("kind", "lesson_id")
        )
        modules_passed = (
            Attempt.objects.filter(user=user, module__course__in=courses, passed=True)
            .annotate(kind=Value("passed"))
            .values_list("kind", "module_id")
        )
        modules_completed = (
            ModuleCompletion.objects.filter(user=user, module__course__in=courses)
            .annotate(kind=Value("completed"))
            .values_list("kind", "module_id")
        )
        # UNION (not ALL): one row per module passed, however many attempts passed it.
        for kind, pk in lessons_done.order_by().union(
            modules_passed.order_by(), modules_completed.order_by()
        ):
            marks[kind].add(pk)
        for enrolment in Enrolment.objects.filter(user=user, course__in=courses):
            outlines[enrolment.course_id].enrolment = enrolment
        for certificate in Certificate.objects.filter(user=user, course__in=courses):
            outlines[certificate.course_id].certificate = certificate

    for course_pk, modules in structures.items():
        for module in modules:
            lessons = list(module.lesson_list)
            for lesson in lessons:
                lesson.is_done = lesson.pk in done
            outlines[course_pk].modules.append(
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
