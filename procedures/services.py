"""Writes to the procedure library that go beyond saving one form."""

from django.db import transaction
from django.utils import timezone

from procedures.models import Procedure


def _locked(procedures):
    """The rows of ``procedures``, locked for this transaction.

    Locks through the primary keys rather than on ``procedures`` itself: the admin hands its
    actions a DISTINCT queryset when the list is filtered on imaging guidance (many-to-many),
    and PostgreSQL refuses FOR UPDATE with DISTINCT.
    """
    return Procedure.objects.select_for_update().filter(pk__in=procedures.values("pk"))


def procedure_publish(*, procedures) -> int:
    """Publish ``procedures`` (a queryset); those published before keep their first date."""
    with transaction.atomic():
        count = 0
        for procedure in _locked(procedures).exclude(status=Procedure.Status.PUBLISHED):
            procedure.status = Procedure.Status.PUBLISHED
            procedure.published_at = procedure.published_at or timezone.now()
            procedure.save()
            count += 1
        return count


def procedure_unpublish(*, procedures) -> int:
    """Return ``procedures`` to draft: learners no longer see them."""
    with transaction.atomic():
        count = 0
        for procedure in _locked(procedures).filter(status=Procedure.Status.PUBLISHED):
            procedure.status = Procedure.Status.DRAFT
            procedure.save()
            count += 1
        return count
