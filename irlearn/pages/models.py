from django.db import models
from django.urls import reverse

from irlearn.markup import render_markdown


class Page(models.Model):
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

    def save(self, *args, **kwargs):
        # The rendered copy is part of this row, derived from body: keep them in step.
        self.body_html = render_markdown(self.body)
        if kwargs.get("update_fields") is not None and "body" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "body_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("pages:page-detail", kwargs={"slug": self.slug})
