"""Where a learner stands in one or more courses, and how they move through them: reads only,
in a fixed number of queries.

A course is a list of steps: each published lesson, then the module's questions (when it has
any). Progress is the share of steps done; "Resume" opens the first step not done; previous and
next walk the steps in order. Every course page reads the learner's place from a
``CourseOutline``: the lesson page and the questions (previous, next, the outline's ticks and the
progress bars), Resume, the course page, the catalogue and My learning.

A course's structure (its modules and lessons, their titles and links) is the same for every
learner, so it is cached, as plain data, until content changes; a learner's ticks are read
afresh on every request.
"""

from dataclasses import dataclass
from functools import cached_property

from django.core.cache import cache
from django.db.models import Value
from django.http import Http404
from django.urls import reverse

from courses.models import (
    Attempt,
    Certificate,
    Course,
    Enrolment,
    Lesson,
    LessonProgress,
    Module,
    ModuleCompletion,
)
from irlearn.content import Status
from irlearn.pagecache import content_version

# The structure of a course, the same for every learner: cached, so plain data only.


@dataclass(frozen=True, slots=True)
class LessonEntry:
    """A lesson as the outline and the pager show it; the lesson page reads the body itself."""

    pk: int
    title: str
    slug: str
    url: str
    is_published: bool


@dataclass(frozen=True, slots=True)
class ModuleEntry:
    """A module as the course, module, lesson and question pages show it, with its lessons."""

    pk: int
    title: str
    slug: str
    summary: str
    estimated_minutes: int
    pass_mark: int
    is_published: bool
    question_total: int
    url: str
    quiz_url: str
    lessons: tuple[LessonEntry, ...]
    # Of question_total, those answered on images (mark the target, plan the route).
    image_question_total: int = 0

    @property
    def has_questions(self):
        return self.question_total > 0


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a course, for previous and next: a lesson, or a module's questions."""

    url: str
    title: str


# How long a course's structure stays cached; any change to content retires it sooner.
STRUCTURE_SECONDS = 24 * 60 * 60


def _structure_key(course, include_drafts: bool, version: str) -> str:
    # v2: modules count their image questions (structures cached before lack the field).
    return f"courses:structure:v2:{course.pk}:{int(include_drafts)}:{version}"


def course_structures(courses, *, include_drafts=False) -> dict[int, tuple[ModuleEntry, ...]]:
    """{course pk: (ModuleEntry, ...)}: each course's modules in order, with their lessons.

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
    return structures


def _build_structures(courses, *, include_drafts) -> dict[int, tuple[ModuleEntry, ...]]:
    modules = Module.objects.filter(course__in=courses)
    lessons = Lesson.objects.all()
    if not include_drafts:
        modules = modules.filter(status=Status.PUBLISHED)
        lessons = lessons.filter(status=Status.PUBLISHED)
    modules = list(
        modules.with_question_count()
        .order_by("course", "order", "pk")
        .values_list(
            "pk",
            "course_id",
            "title",
            "slug",
            "summary",
            "estimated_minutes",
            "pass_mark",
            "status",
            "question_total",
            "image_question_total",
        )
    )
    lessons = (
        lessons.filter(module__in=[module[0] for module in modules])
        .order_by("order", "pk")
        .values_list("pk", "module_id", "title", "slug", "status")
    )
    slugs = {course.pk: course.slug for course in courses}
    module_slugs = {module[0]: (slugs[module[1]], module[3]) for module in modules}
    lessons_of = {module[0]: [] for module in modules}
    for pk, module_pk, title, slug, status in lessons:
        course_slug, module_slug = module_slugs[module_pk]
        url = reverse(
            "courses:lesson-detail",
            kwargs={"course": course_slug, "module": module_slug, "lesson": slug},
        )
        lessons_of[module_pk].append(
            LessonEntry(pk, title, slug, url, is_published=status == Status.PUBLISHED)
        )
    structures = {course.pk: [] for course in courses}
    for row in modules:
        pk, course_pk, title, slug, summary, minutes, pass_mark, status, questions, images = row
        kwargs = {"course": slugs[course_pk], "module": slug}
        structures[course_pk].append(
            ModuleEntry(
                pk=pk,
                title=title,
                slug=slug,
                summary=summary,
                estimated_minutes=minutes,
                pass_mark=pass_mark,
                is_published=status == Status.PUBLISHED,
                question_total=questions,
                image_question_total=images,
                url=reverse("courses:module-detail", kwargs=kwargs),
                quiz_url=reverse("courses:quiz", kwargs=kwargs),
                lessons=tuple(lessons_of[pk]),
            )
        )
    return {pk: tuple(modules) for pk, modules in structures.items()}


# One learner in a course: the structure with their ticks.


@dataclass(frozen=True, slots=True)
class ModuleState:
    """A module as one learner stands in it."""

    module: ModuleEntry
    # The outline's set, shared by its modules: a lesson marked done shows in every one.
    done_lesson_ids: set
    passed: bool
    completed: bool

    @property
    def lessons(self):
        return self.module.lessons

    @property
    def lesson_ticks(self):
        """(lesson, done) for each lesson, in order."""
        return [(lesson, lesson.pk in self.done_lesson_ids) for lesson in self.module.lessons]

    @property
    def question_total(self):
        return self.module.question_total

    @property
    def image_question_total(self):
        return self.module.image_question_total

    @property
    def single_best_answer_total(self):
        return self.module.question_total - self.module.image_question_total

    @property
    def has_questions(self):
        return self.module.has_questions

    @property
    def quiz_url(self):
        return self.module.quiz_url

    @property
    def lessons_done(self):
        return sum(1 for lesson in self.lessons if lesson.pk in self.done_lesson_ids)

    @property
    def lessons_complete(self):
        return self.lessons_done == len(self.lessons)

    @property
    def new_lesson_total(self):
        """In a module the learner completed, the lessons they have not read: added since (a
        completion is kept when content grows), or marked not complete again. 0 otherwise."""
        return len(self.lessons) - self.lessons_done if self.completed else 0

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

    def next_step_url(self):
        """The first lesson not done, else the questions if not passed, else None."""
        for lesson in self.lessons:
            if lesson.pk not in self.done_lesson_ids:
                return lesson.url
        if self.has_questions and not self.passed:
            return self.quiz_url
        return None


@dataclass(frozen=True)
class Place:
    """Where a lesson page or a module's questions stand in the course."""

    state: ModuleState
    lesson: LessonEntry | None  # None on the module's questions
    previous: Step | None
    next: Step | None

    @property
    def module(self) -> ModuleEntry:
        return self.state.module

    @property
    def is_done(self):
        return self.lesson is not None and self.lesson.pk in self.state.done_lesson_ids

    @property
    def number(self):
        """The lesson's number in its module, from 1."""
        return self.state.lessons.index(self.lesson) + 1


@dataclass
class CourseOutline:
    """One learner's course: its modules with their ticks, progress, Resume, previous and next.

    For a visitor, or a course not taken, nothing is ticked.
    """

    course: Course
    modules: list[ModuleState]
    done_lesson_ids: set
    enrolment: Enrolment | None = None
    certificate: Certificate | None = None

    @property
    def is_enrolled(self):
        return self.enrolment is not None and self.enrolment.is_active

    @property
    def is_complete(self):
        return self.certificate is not None

    @property
    def steps_total(self):
        return sum(state.steps_total for state in self.modules)

    @property
    def steps_done(self):
        return sum(state.steps_done for state in self.modules)

    @property
    def percent(self):
        if self.is_complete:
            return 100
        total = self.steps_total
        return round(100 * self.steps_done / total) if total else 0

    @property
    def has_started(self):
        return self.steps_done > 0

    @cached_property
    def steps(self) -> list[Step]:
        """Every step of the course in order: lessons, then each module's questions."""
        steps = []
        for state in self.modules:
            steps += [Step(lesson.url, lesson.title) for lesson in state.lessons]
            if state.has_questions:
                steps.append(Step(state.quiz_url, f"Questions: {state.module.title}"))
        return steps

    def module_state(self, slug) -> ModuleState:
        """The module with this slug; a 404 when the learner's outline has none."""
        for state in self.modules:
            if state.module.slug == slug:
                return state
        raise Http404("No such module in this course.")

    def lesson_place(self, module_slug, lesson_slug) -> Place:
        """The lesson with these slugs and the steps either side; a 404 when there is none."""
        state = self.module_state(module_slug)
        for lesson in state.lessons:
            if lesson.slug == lesson_slug:
                return Place(state, lesson, *self._neighbours(lesson.url))
        raise Http404("No such lesson in this module.")

    def questions_place(self, module_slug) -> Place:
        """The questions of the module with this slug and the steps either side; a 404 when
        there is no such module, or it has no questions."""
        state = self.module_state(module_slug)
        if not state.has_questions:
            raise Http404("This module has no questions.")
        return Place(state, None, *self._neighbours(state.quiz_url))

    def _neighbours(self, url):
        urls = [step.url for step in self.steps]
        index = urls.index(url)
        previous = self.steps[index - 1] if index > 0 else None
        following = self.steps[index + 1] if index < len(self.steps) - 1 else None
        return previous, following

    def next_step(self) -> Step | None:
        """The step Resume opens, with its title (My learning shows it); None when every step
        of the modules not completed is done."""
        for state in self.modules:
            if state.completed:
                continue
            for lesson in state.lessons:
                if lesson.pk not in self.done_lesson_ids:
                    return Step(lesson.url, lesson.title)
            if state.has_questions and not state.passed:
                return Step(state.quiz_url, f"Questions: {state.module.title}")
        return None

    def resume_url(self) -> str:
        """The first step not done in course order; the course page when all are done."""
        for state in self.modules:
            if not state.completed:
                url = state.next_step_url()
                if url:
                    return url
        return self.course.get_absolute_url()

    def after_completing(self, place: Place) -> str:
        """Where "Mark as complete" goes once the lesson at ``place`` is stored as done: the
        next step, or after the last one the first step still not done."""
        # The outline read before stays valid with this one lesson added: no need to read again.
        self.done_lesson_ids.add(place.lesson.pk)
        return place.next.url if place.next else self.resume_url()


def course_outlines(*, user, courses, include_drafts=False, enrolled_only=False) -> dict:
    """{course pk: CourseOutline} for ``courses``, as ``user`` stands in each.

    ``enrolled_only`` keeps the courses ``user`` enrolled on, now or before (the catalogue's
    progress bars). ``include_drafts`` shows draft modules and lessons (staff previews).
    Three queries for a learner whatever the number of courses, modules and lessons (their
    enrolments, marks and certificates), and none for a visitor, once the courses' structure is
    cached (two more when it is not).
    """
    courses = list(courses)
    enrolments = {}
    if user.is_authenticated and courses:
        enrolments = {
            enrolment.course_id: enrolment
            for enrolment in Enrolment.objects.filter(user=user, course__in=courses)
        }
    if enrolled_only:
        courses = [course for course in courses if course.pk in enrolments]
    return _outlines(user, courses, enrolments, include_drafts=include_drafts)


def course_outline(*, user, course, include_drafts=False) -> CourseOutline:
    return course_outlines(user=user, courses=[course], include_drafts=include_drafts)[course.pk]


def enrolled_outlines(*, user) -> list[CourseOutline]:
    """An outline of each course ``user`` enrolled on, now or before, by title (My learning).

    Three queries once the courses' structure is cached.
    """
    enrolments = {
        enrolment.course_id: enrolment
        for enrolment in Enrolment.objects.filter(user=user)
        .select_related("course")
        .order_by("course__title")
    }
    courses = [enrolment.course for enrolment in enrolments.values()]
    return list(_outlines(user, courses, enrolments, include_drafts=False).values())


def _outlines(user, courses, enrolments, *, include_drafts) -> dict:
    done, passed, completed = set(), set(), set()
    certificates = {}
    structures = course_structures(courses, include_drafts=include_drafts) if courses else {}
    if courses and user.is_authenticated:
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
        certificates = {
            certificate.course_id: certificate
            for certificate in Certificate.objects.filter(user=user, course__in=courses)
        }
    return {
        course.pk: CourseOutline(
            course=course,
            modules=[
                ModuleState(
                    module=module,
                    done_lesson_ids=done,
                    passed=module.pk in passed,
                    completed=module.pk in completed,
                )
                for module in structures[course.pk]
            ],
            done_lesson_ids=done,
            enrolment=enrolments.get(course.pk),
            certificate=certificates.get(course.pk),
        )
        for course in courses
    }
