"""The newsletter's reads: one method for each question asked in more than one place.

The models use these as their managers (``Subscriber.objects.subscribed()``,
``issue.deliveries.queued()``). Statuses are read from ``self.model``: models.py imports this
module, not the other way round.
"""

from collections import defaultdict
from datetime import timedelta

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q


class SubscriberQuerySet(models.QuerySet):
    def subscribed(self):
        """Confirmed addresses: the ones an issue goes to."""
        return self.filter(status=self.model.Status.SUBSCRIBED)

    def active(self):
        """Pending or subscribed: consent given and not withdrawn, so a confirmation link still
        works and unsubscribing still changes something."""
        return self.filter(status__in=[self.model.Status.PENDING, self.model.Status.SUBSCRIBED])

    def not_erased(self):
        """Every row that still holds an address."""
        return self.exclude(status=self.model.Status.ERASED)

    def in_audience(self, audience):
        """The subscribers of ``audience``'s segment: those with any of its tags (if it names
        tags) who came from any of its sign-up sources (if it names sources). None is everyone;
        a segment that names neither (its tags deleted since), or a test audience, is nobody:
        an audience never widens to everybody by accident."""
        if audience is None:
            return self
        if audience.is_test:
            return self.none()
        rule = Q()
        if tag_ids := list(audience.tags.values_list("pk", flat=True)):
            tagged = self.model.tags.through.objects.filter(
                subscriber=OuterRef("pk"), tag__in=tag_ids
            )
            rule &= Q(Exists(tagged))
        if audience.signup_sources:
            rule &= Q(signup_source__in=audience.signup_sources)
        return self.filter(rule) if rule else self.none()

    def recipients(self, audience=None):
        """The addresses an issue for ``audience`` goes to (None: every confirmed subscriber);
        never a pending, unsubscribed or erased one."""
        return self.subscribed().in_audience(audience)

    def signup_sources(self) -> list[str]:
        """Every sign-up source on record, for choosing a segment."""
        return list(
            self.exclude(signup_source="")
            .order_by("signup_source")
            .values_list("signup_source", flat=True)
            .distinct()
        )

    def with_address(self, email: str):
        """The row for ``email``, whatever its case (the database's constraint is on
        ``Lower(email)``)."""
        return self.filter(email__iexact=email)

    def with_any_address(self, emails):
        """The rows for any of ``emails``, whatever their case."""
        any_of = Q()
        for email in emails:
            any_of |= Q(email__iexact=email)
        # An empty Q() would match every row.
        return self.filter(any_of) if any_of else self.none()


class AudienceQuerySet(models.QuerySet):
    def segments(self):
        return self.filter(kind=self.model.Kind.SEGMENT)

    def tests(self):
        return self.filter(kind=self.model.Kind.TEST)


class IssueQuerySet(models.QuerySet):
    def sending(self):
        return self.filter(status=self.model.Status.SENDING)

    def scheduled_due(self, now):
        """Scheduled issues whose time has come by ``now``."""
        return self.filter(status=self.model.Status.SCHEDULED, scheduled_for__lte=now)

    def going_out_near(self, when, *, days: int, exclude=None):
        """The issue nearest to ``when`` that went out (sent, or sending now) or is scheduled to
        go out within ``days`` days of it, before or after; ``exclude`` aside; or None."""
        status = self.model.Status
        after, before = when - timedelta(days=days), when + timedelta(days=days)
        issues = self.filter(
            Q(status__in=[status.SENT, status.SENDING], started_at__gt=after, started_at__lt=before)
            | Q(status=status.SCHEDULED, scheduled_for__gt=after, scheduled_for__lt=before)
        )
        if exclude is not None and exclude.pk is not None:
            issues = issues.exclude(pk=exclude.pk)
        # A handful at most: issues go out about once a month.
        return min(issues, key=lambda issue: abs(issue.goes_out_at - when), default=None)


class DeliveryQuerySet(models.QuerySet):
    def of_issue(self, issue_id: int):
        return self.filter(issue_id=issue_id)

    def queued(self):
        return self.filter(status=self.model.Status.QUEUED)

    def sendable(self, now):
        """Queued deliveries that no retry holds back at ``now``: claimable now, or once a
        lease runs out."""
        return self.queued().filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))

    def claimable(self, now):
        """Sendable deliveries that no worker holds at ``now``."""
        return self.sendable(now).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))

    def claimed(self, claims: dict[int, int]):
        """The queued deliveries still held under these claim numbers (``{id: claim number}``).

        A delivery whose lease ran out and which another worker claimed has a higher claim
        number, so it no longer matches: every write through this queryset is settled by the
        database, in the UPDATE's own condition, against a race with another worker's claim.
        """
        if not claims:
            return self.none()  # an empty Q() would match every queued delivery
        # A batch claimed at once shares one or two claim numbers: one condition for each.
        by_claim = defaultdict(list)
        for pk, claim in claims.items():
            by_claim[claim].append(pk)
        ours = Q()
        for claim, pks in by_claim.items():
            ours |= Q(pk__in=pks, attempts=claim)
        return self.queued().filter(ours)

    def _subscribed(self) -> Q:
        subscriber = self.model._meta.get_field("subscriber").related_model
        return Q(subscriber__status=subscriber.Status.SUBSCRIBED)

    def to_subscribed(self):
        """Deliveries whose subscriber is still subscribed (unsubscribing stops a send at once)."""
        return self.filter(self._subscribed())

    def to_unsubscribed(self):
        """Deliveries whose subscriber has left since the send started."""
        return self.exclude(self._subscribed())

    def status_counts(self) -> dict[str, int]:
        """How many deliveries are in each status, every status present (0 if none)."""
        counts = dict.fromkeys(self.model.Status.values, 0)
        for row in self.values("status").annotate(n=Count("pk")).order_by():
            counts[row["status"]] = row["n"]
        return counts
