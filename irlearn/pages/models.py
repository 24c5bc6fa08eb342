from django.db import models
from django.urls import reverse
from django.utils import timezone

from irlearn.markup import MarkdownBodyMixin

ABOUT_SLUG = "about"


class Page(MarkdownBodyMixin, models.Model):
    """A page of site copy that editors keep up to date (about, privacy policy)."""

    slug = models.SlugField(
        unique=True, help_text="Part of the address: /about/ has the slug “about”."
    )
    title = models.CharField(max_length=200)
    summary = models.CharField(
        max_length=300, blank=True, help_text="One sentence for search engines and link previews."
    )
    body = models.TextField(help_text="Markdown. HTML outside a small safe list is removed.")
    body_html = models.TextField(editable=False, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        # The about page has the short address the footer links to; other pages live under /pages/.
        if self.slug == ABOUT_SLUG:
            return reverse("about")
        return reverse("pages:page-detail", kwargs={"slug": self.slug})


class PrivacyPolicyQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False, published_at__lte=timezone.now())

    def current(self):
        """The version in force now (the newest published), or None."""
        return self.published().order_by("-version").first()


class PrivacyPolicy(MarkdownBodyMixin, models.Model):
    """A version of the privacy policy. Consent records point at the version a person saw, so a
    published version is never edited: editors publish a new one."""

    version = models.PositiveIntegerField(unique=True)
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False, default="")
    changes = models.CharField(
        max_length=300, blank=True, help_text="What changed since the previous version."
    )
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty while a draft. In force from this moment."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PrivacyPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name_plural = "privacy policies"

    def __str__(self):
        return f"Privacy policy version {self.version}"

    def get_absolute_url(self):
        return reverse("privacy")

    @property
    def is_published(self):
        return self.published_at is not None and self.published_at <= timezone.now()
