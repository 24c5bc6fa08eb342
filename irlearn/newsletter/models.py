import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from irlearn.markup import MarkdownBodyMixin
from irlearn.newsletter.querysets import DeliveryQuerySet, IssueQuerySet, SubscriberQuerySet


def normalise_email(email: str) -> str:
    """An address as the newsletter stores, compares and fingerprints it: trimmed, lower case."""
    return email.strip().lower()


def email_hash(email: str) -> str:
    """A stable fingerprint of an address, kept after erasure so it is never mailed again."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        ERASED = "erased", "Erased"

    # Null once erased: the row stays for its anonymised consent history.
    email = models.EmailField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="newsletter_subscriber_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(status="erased", email__isnull=True)
                | (~models.Q(status="erased") & models.Q(email__isnull=False)),
                name="newsletter_subscriber_erased_has_no_email",
            ),
        ]

    def __str__(self):
        return self.email or f"Erased subscriber #{self.pk}"

    @property
    def is_subscribed(self):
        return self.status == self.Status.SUBSCRIBED


class Suppression(models.Model):
    """Addresses never to import or mail again (erased on request), kept only as a hash."""

    email_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=100, default="erased")

    def __str__(self):
        return f"{self.email_hash[:12]}… ({self.reason})"


class ConsentRecord(models.Model):
    """One consent event, append-only: the proof of what a subscriber agreed to, and when."""

    class Event(models.TextChoices):
        GIVEN = "given", "Consent given (form)"
        CONFIRMED = "confirmed", "Confirmed (double opt-in)"
        WITHDRAWN = "withdrawn", "Withdrawn (unsubscribed)"
        IMPORTED = "imported", "Imported"
        ERASED = "erased", "Erased (GDPR article 17)"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="consent_records"
    )
    event = models.CharField(max_length=10, choices=Event)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    policy = models.ForeignKey(
        "pages.PrivacyPolicy", on_delete=models.PROTECT, null=True, blank=True
    )
    wording = models.TextField(blank=True, help_text="The exact consent text the person saw.")
    source = models.CharField(max_length=500, help_text="Page URL, import file or admin user.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_event_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class Issue(MarkdownBodyMixin, models.Model):
    """One newsletter issue, written in Markdown and sent to every subscribed address."""

    # The email template's <h1> is the subject: an editor's "#" becomes <h2>.
    markdown_heading_level = 2

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False, default="")
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT, db_index=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IssueQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.subject

    def get_absolute_url(self):
        return reverse("admin:newsletter_issue_change", args=[self.pk])

    @property
    def is_editable(self):
        """Drafts and scheduled issues can change; once sending has begun the issue is a record
        of what went out."""
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)


class Delivery(models.Model):
    """One issue to one subscriber: the unit that workers claim, send and record."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (unsubscribed meanwhile)"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A worker holds a claimed delivery until lease_until; after that anyone may take it back.
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "subscriber"], name="newsletter_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["issue", "status", "lease_until"], name="newsletter_delivery_claim"
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"{self.issue} → {self.subscriber}"
