"""Writes to the procedure library that go beyond saving one form."""

from django.db import transaction
from django.utils import timezone

from procedures.models import Procedure


def procedure_publish(*, procedures) -> int:
    """Publish ``procedures`` (a queryset); those published before keep their first date."""
    with transaction.atomic():
        count = 0
        for procedure in procedures.select_for_update().exclude(status=Procedure.Status.PUBLISHED):
            procedure.status = Procedure.Status.PUBLISHED
            procedure.published_at = procedure.published_at or timezone.now()
            procedure.save()
            count += 1
        return count


def procedure_unpublish(*, procedures) -> int:
    """Return ``procedures`` to draft: learners no longer see them."""
    with transaction.atomic():
        count = 0
        for procedure in procedures.select_for_update().filter(status=Procedure.Status.PUBLISHED):
            procedure.status = Procedure.Status.DRAFT
            procedure.save()
            count += 1
        return count
