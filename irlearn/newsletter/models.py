import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from irlearn.markup import MarkdownBodyMixin
from irlearn.newsletter.querysets import (
    AudienceQuerySet,
    DeliveryQuerySet,
    IssueQuerySet,
    SubscriberQuerySet,
)

# Subscriber.signup_source of everyone who signed up through the site's form.
SIGNUP_SOURCE_WEBSITE = "website"


def normalise_email(email: str) -> str:
    """An address as the newsletter stores, compares and fingerprints it: trimmed, lower case."""
    return email.strip().lower()


def email_hash(email: str) -> str:
    """A stable fingerprint of an address, kept after erasure so it is never mailed again."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


class Tag(models.Model):
    """A label the subscriber managers put on subscribers (a meeting, a region, a grade) so that
    an issue can go to some of them."""

    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="newsletter_tag_name_ci_unique",
                violation_error_message="There is a tag with this name already.",
            )
        ]

    def __str__(self):
        return self.name


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
    # Where the address first came from: "website" (the sign-up form) or an import's stated
    # consent source. The consent records keep the full story; this is for choosing audiences.
    signup_source = models.CharField("sign-up source", max_length=100, blank=True, db_index=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="subscribers")

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


class Audience(models.Model):
    """Who gets an issue, short of every subscriber: a segment of the confirmed subscribers
    (by tag and/or sign-up source), or a test audience of staff who get test copies only.

    Sending always stays within the confirmed, not unsubscribed, not erased addresses
    (``Subscriber.objects.recipients(audience)``); a segment only narrows that down.
    """

    class Kind(models.TextChoices):
        SEGMENT = "segment", "Segment of the subscribers"
        TEST = "test", "Test audience (staff, for test copies)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.SEGMENT)
    tags = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="audiences",
        help_text="Segment: subscribers with any of these tags.",
    )
    signup_sources = models.JSONField(
        "sign-up sources",
        default=list,
        blank=True,
        help_text="Segment: subscribers who came from any of these sources.",
    )
    testers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="newsletter_test_audiences",
        limit_choices_to={"is_staff": True, "is_active": True},
        help_text="Test audience: the staff accounts that get a test copy.",
    )

    objects = AudienceQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return self.name

    @property
    def is_test(self):
        return self.kind == self.Kind.TEST


class Issue(MarkdownBodyMixin, models.Model):
    """One newsletter issue, written in Markdown and sent to every confirmed subscriber, or to
    those of its audience (a segment)."""

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
    # PROTECT: deleting a segment must never turn a scheduled issue into one for everybody.
    audience = models.ForeignKey(
        Audience,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        limit_choices_to={"kind": Audience.Kind.SEGMENT},
        related_name="issues",
        help_text="Leave empty to send to every confirmed subscriber.",
    )
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

    @property
    def goes_out_at(self):
        """When it went out (or began to), or when it is scheduled to: None for a draft."""
        if self.started_at:
            return self.started_at
        return self.scheduled_for if self.status == self.Status.SCHEDULED else None


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
