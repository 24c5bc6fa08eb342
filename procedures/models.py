from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from irlearn.content import Publishable, Status
from irlearn.figures import FIGURE_HELP, FIGURE_VALIDATORS, FigureBase
from irlearn.markup import render_markdown
from procedures.querysets import ProcedureQuerySet


class Category(models.Model):
    """A group of procedures (gastrointestinal, hepatobiliary...), ordered by editors."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(help_text="One or two sentences shown on the library page.")
    order = models.PositiveIntegerField(default=0, db_index=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("procedures:category-detail", kwargs={"slug": self.slug})


class ImagingModality(models.Model):
    """A kind of imaging that guides procedures (ultrasound, CT, fluoroscopy, MRI)."""

    name = models.CharField(max_length=50, unique=True)
    slug = models.SlugField(max_length=50, unique=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "imaging modalities"

    def __str__(self):
        return self.name


def render_procedure_field(name: str, text: str) -> str:
    """One Markdown field of a procedure as the page shows it, under the section's <h2>."""
    return render_markdown(text, heading_level=3, fit_under=2, id_prefix=name.replace("_", "-"))


class Procedure(Publishable):
    class Setting(models.TextChoices):
        DAY_CASE = "day_case", "Usually a day case"
        ADMISSION = "admission", "Usually needs admission"
        EITHER = "either", "Day case or admission"
        OUTPATIENT = "outpatient", "Outpatient"

    # The long sections in page order: (field name, heading). The table of contents, the
    # rendering on save and the search index all read this list.
    SECTIONS = [
        ("what_it_is", "What it is"),
        ("indications", "Why it is done"),
        ("contraindications", "When it is not done"),
        ("technique", "How it is done"),
        ("imaging_guidance", "Imaging guidance"),
        ("anaesthesia", "Anaesthesia and sedation"),
        ("setting_notes", "Day case or admission"),
        ("aftercare", "Aftercare"),
        ("risks", "Risks and complications"),
        ("alternatives", "Alternatives"),
        ("referral", "Who refers, and how"),
    ]

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    abbreviation = models.CharField(max_length=20, blank=True, help_text="For example RIG, PTC.")
    also_known_as = models.CharField(
        max_length=300, blank=True, help_text="Other names, separated by commas."
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="procedures")
    summary = models.TextField(
        max_length=600, help_text="One paragraph in plain words. Also the page's meta description."
    )
    what_it_is = models.TextField(blank=True, help_text="Markdown.")
    indications = models.TextField(blank=True, help_text="Markdown.")
    contraindications = models.TextField(blank=True, help_text="Markdown.")
    technique = models.TextField("how it is done", blank=True, help_text="Markdown, step by step.")
    guidance = models.ManyToManyField(
        ImagingModality, blank=True, related_name="procedures", verbose_name="imaging guidance"
    )
    imaging_guidance = models.TextField(
        "imaging guidance notes", blank=True, help_text="Markdown: how each modality is used."
    )
    image_stacks = models.ManyToManyField(
        "stacks.ImageStack",
        blank=True,
        related_name="+",
        verbose_name="image stacks",
        help_text="Scrollable CT or ultrasound cases shown under 'Imaging guidance'.",
    )
    anaesthesia = models.TextField("anaesthesia and sedation", blank=True, help_text="Markdown.")
    setting = models.CharField(max_length=20, choices=Setting, blank=True)
    setting_notes = models.TextField(blank=True, help_text="Markdown.")
    aftercare = models.TextField(blank=True, help_text="Markdown.")
    risks = models.TextField("risks and complications", blank=True, help_text="Markdown.")
    alternatives = models.TextField(blank=True, help_text="Markdown.")
    referral = models.TextField("who refers, and how", blank=True, help_text="Markdown.")
    references = models.TextField(blank=True, help_text="Markdown list of sources.")
    related = models.ManyToManyField("self", blank=True, symmetrical=True)

    # status (draft or published) comes from Publishable.
    published_at = models.DateTimeField(null=True, blank=True)
    last_reviewed = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Derived from the Markdown fields on save: {"technique": "<ol>...</ol>", ...}.
    rendered = models.JSONField(default=dict, editable=False)
    # PostgreSQL full-text index (title and abbreviation above summary above body), kept up to
    # date by a database trigger (migration 0003); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    history = HistoricalRecords(excluded_fields=["rendered", "search_vector"])

    objects = ProcedureQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=Status.PUBLISHED) | models.Q(published_at__isnull=False),
                name="procedures_published_has_date",
            ),
        ]

    def __str__(self):
        return f"{self.title} ({self.abbreviation})" if self.abbreviation else self.title

    def save(self, *args, **kwargs):
        # The rendered HTML is part of this row, derived from its Markdown: keep them in step.
        # Each field sits under its own <h2>: an editor's first heading becomes <h3>, whatever
        # its "#"s, none skips a level, and each has an id that cannot clash with the section
        # anchors or another section's headings.
        self.rendered = {
            name: render_procedure_field(name, getattr(self, name))
            for name in [n for n, _ in self.SECTIONS] + ["references"]
        }
        if self.status == Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "rendered", "published_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("procedures:procedure-detail", kwargs={"slug": self.slug})

    @property
    def other_names(self):
        return [name.strip() for name in self.also_known_as.split(",") if name.strip()]

    @property
    def sections(self):
        """(anchor, heading, html) of each filled section, in page order."""
        return [
            (name.replace("_", "-"), heading, self.rendered.get(name, ""))
            for name, heading in self.SECTIONS
            if self.rendered.get(name)
        ]


class Figure(FigureBase):
    """An image or diagram on a procedure page."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="figures")
    image = models.FileField(
        upload_to="procedures/figures/", validators=FIGURE_VALIDATORS, help_text=FIGURE_HELP
    )
