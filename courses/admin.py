"""The e-learning in the admin, for the Content editors group.

Editors build courses here: a course's modules, a module's lessons and questions, each in the
order learners meet them (drag the rows to reorder). What learners do (enrolments, progress,
attempts, completions) is written by courses.services and only read here. Certificates are read
too, and change only through the revoke and reinstate actions. Each course has a report
(courses.reports): how many learners enrolled, started and finished, how each question fares,
and, for questions answered on images, where learners marked.

Questions answered on images (mark the target, plan the route) get their regions on their own
change page, drawn on the stem stack's slices (static/courses/region-editor.js) or typed as JSON.
"""

from adminsortable2.admin import SortableAdminBase, SortableInlineAdminMixin
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminFileWidget, AdminTextareaWidget
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, OuterRef
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from courses.models import (
    Answer,
    Attempt,
    Certificate,
    Course,
    Enrolment,
    Lesson,
    LessonFigure,
    LessonProgress,
    Module,
    ModuleCompletion,
    Question,
    QuestionRegion,
)
from courses.reports import CHECK_BELOW_PERCENT, course_report
from courses.services import certificate_reinstate, certificate_revoke, module_duplicate
from irlearn.admin_tools import (
    ON_LIST_AND_FORM,
    HistoryAdmin,
    PublishActionsMixin,
    ReadOnlyAdmin,
    SortableAdmin,
    action_confirmation,
    admin_page,
    admin_page_object,
    admin_page_path,
    preview_link,
)
from irlearn.stacks.geometry import RegionError, clean_shapes


def next_order(queryset) -> int:
    """The order that puts a new row after every row of ``queryset``."""
    return (queryset.aggregate(top=Max("order"))["top"] or 0) + 1


class ModuleChoiceMixin:
    """Module menus read "Course: Module", since two courses may each have an "Introduction"."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "module":
            kwargs.setdefault(
                "queryset",
                Module.objects.select_related("course").order_by(
                    "course__order", "course__title", "order", "pk"
                ),
            )
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "module":
            field.label_from_instance = lambda module: f"{module.course}: {module}"
        return field


# Courses.


class ModuleInline(SortableInlineAdminMixin, admin.TabularInline):
    """A course's modules, to reorder and to glance over.

    Modules are added, and deleted, on their own page: a module needs a summary this table has
    no room for, and deleting one takes its lessons, questions and learners' attempts with it,
    which only the delete page (with its list of what goes) should do.
    """

    model = Module
    fields = ["title", "slug", "status", "estimated_minutes", "pass_mark"]
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Course)
class CourseAdmin(PublishActionsMixin, SortableAdmin, HistoryAdmin):
    list_display = ["title", "status", "cpd_hours", "module_count", "updated_at", "report_link"]
    list_filter = ["status"]
    search_fields = ["title", "summary"]
    ordering = ["order"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["published_at"]
    inlines = [ModuleInline]
    actions = ["publish", "unpublish"]
    save_on_top = True
    history_list_display = ["status"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "summary",
                    "audience",
                    "outcomes",
                    "cpd_hours",
                    ("status", "published_at"),
                ]
            },
        ),
        ("Cover", {"fields": ["cover", "cover_alt"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(module_total=Count("modules"))

    @admin.display(description="modules", ordering="module_total")
    def module_count(self, course):
        return course.module_total

    @admin.display(description="report")
    def report_link(self, course):
        return format_html(
            '<a href="{}">Report</a>', reverse("admin:courses_course_report", args=[course.pk])
        )

    # The report.

    def get_urls(self):
        return [
            admin_page_path(self, "<path:object_id>/report/", self.report_view, "report"),
            admin_page_path(
                self, "<path:object_id>/report.csv", self.report_csv_view, "report_csv"
            ),
            *super().get_urls(),
        ]

    def report_view(self, request, object_id):
        course = admin_page_object(self, request, object_id)
        return admin_page(
            self,
            request,
            "admin/courses/course/report.html",
            title=f"Report: {course}",
            subtitle=None,
            course=course,
            report=course_report(course),
            check_below=CHECK_BELOW_PERCENT,
        )

    def report_csv_view(self, request, object_id):
        course = admin_page_object(self, request, object_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        filename = f"{course.slug}-report-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        course_report(course).write_csv(response)
        return response


# Modules, lessons and questions.


class LabelledFileWidget(AdminFileWidget):
    """The admin's file input, named by its own <label>: in a fieldset its legend names the
    group but not the input itself, which axe-core reports (and screen readers say)."""

    use_fieldset = False


OPTIONS_REQUIRED = "Give options A to D."
EXPLANATION_REQUIRED = "Explain why this option is right or wrong."
OPTION_FIELDS = [(f"option_{letter}", f"explanation_{letter}") for letter in "abcde"]


class QuestionForm(forms.ModelForm):
    """A question with its errors where the editor will look for them, next to the field.

    The model's constraints say the same things (and still run after this), but as one message
    at the top of the form; these name the option that is missing or wrong.
    """

    class Meta:
        model = Question
        fields = [
            "module",
            "kind",
            "stem",
            "image",
            "image_alt",
            "stem_stack",
            "explanation",
            *(f"{kind}_{letter}" for letter in "abcde" for kind in ("option", "explanation")),
            "correct",
            "learning_point",
            "order",
        ]
        error_messages = {
            **{f"option_{letter}": {"required": OPTIONS_REQUIRED} for letter in "abcd"},
            **{f"explanation_{letter}": {"required": EXPLANATION_REQUIRED} for letter in "abcd"},
            "correct": {"required": "Choose the correct answer."},
        }
        widgets = {
            "image": LabelledFileWidget,
            "stem": AdminTextareaWidget(attrs={"rows": 4}),
            "learning_point": AdminTextareaWidget(attrs={"rows": 2}),
            **{
                f"explanation_{letter}": AdminTextareaWidget(attrs={"rows": 2})
                for letter in "abcde"
            },
        }

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind", self.instance.kind) or Question.Kind.SBA
        if kind == Question.Kind.SBA:
            self._require_options(cleaned)
        else:
            self._require_image_answer(cleaned)
        self._keep_regions_on_their_stack()
        return cleaned

    def _keep_regions_on_their_stack(self):
        # Regions are drawn on the stem stack's slices: on another stack they would point at
        # other anatomy (or at slices it does not have), so the stack stays while they exist.
        if (
            self.instance.pk
            and "stem_stack" in self.changed_data
            and "stem_stack" not in self.errors
            and self.instance.regions.exists()
        ):
            self.add_error(
                "stem_stack",
                f"This question's regions were drawn on “{self.instance.stem_stack}”, so its "
                "stack cannot change: delete the regions and save, then choose the new stack "
                "and draw them again on it.",
            )

    def _require_image_answer(self, cleaned):
        if "stem_stack" in self.fields and not cleaned.get("stem_stack"):
            self.add_error("stem_stack", "Questions answered on images need a stem image stack.")
        if "explanation" in self.fields and not cleaned.get("explanation"):
            self.add_error("explanation", "Explain the keyed target and route.")
        # Options belong to single best answer questions only.
        for letter in self.instance.LETTERS:
            cleaned[f"option_{letter}"] = cleaned[f"explanation_{letter}"] = ""
        cleaned["correct"] = ""

    def _require_options(self, cleaned):
        for letter in "abcd":
            for kind, message in (
                ("option", OPTIONS_REQUIRED),
                ("explanation", EXPLANATION_REQUIRED),
            ):
                name = f"{kind}_{letter}"
                if name in self.fields and not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, message)
        if "correct" in self.fields and not cleaned.get("correct") and "correct" not in self.errors:
            self.add_error("correct", "Choose the correct answer.")
        if "option_e" in self.fields and "option_e" not in self.errors:
            option_e = cleaned.get("option_e")
            explanation_e = cleaned.get("explanation_e")
            if option_e and not explanation_e and "explanation_e" not in self.errors:
                self.add_error("explanation_e", EXPLANATION_REQUIRED)
            if explanation_e and not option_e:
                self.add_error("option_e", "Give option E, or clear its explanation.")
            if cleaned.get("correct") == Question.Choice.E and not option_e:
                self.add_error("correct", "Option E is empty, so it cannot be the correct answer.")
        if cleaned.get("image") and not cleaned.get("image_alt") and "image_alt" in self.fields:
            self.add_error("image_alt", "Describe the image.")


class LessonInline(SortableInlineAdminMixin, admin.TabularInline):
    """A module's lessons, to reorder and to glance over. A lesson is added, and deleted, on its
    own page: its Markdown body needs room, and deleting takes learners' progress with it."""

    model = Lesson
    fields = ["title", "slug", "status", "estimated_minutes"]
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class QuestionInline(SortableInlineAdminMixin, admin.StackedInline):
    model = Question
    form = QuestionForm
    autocomplete_fields = ["stem_stack"]
    extra = 0
    show_change_link = True
    classes = ["collapse"]
    radio_fields = {"correct": admin.HORIZONTAL}
    fieldsets = [
        (None, {"fields": ["kind", "stem", ("image", "image_alt"), "stem_stack", "order"]}),
        ("Options", {"fields": OPTION_FIELDS}),
        ("Answer", {"fields": ["correct", "explanation", "learning_point"]}),
    ]


@admin.register(Module)
class ModuleAdmin(SortableAdminBase, HistoryAdmin):
    list_display = ["title", "course", "status", "lesson_count", "question_count", "updated_at"]
    list_filter = ["course", "status"]
    list_select_related = ["course"]
    search_fields = ["title", "summary", "course__title"]
    ordering = ["course__order", "course__title", "order", "pk"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["procedures"]
    readonly_fields = ["preview"]
    inlines = [LessonInline, QuestionInline]
    actions = ["duplicate"]
    save_on_top = True
    history_list_display = ["status"]
    fields = [
        "course",
        "title",
        "slug",
        "summary",
        ("estimated_minutes", "pass_mark"),
        "status",
        "procedures",
        "preview",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                lesson_total=Count("lessons", distinct=True),
                question_total=Count("questions", distinct=True),
            )
        )

    @admin.display(description="lessons", ordering="lesson_total")
    def lesson_count(self, module):
        return module.lesson_total

    @admin.display(description="questions", ordering="question_total")
    def question_count(self, module):
        return module.question_total

    @admin.display(description="preview")
    def preview(self, module):
        live = module.pk and module.is_published and module.course.is_published
        return preview_link(module, live=live)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.order = next_order(Module.objects.filter(course=obj.course))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Image questions added or edited here have their regions drawn on their own page.
        untargeted = (
            form.instance.questions.exclude(kind=Question.Kind.SBA)
            .exclude(Exists(targets_of(OuterRef("pk"), OuterRef("stem_stack"))))
            .only("pk", "stem")
        )
        for question in untargeted:
            messages.warning(
                request,
                format_html(
                    "Learners cannot answer “{}” until its target is drawn: "
                    '<a href="{}">open the question to draw its regions</a>.',
                    question,
                    reverse("admin:courses_question_change", args=[question.pk]),
                ),
            )

    @admin.action(
        description="Duplicate",
        description_plural="Duplicate selected modules",
        permissions=["add"],
        location=ON_LIST_AND_FORM,
    )
    def duplicate(self, request, queryset):
        count = 0
        for module in queryset.select_related("course"):
            module_duplicate(module=module)
            count += 1
        copies = "copy" if count == 1 else "copies"
        self.message_user(request, f"Created {count} draft {copies}.", messages.SUCCESS)


class LessonFigureInline(SortableInlineAdminMixin, admin.StackedInline):
    model = LessonFigure
    extra = 0
    fields = ["image", "alt_text", "caption", "credit"]


@admin.register(Lesson)
class LessonAdmin(ModuleChoiceMixin, SortableAdminBase, HistoryAdmin):
    list_display = ["title", "module", "course", "status", "estimated_minutes", "updated_at"]
    list_filter = ["module__course", "status"]
    list_select_related = ["module__course"]
    search_fields = ["title", "body"]
    ordering = ["module__course__order", "module__order", "order", "pk"]
    prepopulated_fields = {"slug": ["title"]}
    fields = ["title", "slug", "module", "status", "estimated_minutes", "body", "preview_link"]
    readonly_fields = ["preview_link"]
    inlines = [LessonFigureInline]
    save_on_top = True
    history_list_display = ["status"]

    @admin.display(description="course", ordering="module__course")
    def course(self, lesson):
        return lesson.module.course

    @admin.display(description="preview")
    def preview_link(self, lesson):
        live = (
            lesson.pk
            and lesson.is_published
            and lesson.module.is_published
            and lesson.module.course.is_published
        )
        return preview_link(lesson, live=live)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.order = next_order(Lesson.objects.filter(module=obj.module))
        super().save_model(request, obj, form, change)


NO_TARGET_YET = (
    "Learners cannot answer “{question}” until its target is drawn: draw the target region "
    "on the stem stack below and save. Until then it is left out of learners' questions."
)


def targets_of(question, stack):
    """The target regions of ``question`` on ``stack`` (objects, ids or OuterRefs): the only
    ones scoring counts."""
    return QuestionRegion.objects.filter(
        question=question, stack=stack, role=QuestionRegion.Role.TARGET
    )


class QuestionRegionForm(forms.ModelForm):
    """One region of an image question: its shapes are checked against the slices of the
    question's stem stack, the stack it is saved on (the editor never chooses another)."""

    class Meta:
        model = QuestionRegion
        fields = ["role", "label", "shapes"]
        error_messages = {
            "label": {
                "required": "Name the region, as feedback will: 'colon', 'lower-pole calyx'."
            },
            "shapes": {"required": "Draw the region on at least one slice."},
        }
        widgets = {
            "shapes": AdminTextareaWidget(
                attrs={"rows": 4, "spellcheck": "false", "class": "vLargeTextField region-shapes"}
            ),
        }

    def __init__(self, *args, question, **kwargs):
        super().__init__(*args, **kwargs)
        # The question as this request has it (its form's changes applied), not a second copy
        # read from the database for each row.
        self.question = question

    def clean_shapes(self):
        shapes = self.cleaned_data["shapes"]
        stack = self.question.stem_stack
        if stack is None:
            raise ValidationError("Choose the question's stem image stack, save, then draw.")
        if not stack.is_showable or not stack.slice_count:
            raise ValidationError(
                f"“{stack}” has no images yet: draw its regions once it has been processed."
            )
        try:
            return clean_shapes(shapes, slice_count=stack.slice_count)
        except RegionError as error:
            raise ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        question = self.question
        if self.instance.pk and self.instance.stack_id != question.stem_stack_id:
            raise ValidationError(
                "This region was drawn on another stack than the question's "
                f"(“{question.stem_stack}”): delete it and draw it again on this one."
            )
        # Saved on the stack it was drawn on, whatever a tampered form might send.
        self.instance.stack_id = question.stem_stack_id
        return cleaned


class QuestionRegionFormSet(BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "question": self.instance}

    def clean(self):
        super().clean()
        if any(self.errors) or not self.instance.is_on_image:
            return
        kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not self._should_delete_form(form)
            and (form.instance.pk or form.has_changed())
        ]
        # A question saved before any region was drawn is allowed (with a warning: the regions
        # are drawn on the saved question); once drawn, its regions must include a target.
        if (kept or self.initial_form_count()) and not any(
            form.cleaned_data["role"] == QuestionRegion.Role.TARGET for form in kept
        ):
            raise ValidationError(
                "Draw at least one target region: a question answered on images is marked "
                "right only inside its target. (Avoid regions alone cannot be scored.)"
            )


class QuestionRegionInline(admin.StackedInline):
    """The target and avoid regions of an image question, drawn on its stem stack.

    Shown once the question is saved as an image question: the drawing needs the stack's
    slices, and regions belong to the stack they were drawn on.
    """

    model = QuestionRegion
    form = QuestionRegionForm
    formset = QuestionRegionFormSet
    fields = [("role", "label"), "shapes"]
    extra = 0
    template = "admin/courses/question/regions_inline.html"
    verbose_name = "region"
    verbose_name_plural = "regions (drawn on the stem stack)"

    class Media:
        css = {"all": ["courses/region-editor.css"]}
        js = ["courses/region-editor.js"]

    def get_extra(self, request, obj=None, **kwargs):
        # A first, empty row to draw the target in.
        return 1 if obj is not None and not obj.regions.exists() else 0


@admin.register(Question)
class QuestionAdmin(ModuleChoiceMixin, HistoryAdmin):
    form = QuestionForm
    autocomplete_fields = ["stem_stack"]
    list_display = ["__str__", "module", "course", "kind", "answer_key", "updated_at"]
    list_filter = ["module__course", "kind"]
    list_select_related = ["module__course"]
    search_fields = ["stem", "learning_point"]
    ordering = ["module__course__order", "module__order", "order", "pk"]
    radio_fields = {"correct": admin.HORIZONTAL}
    save_on_top = True
    fieldsets = [
        ("Question", {"fields": ["module", "kind", "stem", "image", "image_alt", "stem_stack"]}),
        (
            "Options",
            {
                "fields": OPTION_FIELDS,
                "description": "Options A to D are required, E is optional. Explain each one.",
            },
        ),
        ("Answer", {"fields": ["correct", "explanation", "learning_point"]}),
    ]

    @admin.display(description="course", ordering="module__course")
    def course(self, question):
        return question.module.course

    @admin.display(description="answer key")
    def answer_key(self, question):
        if not question.is_on_image:
            return question.get_correct_display()
        return "Target drawn" if question.has_target else "No target yet"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(has_target=Exists(targets_of(OuterRef("pk"), OuterRef("stem_stack"))))
        )

    def get_inlines(self, request, obj):
        # The regions as the question is saved (not as a form being posted has it): the page
        # shows them for image questions only, and a kind changed in the form takes effect,
        # regions and all, once saved.
        if obj is None or obj.pk is None:
            return []
        saved = Question.objects.filter(pk=obj.pk).exclude(kind=Question.Kind.SBA)
        return [QuestionRegionInline] if saved.exists() else []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.order = next_order(Question.objects.filter(module=obj.module))
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        question = form.instance
        if question.is_on_image and not targets_of(question, question.stem_stack_id).exists():
            messages.warning(request, NO_TARGET_YET.format(question=question))

    def response_post_save_add(self, request, obj):
        # An image question is not finished until its regions are drawn, on its change page.
        if obj.is_on_image:
            return HttpResponseRedirect(reverse("admin:courses_question_change", args=[obj.pk]))
        return super().response_post_save_add(request, obj)


# What learners did: written by courses.services, read here.


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyAdmin):
    list_display = ["user", "course", "enrolled_at", "is_active", "unenrolled_at"]
    list_filter = ["course", "is_active"]
    list_select_related = ["user", "course"]
    search_fields = ["user__email", "user__full_name"]
    date_hierarchy = "enrolled_at"


@admin.register(LessonProgress)
class LessonProgressAdmin(ReadOnlyAdmin):
    list_display = ["user", "lesson", "course", "completed_at"]
    list_filter = ["lesson__module__course"]
    list_select_related = ["user", "lesson__module__course"]
    search_fields = ["user__email", "user__full_name"]
    date_hierarchy = "completed_at"

    @admin.display(description="course", ordering="lesson__module__course")
    def course(self, progress):
        return progress.lesson.module.course


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    fields = ["question", "choice", "is_correct", "answered_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("question")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ["user", "module", "started_at", "finished_at", "result", "passed"]
    list_filter = ["module__course", "passed"]
    list_select_related = ["user", "module"]
    search_fields = ["user__email", "user__full_name"]
    date_hierarchy = "started_at"
    inlines = [AnswerInline]

    @admin.display(description="score")
    def result(self, attempt):
        if not attempt.is_finished:
            return "Unfinished"
        return f"{attempt.score}/{attempt.total} ({attempt.percent}%)"


@admin.register(ModuleCompletion)
class ModuleCompletionAdmin(ReadOnlyAdmin):
    list_display = ["user", "module", "course", "completed_at"]
    list_filter = ["module__course"]
    list_select_related = ["user", "module__course"]
    search_fields = ["user__email", "user__full_name"]
    date_hierarchy = "completed_at"

    @admin.display(description="course", ordering="module__course")
    def course(self, completion):
        return completion.module.course


# Certificates.


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return [("yes", "Revoked"), ("no", "Valid")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=True)
        return queryset


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        help_text="Why the certificate is no longer valid. Kept with the certificate.",
        error_messages={"required": "Give the reason for revoking."},
    )


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    """Certificates are issued by the services and never edited: their facts are what the
    learner was given. Revoking (with a reason) and reinstating are the only changes."""

    list_display = ["code", "full_name", "course_title", "completed_on", "revoked"]
    list_filter = [RevokedFilter, "course"]
    list_select_related = ["user"]
    search_fields = ["code", "full_name", "user__email"]
    date_hierarchy = "issued_at"
    fields = [
        "code",
        "user",
        "full_name",
        "course",
        "course_title",
        "cpd_hours",
        "completed_on",
        "issued_at",
        "revoked_at",
        "revoked_reason",
        "verification_link",
    ]
    readonly_fields = fields
    actions = ["revoke", "reinstate"]

    @admin.display(description="revoked", boolean=True, ordering="revoked_at")
    def revoked(self, certificate):
        return certificate.is_revoked

    @admin.display(description="verification page")
    def verification_link(self, certificate):
        return format_html(
            '<a href="{}">Open the public verification page</a>', certificate.get_absolute_url()
        )

    def has_revoke_permission(self, request):
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.action(
        permissions=["revoke"],
        description="Revoke",
        description_plural="Revoke selected certificates",
        location=ON_LIST_AND_FORM,
    )
    def revoke(self, request, queryset):
        """Ask for the reason first, on a page of its own, as Django's delete asks to confirm."""
        certificates = Certificate.objects.filter(
            pk__in=queryset.values("pk"), revoked_at__isnull=True
        ).order_by("code")
        if not certificates.exists():
            self.message_user(request, "They are revoked already.", messages.WARNING)
            return None
        form = RevokeForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            count = certificate_revoke(
                certificates=certificates, reason=form.cleaned_data["reason"]
            )
            self.message_user(
                request,
                f"Revoked {count} certificate(s): their verification pages now say so.",
                messages.SUCCESS,
            )
            return None
        return action_confirmation(
            self,
            request,
            template="admin/courses/certificate/revoke_confirmation.html",
            title="Revoke these certificates?",
            action="revoke",
            objects=certificates,
            form=form,
        )

    @admin.action(
        permissions=["revoke"],
        description="Reinstate",
        description_plural="Reinstate selected certificates",
        location=ON_LIST_AND_FORM,
    )
    def reinstate(self, request, queryset):
        count = certificate_reinstate(
            certificates=Certificate.objects.filter(pk__in=queryset.values("pk"))
        )
        self.message_user(request, f"Reinstated {count} certificate(s).", messages.SUCCESS)
