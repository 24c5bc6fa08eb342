import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from courses.querysets import CourseQuerySet, LessonQuerySet, ModuleQuerySet, QuestionQuerySet
from irlearn.content import Publishable, Status
from irlearn.figures import FIGURE_HELP, FIGURE_VALIDATORS, FigureBase
from irlearn.markup import MarkdownBodyMixin, render_markdown

# Slugs that would collide with the app's own URLs at the same level: a course at /learn/my/
# would hide "My learning", a lesson at .../questions/ the module's questions.
RESERVED_COURSE_SLUGS = {"my", "attempts", "certificates"}
RESERVED_LESSON_SLUGS = {"questions"}


def validate_course_slug(value):
    if value in RESERVED_COURSE_SLUGS:
        raise ValidationError(f"“{value}” is used by the site itself; choose another slug.")


def validate_lesson_slug(value):
    if value in RESERVED_LESSON_SLUGS:
        raise ValidationError(f"“{value}” is used by the site itself; choose another slug.")


class Content(Publishable):
    """What courses, modules and lessons share: a draft or published status (Publishable), a
    place in their parent's order, and when they were written and last changed."""

    order = models.PositiveIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Course(Content):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, validators=[validate_course_slug])
    summary = models.TextField(
        max_length=600, help_text="One paragraph for the catalogue. Also the meta description."
    )
    audience = models.TextField(help_text="Who the course is for, in a sentence or two.")
    outcomes = models.TextField(
        "learning outcomes", help_text="One per line, each starting with a verb."
    )
    cover = models.FileField(
        upload_to="courses/covers/", blank=True, validators=FIGURE_VALIDATORS, help_text=FIGURE_HELP
    )
    cover_alt = models.CharField(
        "cover alt text",
        max_length=300,
        blank=True,
        help_text="What the cover shows, for people who cannot see it. Required with a cover.",
    )
    cpd_hours = models.DecimalField(
        "CPD hours", max_digits=4, decimal_places=1, validators=[MinValueValidator(0)]
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords()
    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["order", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cover="") | ~Q(cover_alt=""),
                name="courses_course_cover_has_alt",
                violation_error_message="Describe the cover in its alt text.",
            ),
            models.CheckConstraint(
                condition=Q(cpd_hours__gte=0), name="courses_course_cpd_hours_not_negative"
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("courses:course-detail", kwargs={"slug": self.slug})

    @property
    def outcome_list(self):
        return [line.strip(" -*\t") for line in self.outcomes.splitlines() if line.strip(" -*\t")]


class Module(Content):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, help_text="Unique within the course.")
    summary = models.TextField(max_length=600)
    estimated_minutes = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1)], help_text="Lessons and questions together."
    )
    procedures = models.ManyToManyField(
        "procedures.Procedure",
        blank=True,
        related_name="modules",
        help_text="Procedures this module teaches; their pages link back to it.",
    )
    pass_mark = models.PositiveSmallIntegerField(
        "pass mark (%)",
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Share of the questions a learner must answer correctly to pass.",
    )
    history = HistoricalRecords()
    objects = ModuleQuerySet.as_manager()

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "slug"],
                name="courses_module_slug_unique_in_course",
                violation_error_message="Another module of this course has this slug.",
            ),
            models.CheckConstraint(
                condition=Q(pass_mark__gte=1, pass_mark__lte=100),
                name="courses_module_pass_mark_percent",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse(
            "courses:module-detail", kwargs={"course": self.course.slug, "module": self.slug}
        )


class Lesson(MarkdownBodyMixin, Content):
    # The lesson's title is the page's <h1>: an editor's headings nest under it, the first one
    # an <h2> whatever its "#"s, and none skipping a level.
    markdown_heading_level = 1
    markdown_fit_under = 1

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=200, validators=[validate_lesson_slug], help_text="Unique within the module."
    )
    body = models.TextField(help_text="Markdown. Headings start at ## (the title is the #).")
    body_html = models.TextField(editable=False, default="")
    estimated_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1)]
    )
    history = HistoricalRecords(excluded_fields=["body_html"])
    objects = LessonQuerySet.as_manager()

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["module", "slug"],
                name="courses_lesson_slug_unique_in_module",
                violation_error_message="Another lesson of this module has this slug.",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse(
            "courses:lesson-detail",
            kwargs={
                "course": self.module.course.slug,
                "module": self.module.slug,
                "lesson": self.slug,
            },
        )


class LessonFigure(FigureBase):
    """An image or diagram shown with a lesson."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="figures")
    image = models.FileField(
        upload_to="courses/figures/", validators=FIGURE_VALIDATORS, help_text=FIGURE_HELP
    )


class Question(models.Model):
    """A single best answer question: four or five options, exactly one of them correct.

    The options are columns of the question rather than rows of their own, so that the
    database itself guarantees the format: options A to D are required, E is optional, every
    option has an explanation, and the correct answer is one of the options that exist.
    """

    LETTERS = "abcde"

    class Kind(models.TextChoices):
        SBA = "sba", "Single best answer"
        MARK_TARGET = "target", "Mark the target (on an image stack)"
        PLAN_ROUTE = "route", "Plan the route (on an image stack)"

    class Choice(models.TextChoices):
        A = "a", "A"
        B = "b", "B"
        C = "c", "C"
        D = "d", "D"
        E = "e", "E"

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(
        max_length=6,
        choices=Kind,
        default=Kind.SBA,
        help_text="Image questions are answered by marking the stem's image stack: the target, "
        "or a skin entry point and the target. Draw their regions once saved.",
    )
    stem = models.TextField(help_text="The vignette and the question, in plain text.")
    image = models.FileField(
        upload_to="courses/questions/",
        blank=True,
        validators=FIGURE_VALIDATORS,
        help_text=FIGURE_HELP,
    )
    image_alt = models.CharField(
        "image alt text", max_length=300, blank=True, help_text="Required with an image."
    )
    stem_stack = models.ForeignKey(
        "stacks.ImageStack",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="stem image stack",
        help_text="A scrollable CT or ultrasound case shown with the stem (beside or instead of "
        "the image).",
    )
    option_a = models.CharField("option A", max_length=300, blank=True)
    explanation_a = models.TextField("why A is right or wrong", blank=True)
    option_b = models.CharField("option B", max_length=300, blank=True)
    explanation_b = models.TextField("why B is right or wrong", blank=True)
    option_c = models.CharField("option C", max_length=300, blank=True)
    explanation_c = models.TextField("why C is right or wrong", blank=True)
    option_d = models.CharField("option D", max_length=300, blank=True)
    explanation_d = models.TextField("why D is right or wrong", blank=True)
    option_e = models.CharField("option E", max_length=300, blank=True, help_text="Optional.")
    explanation_e = models.TextField("why E is right or wrong", blank=True)
    correct = models.CharField("correct answer", max_length=1, choices=Choice, blank=True)
    explanation = models.TextField(
        "explanation (image questions)",
        blank=True,
        help_text="Image questions: why the keyed target and route are right, shown with the "
        "overlay of the learner's marks on the expert's regions after answering.",
    )
    learning_point = models.TextField(help_text="One or two sentences to remember.")
    order = models.PositiveIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="sba")
                | ~Q(option_a="")
                & ~Q(option_b="")
                & ~Q(option_c="")
                & ~Q(option_d="")
                & ~Q(explanation_a="")
                & ~Q(explanation_b="")
                & ~Q(explanation_c="")
                & ~Q(explanation_d=""),
                name="courses_question_four_options_explained",
                violation_error_message="Options A to D and their explanations are required.",
            ),
            models.CheckConstraint(
                condition=Q(option_e="", explanation_e="")
                | (~Q(option_e="") & ~Q(explanation_e="")),
                name="courses_question_option_e_explained",
                violation_error_message="Option E needs an explanation (or leave both empty).",
            ),
            models.CheckConstraint(
                condition=Q(kind="sba", correct__in=["a", "b", "c", "d"])
                | Q(kind="sba", correct="e") & ~Q(option_e="")
                | ~Q(kind="sba") & Q(correct=""),
                name="courses_question_one_correct_option",
                violation_error_message="The correct answer must be one of the options given.",
            ),
            models.CheckConstraint(
                condition=Q(kind="sba") | Q(stem_stack__isnull=False) & ~Q(explanation=""),
                name="courses_question_image_kinds_have_a_stack",
                violation_error_message="Questions answered on images need a stem image stack "
                "and an explanation.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["sba", "target", "route"]),
                name="courses_question_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(image="") | ~Q(image_alt=""),
                name="courses_question_image_has_alt",
                violation_error_message="Describe the image in its alt text.",
            ),
        ]

    def __str__(self):
        stem = " ".join(self.stem.split())
        return stem if len(stem) <= 80 else stem[:79] + "…"

    @property
    def options(self):
        """(letter, text, explanation, is_correct) of each option given, in order."""
        return [
            (
                letter,
                getattr(self, f"option_{letter}"),
                getattr(self, f"explanation_{letter}"),
                letter == self.correct,
            )
            for letter in self.LETTERS
            if getattr(self, f"option_{letter}")
        ]

    @property
    def letters(self):
        return [letter for letter, *_ in self.options]

    @property
    def is_on_image(self):
        return self.kind != self.Kind.SBA

    @property
    def learning_point_html(self):
        # Shown under its own <h2> ("Learning point"): its headings nest under that.
        return render_markdown(self.learning_point, fit_under=2)


class QuestionRegion(models.Model):
    """A region an editor drew on an image question's stack: the target, or a structure the
    needle must avoid. Its shapes are JSON (irlearn/stacks/geometry.py); learners never receive
    them before answering."""

    class Role(models.TextChoices):
        TARGET = "target", "Target"
        AVOID = "avoid", "Avoid"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="regions")
    # The stack the shapes were drawn on: regions on another stack than the question's are
    # refused by validation and never scored.
    stack = models.ForeignKey("stacks.ImageStack", on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=6, choices=Role, default=Role.TARGET)
    label = models.CharField(
        max_length=60, help_text="What it is, as feedback names it: 'lower-pole calyx', 'colon'."
    )
    shapes = models.JSONField(default=list, help_text="Drawn on the slices in the admin.")

    class Meta:
        ordering = ["question", "role", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["target", "avoid"]), name="courses_region_role_known"
            ),
            models.CheckConstraint(condition=~Q(label=""), name="courses_region_has_label"),
        ]

    def __str__(self):
        return f"{self.get_role_display()}: {self.label}"


class Enrolment(models.Model):
    """A learner's place on a course. Unenrolling keeps the row (and all progress)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    enrolled_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)
    unenrolled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course"], name="courses_enrolment_one_per_learner"
            ),
        ]
        indexes = [models.Index(fields=["course", "is_active"])]

    def __str__(self):
        return f"{self.user} on {self.course}"


class LessonProgress(models.Model):
    """A lesson a learner marked complete."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "lesson progress"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="courses_progress_one_per_lesson"
            ),
        ]

    def __str__(self):
        return f"{self.user}: {self.lesson}"


class Attempt(models.Model):
    """One go at a module's questions. The questions are fixed when the attempt starts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts"
    )
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="attempts")
    question_ids = models.JSONField(default=list, help_text="The attempt's questions, in order.")
    pass_mark = models.PositiveSmallIntegerField(help_text="The module's pass mark at the start.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Correct answers.")
    total = models.PositiveSmallIntegerField(default=0)
    passed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # One unfinished attempt at a time: a second "Start" (another tab, a double
            # click) resumes it instead of starting another.
            models.UniqueConstraint(
                fields=["user", "module"],
                condition=Q(finished_at__isnull=True),
                name="courses_attempt_one_open_per_module",
            ),
        ]
        indexes = [models.Index(fields=["user", "module", "passed"])]

    def __str__(self):
        return f"{self.user}: {self.module} ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def is_finished(self):
        return self.finished_at is not None

    @property
    def percent(self):
        return round(100 * self.score / self.total) if self.total and self.score is not None else 0


class Answer(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    choice = models.CharField(max_length=1, choices=Question.Choice, blank=True)
    # Image questions: the learner's marks ({"target": {"slice", "x", "y"}, "entry": {...}}) and
    # what scoring found ({"hit": true, "crossed": ["colon"]}).
    marks = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    is_correct = models.BooleanField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "question"], name="courses_answer_one_per_question"
            ),
        ]

    def __str__(self):
        return f"{self.question_id}: {self.choice.upper()}"


class ModuleCompletion(models.Model):
    """A module a learner finished: its lessons complete and its questions passed.

    Stored rather than recomputed, so that content added later does not silently undo it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="module_completions"
    )
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="completions")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "module"], name="courses_module_completion_one_per_learner"
            ),
        ]

    def __str__(self):
        return f"{self.user}: {self.module}"


def certificate_code() -> str:
    """Twelve characters from an alphabet without look-alikes (0/O, 1/I/L), e.g. 7KQ4-M2XD-9RTA."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class Certificate(models.Model):
    """Proof that a learner completed a course. The facts are copied at issue: renaming the
    course or the learner later does not change a certificate already in a portfolio."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates"
    )
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    code = models.CharField(max_length=14, unique=True, default=certificate_code, editable=False)
    full_name = models.CharField(max_length=150)
    course_title = models.CharField(max_length=200)
    cpd_hours = models.DecimalField("CPD hours", max_digits=4, decimal_places=1)
    completed_on = models.DateField()
    issued_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "course"], name="courses_certificate_one_per_learner"
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.full_name}, {self.course_title}"

    def get_absolute_url(self):
        return reverse("courses:certificate-verify", kwargs={"code": self.code})

    @property
    def is_revoked(self):
        return self.revoked_at is not None
