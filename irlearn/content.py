"""Draft and published content: what procedures, courses, modules and lessons share.

Editors write a row as a draft, preview it on the site, and publish it; learners see published
rows only. This module holds that concept once: the status, the reads (``published()``,
``visible_to(user)``) and the bulk writes the admin's Publish and Unpublish actions make. The
apps build on it; it imports none of them.
"""

from django.db import models, transaction
from django.utils import timezone


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Publishable(models.Model):
    """A row learners see only once an editor publishes it."""

    Status = Status

    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT, db_index=True)

    class Meta:
        abstract = True

    @property
    def is_published(self):
        return self.status == Status.PUBLISHED


class PublishableQuerySet(models.QuerySet):
    def published(self):
        """The rows learners see. A model whose rows also need their parents published (a
        module in a published course) says so in its own ``published()``."""
        return self.filter(status=Status.PUBLISHED)

    def visible_to(self, user):
        """What ``user`` may open: published rows, and drafts too for staff, who preview them
        on the site before publishing."""
        return self if user.is_staff else self.published()


def _locked(objects):
    """The rows of ``objects`` (a queryset), locked for this transaction, in primary-key order.

    Locks through the primary keys rather than on ``objects`` itself: the admin hands its
    actions querysets that are DISTINCT (a change list filtered on a many-to-many field) or
    grouped (annotated with counts), and PostgreSQL refuses FOR UPDATE with either. One order
    for everyone means two editors publishing overlapping selections wait rather than deadlock.
    """
    model = objects.model
    return (
        model._default_manager.select_for_update()
        .filter(pk__in=objects.values("pk"))
        .order_by("pk")
    )


def content_publish(*, objects) -> int:
    """Publish the drafts among ``objects`` (a queryset of a Publishable model); returns how
    many changed.

    Rows published already are left alone and not counted. A row with a ``published_at`` keeps
    the date of its first publication: publishing it again after an unpublish does not move it.
    The rows are locked and saved one by one (not update()), so the history records each change
    and the page cache hears of it; a second editor publishing the same rows waits for the lock
    and then finds nothing left to publish.
    """
    with transaction.atomic():
        count = 0
        for row in _locked(objects).exclude(status=Status.PUBLISHED):
            row.status = Status.PUBLISHED
            if hasattr(row, "published_at") and row.published_at is None:
                row.published_at = timezone.now()
            row.save()
            count += 1
        return count


def content_unpublish(*, objects) -> int:
    """Return the published rows among ``objects`` to draft; returns how many changed.

    Only published rows change (drafts are left alone and not counted), so the count says how
    many pages learners lost. ``published_at`` is kept: it is the date of first publication.
    Locked and saved row by row, as in content_publish().
    """
    with transaction.atomic():
        count = 0
        for row in _locked(objects).filter(status=Status.PUBLISHED):
            row.status = Status.DRAFT
            row.save()
            count += 1
        return count
