"""Reads that are not a chainable queryset: the footer's subscriber count, an issue's live
counts, the subscriber CSV export and the subscriptions under an account's addresses. Nothing
here writes."""

import csv
from collections.abc import Iterator

from allauth.account.models import EmailAddress
from django.core.cache import cache

from irlearn.exports import csv_cell
from irlearn.newsletter.models import Issue, Subscriber

SUBSCRIBER_COUNT_CACHE_KEY = "newsletter:subscriber-count"
EXPORT_COLUMNS = ["email", "status", "created_at", "confirmed_at", "unsubscribed_at"]


def subscriber_count_text() -> str:
    """'Join N+ subscribers', N rounded down (cached for an hour)."""
    return cache.get_or_set(SUBSCRIBER_COUNT_CACHE_KEY, _count_text, timeout=3600)


def _count_text() -> str:
    n = Subscriber.objects.subscribed().count()
    if n >= 1000:
        return f"{n // 1000}k+"
    if n >= 100:
        return f"{n // 100 * 100}+"
    if n >= 10:
        return f"{n // 10 * 10}+"
    return ""


def issue_counts(issue: Issue) -> dict[str, int]:
    """Live counts for the issue page: queued, sent, failed, skipped."""
    return issue.deliveries.status_counts()


class _Echo:
    """A file for csv.writer that hands each line back instead of keeping it."""

    def write(self, value):
        return value


def subscribers_export_rows(queryset) -> Iterator[str]:
    """CSV lines for the subscribers in ``queryset`` (erased ones left out), produced a chunk at
    a time so memory stays flat; dates as ISO 8601, and no cell a spreadsheet would run."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    rows = queryset.not_erased().order_by("pk").values_list(*EXPORT_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [csv_cell(value.isoformat() if hasattr(value, "isoformat") else value) for value in row]
        )


def subscribers_of_account(user):
    """The subscribers under any of an account's addresses, erased ones aside."""
    addresses = EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    return Subscriber.objects.with_any_address({user.email, *addresses}).not_erased()
