"""Subscribing, consent, erasure, import and tags; editing and test-sending an issue.

Scheduling and starting a send live in scheduling.py, the sending itself in engine.py; reads
(counts, the CSV export) in querysets.py and selectors.py.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from irlearn.newsletter import tokens
from irlearn.newsletter.messages import build_message
from irlearn.newsletter.models import (
    SIGNUP_SOURCE_WEBSITE,
    ConsentRecord,
    Delivery,
    Issue,
    Subscriber,
    Suppression,
    email_hash,
    normalise_email,
)
from irlearn.newsletter.selectors import subscribers_of_account
from irlearn.newsletter.tasks import email_confirmation_send
from irlearn.newsletter.transport import mail_server
from irlearn.pages.models import PrivacyPolicy
from irlearn.taskresults import task_results_delete

CONFIRMATION_EMAIL_INTERVAL = timedelta(hours=1)
CONSENT_WORDING = (
    "Yes, email me the IRLearn newsletter. My email address will never be shared with third "
    "parties and will only be used for IRLearn communications. Emails are sent less than once a "
    "month on average, and every one has a link to unsubscribe."
)
# What the confirmation and unsubscribe pages say above their one button; the consent record
# keeps the words the person acted on.
CONFIRM_WORDING = (
    "Press the button to start receiving the IRLearn newsletter. Every issue has a link to "
    "unsubscribe."
)
UNSUBSCRIBE_WORDING = "Press the button and we will stop sending you the newsletter straight away."
ONE_CLICK_UNSUBSCRIBE_WORDING = (
    "Unsubscribe button of the email programme (List-Unsubscribe=One-Click, RFC 8058)."
)


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


def consent_record_create(
    *,
    subscriber: Subscriber,
    event: str,
    policy: PrivacyPolicy | None,
    source: str,
    wording: str = "",
    ip_address: str | None = None,
    actor=None,
) -> ConsentRecord:
    """Add one event to the subscriber's consent history, which is append-only evidence.

    ``source`` (a page, a file, an admin user) is kept without the token of a newsletter link it
    may hold, and cut to fit.
    """
    return ConsentRecord.objects.create(
        subscriber=subscriber,
        event=event,
        policy=policy,
        wording=wording,
        source=link_source(source)[:500],
        ip_address=ip_address,
        actor=actor,
    )


def subscriber_subscribe(
    *, email: str, wording: str, source: str, ip_address: str | None
) -> Subscriber | None:
    """Record consent from the sign-up form and send a confirmation link (double opt-in).

    The caller shows the same answer whatever happens here, so nobody can learn from the form
    whether an address is subscribed. A subscribed address gets no email; a pending or
    unsubscribed one gets a confirmation at most once an hour; a suppressed (erased) one is
    ignored. Returns the subscriber, or None for a suppressed address. ``source`` (the page the
    form was on) is recorded without the token of a newsletter link.
    """
    email = normalise_email(email)
    if is_suppressed(email):
        return None
    policy = PrivacyPolicy.objects.current()
    with transaction.atomic():
        subscriber = _get_or_create_locked(email)
        if subscriber.is_subscribed:
            return subscriber
        if not _consent_already_given(subscriber, policy=policy, wording=wording):
            consent_record_create(
                subscriber=subscriber,
                event=ConsentRecord.Event.GIVEN,
                policy=policy,
                wording=wording,
                source=source,
                ip_address=ip_address,
            )
        if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
            # Resubscribing goes through double opt-in again.
            subscriber.status = Subscriber.Status.PENDING
            subscriber.save(update_fields=["status"])
        now = timezone.now()
        recently = subscriber.confirmation_sent_at and (
            now - subscriber.confirmation_sent_at < CONFIRMATION_EMAIL_INTERVAL
        )
        if not recently:
            subscriber.confirmation_sent_at = now
            subscriber.save(update_fields=["confirmation_sent_at"])
            transaction.on_commit(lambda: _send_confirmation(subscriber))
    return subscriber


def _consent_already_given(subscriber: Subscriber, *, policy, wording: str) -> bool:
    """Whether a pending subscriber's latest consent record already gives the same consent, to
    the same policy and wording, within the life of a confirmation link.

    Signing up again while a confirmation waits (a second click, the box on another page) adds
    nothing to the evidence, so it adds no record; one after the link expired, after
    unsubscribing, or to a new policy does.
    """
    if subscriber.status != Subscriber.Status.PENDING:
        return False
    latest = subscriber.consent_records.order_by("-created_at", "-pk").first()
    return (
        latest is not None
        and latest.event == ConsentRecord.Event.GIVEN
        and latest.policy_id == (policy.pk if policy else None)
        and latest.wording == wording
        and timezone.now() - latest.created_at < timedelta(seconds=tokens.CONFIRM_MAX_AGE)
    )


def _get_or_create_locked(email: str) -> Subscriber:
    """The subscriber row for ``email``, locked for this transaction; created if new.

    Two sign-ups at once: the unique constraint lets one insert win, the other reads its row.
    """
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, signup_source=SIGNUP_SOURCE_WEBSITE)
    except IntegrityError:
        return Subscriber.objects.select_for_update().with_address(email).get()


def _send_confirmation(subscriber: Subscriber) -> None:
    email_confirmation_send.enqueue(subscriber_id=subscriber.pk)


def subscriber_for_confirm_token(token: str, *, lock: bool = False) -> Subscriber:
    """The subscriber a confirmation link is for, while it can still be confirmed.

    Raises signing.BadSignature (or SignatureExpired) for a bad or old link and
    Subscriber.DoesNotExist when the address is gone (erased), has unsubscribed since, or the
    row no longer holds the address the link was sent to.
    """
    pk, fingerprint = tokens.read_confirm_token(token)
    subscribers = Subscriber.objects.active().filter(pk=pk)
    if lock:
        subscribers = subscribers.select_for_update()
    subscriber = subscribers.get()
    if not tokens.confirm_token_is_for(subscriber, fingerprint):
        raise Subscriber.DoesNotExist
    return subscriber


# /newsletter/confirm/<token>/ and /newsletter/unsubscribe/<token>/, anywhere in a source.
LINK_TOKEN = re.compile(r"(/newsletter/(?:confirm|unsubscribe)/)[^/?#\s]+/?")


def link_source(url: str) -> str:
    """The address of a page reached through an emailed link, without the link's token.

    The consent record says which kind of link it was; a token kept there would be a live
    unsubscribe link, and one from before tokens carried only ids holds the address.
    """
    return LINK_TOKEN.sub(r"\1", url)


def subscriber_confirm(
    *, token: str, source: str, ip_address: str | None, wording: str = CONFIRM_WORDING
) -> Subscriber:
    """Confirm the address ``token`` was sent to (the POST from the confirmation page).

    Raises signing.BadSignature (or SignatureExpired) for a bad or old link and
    Subscriber.DoesNotExist when the address is gone (erased) or has unsubscribed since: coming
    back takes a new sign-up. Confirming twice is harmless. ``source`` is recorded without the
    link's token.
    """
    with transaction.atomic():
        subscriber = subscriber_for_confirm_token(token, lock=True)
        if subscriber.status == Subscriber.Status.SUBSCRIBED:
            return subscriber
        subscriber.status = Subscriber.Status.SUBSCRIBED
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["status", "confirmed_at"])
        consent_record_create(
            subscriber=subscriber,
            event=ConsentRecord.Event.CONFIRMED,
            policy=PrivacyPolicy.objects.current(),
            wording=wording,
            source=source,
            ip_address=ip_address,
        )
    return subscriber


def subscriber_unsubscribe(
    *,
    subscriber: Subscriber,
    source: str,
    ip_address: str | None = None,
    actor=None,
    wording: str = "",
) -> Subscriber:
    """Withdraw consent now: no further email, including from a send already under way.

    ``source`` is recorded without the token of the link it may have come through.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status in (Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.ERASED):
            return subscriber
        subscriber.status = Subscriber.Status.UNSUBSCRIBED
        subscriber.unsubscribed_at = timezone.now()
        subscriber.save(update_fields=["status", "unsubscribed_at"])
        consent_record_create(
            subscriber=subscriber,
            event=ConsentRecord.Event.WITHDRAWN,
            policy=PrivacyPolicy.objects.current(),
            wording=wording,
            source=source,
            ip_address=ip_address,
            actor=actor,
        )
    return subscriber


def subscriber_erase(*, subscriber: Subscriber, actor, source: str = "") -> Subscriber:
    """GDPR article 17: forget the address and IP addresses, keep an anonymised record and a
    hashed suppression entry so the address is never imported or mailed again.

    The address goes from everywhere it was copied: the subscriber row, links in consent
    records, mail servers' answers kept on deliveries and issues, and the task queue's record
    of confirmation emails. Only the suppression hash remains.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.ERASED:
            return subscriber
        email = subscriber.email
        Suppression.objects.get_or_create(email_hash=email_hash(email))
        subscriber.consent_records.update(ip_address=None)
        for record in subscriber.consent_records.filter(source__contains="/newsletter/"):
            if (source_without_token := link_source(record.source)) != record.source:
                record.source = source_without_token
                record.save(update_fields=["source"])
        _forget_in_errors(Delivery.objects.filter(subscriber=subscriber), "error", email)
        _forget_in_errors(Issue.objects.all(), "last_error", email)
        task_results_delete(task=email_confirmation_send, subscriber_id=subscriber.pk)
        subscriber.tags.clear()  # nothing to choose an erased row for
        subscriber.email = None
        subscriber.status = Subscriber.Status.ERASED
        subscriber.erased_at = timezone.now()
        subscriber.save(update_fields=["email", "status", "erased_at"])
        consent_record_create(
            subscriber=subscriber,
            event=ConsentRecord.Event.ERASED,
            policy=None,
            source=source or (f"admin user #{actor.pk}" if actor else "erasure"),
            actor=actor,
        )
    return subscriber


ERASED_WITH_ACCOUNT = "account deletion, at the person's request"


class AccountDeletion(models.TextChoices):
    """What becomes of a newsletter subscription when the account with its address is deleted."""

    KEEP = "keep", "Keep it"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
    ERASE = "erase", "Erase"


def subscriber_account_delete(
    *, user, choice: str, source: str, ip_address: str | None, wording: str
) -> None:
    """Unsubscribe or erase the subscriptions under the addresses of ``user``, whose account is
    being deleted, as they chose on the deletion page (``wording`` is the option they ticked).

    Runs inside the account deletion's transaction: both go, or neither.
    """
    for subscriber in subscribers_of_account(user):
        if choice == AccountDeletion.UNSUBSCRIBE:
            subscriber_unsubscribe(
                subscriber=subscriber, source=source, ip_address=ip_address, wording=wording
            )
        elif choice == AccountDeletion.ERASE:
            subscriber_erase(subscriber=subscriber, actor=None, source=ERASED_WITH_ACCOUNT)


def _forget_in_errors(queryset, field: str, email: str) -> None:
    """Put "(erased address)" for ``email`` in the mail server's answers kept in ``field``
    (a refusal names its recipient); the rest of the answer stays."""
    address = re.compile(re.escape(email), re.IGNORECASE)
    for pk, text in queryset.filter(**{f"{field}__icontains": email}).values_list("pk", field):
        queryset.filter(pk=pk).update(**{field: address.sub("(erased address)", text)})


@dataclass
class ImportReport:
    created_pending: int = 0
    created_subscribed: int = 0
    already_known: int = 0
    suppressed: int = 0
    invalid: list = field(default_factory=list)

    @property
    def summary(self):
        return (
            f"{self.created_subscribed} subscribed, {self.created_pending} asked to confirm, "
            f"{self.already_known} already known, {self.suppressed} suppressed (erased), "
            f"{len(self.invalid)} invalid"
        )


def subscribers_import(
    *, rows, source: str, prior_opt_in: bool, actor, filename: str, tags=()
) -> ImportReport:
    """Import addresses (first CSV column, header optional) with a stated consent source.

    Suppressed and invalid addresses are skipped; known addresses are left as they are. New ones
    are pending and get a confirmation email, unless the source records prior opt-in, when they
    are subscribed at once. Every new address gets an "imported" consent record, the stated
    source as its sign-up source, and ``tags``.
    """
    if not source.strip():
        raise ValidationError("State where these addresses and their consent came from.")
    report = ImportReport()
    policy = PrivacyPolicy.objects.current()
    to_confirm = []
    seen = set()
    with transaction.atomic():
        for number, row in enumerate(rows, start=1):
            raw = (row[0] if row else "").strip()
            if not raw or (number == 1 and "@" not in raw):
                continue  # blank line or header
            email = normalise_email(raw)
            try:
                validate_email(email)
            except ValidationError:
                report.invalid.append((number, raw[:100]))
                continue
            if email in seen:
                report.already_known += 1
                continue
            seen.add(email)
            if is_suppressed(email):
                report.suppressed += 1
                continue
            if Subscriber.objects.with_address(email).exists():
                report.already_known += 1
                continue
            now = timezone.now()
            subscriber = Subscriber.objects.create(
                email=email,
                status=Subscriber.Status.SUBSCRIBED if prior_opt_in else Subscriber.Status.PENDING,
                confirmed_at=now if prior_opt_in else None,
                confirmation_sent_at=None if prior_opt_in else now,
                signup_source=source.strip()[:100],
            )
            if tags:
                subscriber.tags.add(*tags)
            consent_record_create(
                subscriber=subscriber,
                event=ConsentRecord.Event.IMPORTED,
                policy=policy,
                wording=("Prior opt-in: " if prior_opt_in else "To confirm: ") + source,
                # The actor's id, not their name or address: records outlive staff accounts.
                source=f"import {filename} by admin user #{actor.pk}",
                actor=actor,
            )
            if prior_opt_in:
                report.created_subscribed += 1
            else:
                report.created_pending += 1
                to_confirm.append(subscriber)
        transaction.on_commit(lambda: [_send_confirmation(s) for s in to_confirm])
    return report


def read_csv_upload(upload) -> list:
    text = io.TextIOWrapper(upload, encoding="utf-8-sig", errors="replace")
    return list(csv.reader(text))


def issue_update(*, issue: Issue) -> bool:
    """Save an editor's changes to the subject and body of ``issue``; return whether they were
    saved.

    The audience is the editor's to change too, until the send starts.
    A scheduled issue may start sending while someone edits it. The issue's row is locked
    (SELECT ... FOR UPDATE) while its status is read, so the edit either lands before the send
    starts (the send, waiting for the lock, goes out with it) or finds the issue started and
    saves nothing: an issue that has started is never changed, and the status and dates the
    editor's form read are never written back.
    """
    with transaction.atomic():
        current = Issue.objects.select_for_update().only("status").get(pk=issue.pk)
        if not current.is_editable:
            return False
        issue.save(update_fields=["subject", "body", "audience", "updated_at"])
    return True


def issue_send_test(*, issue: Issue, recipients: list[str]) -> None:
    """Send one copy of ``issue`` to each of ``recipients`` (staff checking it: the staff member
    or a test audience) over one connection, the subject starting "[Test]". Nothing is recorded
    and the issue stays as it is. Raises smtplib.SMTPException or OSError when the mail server
    will not take them."""
    server = mail_server()
    server.open()
    try:
        for email in recipients:
            message = build_message(issue, 0, email)
            message.subject = f"[Test] {message.subject}"
            server.send(message)
    finally:
        server.close()


def subscribers_tag(*, subscribers, tags, remove: bool = False) -> int:
    """Put ``tags`` on ``subscribers`` (a queryset), or take them off with ``remove``; return
    how many subscribers there were. Erased subscribers are left alone. Tags are labels for
    choosing an audience: they change no consent."""
    subscriber_ids = list(subscribers.not_erased().values_list("pk", flat=True))
    tag_ids = [tag.pk for tag in tags]
    through = Subscriber.tags.through
    with transaction.atomic():
        if remove:
            through.objects.filter(subscriber_id__in=subscriber_ids, tag_id__in=tag_ids).delete()
        else:
            through.objects.bulk_create(
                [
                    through(subscriber_id=subscriber_id, tag_id=tag_id)
                    for subscriber_id in subscriber_ids
                    for tag_id in tag_ids
                ],
                ignore_conflicts=True,
            )
    return len(subscriber_ids)
