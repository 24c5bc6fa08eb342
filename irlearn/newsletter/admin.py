"""The newsletter in the admin, for the Subscriber managers group.

Nobody adds or edits a subscriber by hand: new addresses come in through the CSV import, which
records where their consent came from, and changes go through the actions (unsubscribe, erase),
which record consent events, and tags (for choosing audiences). Consent records are read-only
for everybody. Issues are written, previewed, test-sent, sent or scheduled (after a page that
says how many will get them) and cancelled here; the sending itself runs in the task worker.
"""

import csv
import smtplib

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import FileExtensionValidator
from django.db.models import Count
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.utils.formats import date_format
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from irlearn.admin_tools import (
    ON_LIST_AND_FORM,
    ReadOnlyAdmin,
    SafeChangeListMixin,
    action_confirmation,
    admin_page,
    admin_page_object,
    admin_page_path,
)
from irlearn.newsletter import scheduling, selectors, services
from irlearn.newsletter.forms import (
    AudienceForm,
    ImportForm,
    IssueSendForm,
    IssueSendTestForm,
    SubscriberTagForm,
)
from irlearn.newsletter.messages import build_message
from irlearn.newsletter.models import Audience, ConsentRecord, Delivery, Issue, Subscriber, Tag

MAX_IMPORT_BYTES = 5 * 1024 * 1024
NOT_RECORDED = "not recorded"


def csv_response(queryset, filename: str) -> StreamingHttpResponse:
    """Stream ``queryset`` as CSV: rows go out as the database hands them over, never all in
    memory at once (the list can hold 100,000 addresses)."""
    response = StreamingHttpResponse(
        selectors.subscribers_export_rows(queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_filename() -> str:
    return f"newsletter-subscribers-{timezone.localdate():%Y-%m-%d}.csv"


class SubscriberImportForm(ImportForm):
    """The import form, refusing anything but a UTF-8 CSV file of at most 5 MB before it is read.

    Spreadsheets saved under a .csv name, binary files and other encodings end here with a
    message that says what to do, rather than as a page of "invalid addresses" (or an error).
    """

    def clean_file(self):
        upload = self.cleaned_data["file"]
        FileExtensionValidator(
            ["csv"], message="Upload a .csv file (in a spreadsheet: Save as › CSV UTF-8)."
        )(upload)
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(
                f"The file is {filesizeformat(upload.size)}; imports can be at most "
                f"{filesizeformat(MAX_IMPORT_BYTES)}. Split it into smaller files."
            )
        upload.seek(0)
        content = upload.read()
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(
                "This file is not UTF-8 text. Save it from the spreadsheet as “CSV UTF-8” and "
                "upload it again."
            ) from None
        if "\x00" in text:
            raise ValidationError("This is not a CSV file (it contains binary data).")
        upload.seek(0)
        try:
            self.rows = services.read_csv_upload(upload)
        except csv.Error as error:
            raise ValidationError(f"This CSV file cannot be read: {error}.") from None
        return upload


class ConsentRecordInline(admin.TabularInline):
    """A subscriber's consent history, oldest first. Records are evidence: nobody edits them."""

    model = ConsentRecord
    template = "admin/newsletter/subscriber/consent_history.html"
    extra = 0
    can_delete = False
    fields = ["created_at", "event", "source", "ip", "policy", "wording", "actor"]
    readonly_fields = fields
    verbose_name_plural = "consent history"

    @admin.display(description="IP address")
    def ip(self, record):
        return record.ip_address or NOT_RECORDED

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("policy", "actor")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(SafeChangeListMixin, admin.ModelAdmin):
    list_display = [
        "address",
        "status",
        "signup_source",
        "created_at",
        "confirmed_at",
        "unsubscribed_at",
    ]
    list_filter = ["status", "tags", "signup_source"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    fields = [
        "email",
        "status",
        "signup_source",
        "tags",
        "created_at",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "erased_at",
    ]
    readonly_fields = fields
    inlines = [ConsentRecordInline]
    actions = ["unsubscribe", "erase", "add_tags", "remove_tags", "export_csv"]
    # The actions each state leaves something to do for, on one subscriber's page.
    FORM_ACTIONS_BY_STATUS = {
        Subscriber.Status.PENDING: {"unsubscribe", "erase"},
        Subscriber.Status.SUBSCRIBED: {"unsubscribe", "erase"},
        Subscriber.Status.UNSUBSCRIBED: {"erase"},
        Subscriber.Status.ERASED: set(),
    }

    @admin.display(description="email address", ordering="email")
    def address(self, subscriber):
        return subscriber.email or f"(erased #{subscriber.pk})"

    # Subscribers come in through the import, which records their consent, and change only
    # through the actions below, which record theirs. The change page is for reading.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return False
        return super().has_change_permission(request)

    # Deleting would destroy the consent history; erasure (below) is the way to forget someone.
    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return super().has_add_permission(request)

    def has_erase_permission(self, request):
        return super().has_delete_permission(request)

    def get_urls(self):
        return [
            admin_page_path(self, "import/", self.import_view, "import"),
            admin_page_path(self, "export/", self.export_view, "export"),
            *super().get_urls(),
        ]

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        # A list of erased subscribers only: nothing there to unsubscribe, erase or tag.
        actions = super().get_actions(request, action_location=action_location)
        if request.GET.get("status__exact") == Subscriber.Status.ERASED:
            for name in ("unsubscribe", "erase", "add_tags", "remove_tags"):
                actions.pop(name, None)
        return actions

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # An erased subscriber has nothing left to unsubscribe or erase: offer no action.
        action_form = context.get("action_form")
        if obj is not None and action_form is not None:
            offered = self.FORM_ACTIONS_BY_STATUS[obj.status]
            choices = [
                (name, label)
                for name, label in action_form.fields["action"].choices
                if name in offered
            ]
            if choices:
                action_form.fields["action"].choices = [("", "---------"), *choices]
            else:
                context["action_form"] = None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "title": "Subscribers",
            "can_import": self.has_import_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(
        permissions=["change"],
        description="Unsubscribe",
        description_plural="Unsubscribe the selected subscribers",
        location=ON_LIST_AND_FORM,
    )
    def unsubscribe(self, request, queryset):
        # The actor's id, not their address: consent records outlive staff accounts.
        source = f"admin user #{request.user.pk}"
        changed = 0
        for subscriber in queryset.active():
            services.subscriber_unsubscribe(
                subscriber=subscriber, source=source, actor=request.user
            )
            changed += 1
        self.message_user(
            request,
            f"Unsubscribed {changed} address{'es' if changed != 1 else ''}; "
            "their consent history records who did it.",
            messages.SUCCESS,
        )

    @admin.action(
        permissions=["erase"],
        description="Erase (GDPR article 17)",
        description_plural="Erase the selected subscribers (GDPR article 17)",
        location=ON_LIST_AND_FORM,
    )
    def erase(self, request, queryset):
        """Ask first, as Django's delete does: erasure cannot be undone."""
        queryset = queryset.not_erased()
        if request.POST.get("post") == "yes":
            erased = 0
            for subscriber in queryset:
                services.subscriber_erase(subscriber=subscriber, actor=request.user)
                erased += 1
            self.message_user(
                request,
                f"Erased {erased} subscriber{'s' if erased != 1 else ''}: their addresses and "
                "IP addresses are gone, and the addresses can never be imported or mailed again.",
                messages.SUCCESS,
            )
            return None
        if not queryset.exists():
            self.message_user(request, "They are erased already.", messages.WARNING)
            return None
        return action_confirmation(
            self,
            request,
            template="admin/newsletter/subscriber/erase_confirmation.html",
            title="Erase these subscribers?",
            action="erase",
            objects=queryset,
        )

    @admin.action(permissions=["change"], description="Tag the selected subscribers")
    def add_tags(self, request, queryset):
        return self._tag_action(request, queryset, remove=False)

    @admin.action(permissions=["change"], description="Untag the selected subscribers")
    def remove_tags(self, request, queryset):
        return self._tag_action(request, queryset, remove=True)

    def _tag_action(self, request, queryset, *, remove: bool):
        """Ask which tags first (a page of its own, as the erase action's), then tag."""
        action = "remove_tags" if remove else "add_tags"
        queryset = queryset.not_erased()
        if not queryset.exists():
            self.message_user(request, "They are erased: there is nobody to tag.", messages.WARNING)
            return None
        form = SubscriberTagForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            count = services.subscribers_tag(
                subscribers=queryset, tags=form.cleaned_data["tags"], remove=remove
            )
            names = ", ".join(tag.name for tag in form.cleaned_data["tags"])
            self.message_user(
                request,
                f"{'Untagged' if remove else 'Tagged'} {count} "
                f"subscriber{'s' if count != 1 else ''}: {names}.",
                messages.SUCCESS,
            )
            return None
        return action_confirmation(
            self,
            request,
            template="admin/newsletter/subscriber/tag_confirmation.html",
            title="Untag these subscribers" if remove else "Tag these subscribers",
            action=action,
            objects=queryset,
            form=form,
            remove=remove,
        )

    @admin.action(permissions=["view"], description="Export the selected subscribers as CSV")
    def export_csv(self, request, queryset):
        return csv_response(queryset, export_filename())

    def export_view(self, request):
        """Every subscriber the list shows with its current filters and search, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(f"{reverse('admin:newsletter_subscriber_changelist')}?e=1")
        return csv_response(changelist.get_queryset(request), export_filename())

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = SubscriberImportForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    report = services.subscribers_import(
                        rows=form.rows,
                        source=form.cleaned_data["source"],
                        prior_opt_in=form.cleaned_data["prior_opt_in"],
                        actor=request.user,
                        filename=form.cleaned_data["file"].name,
                        tags=form.cleaned_data["tags"],
                    )
                except ValidationError as error:
                    form.add_error("source", error)
                else:
                    self.message_user(
                        request,
                        f"Imported {form.cleaned_data['file'].name}: {report.summary}.",
                        messages.WARNING if report.invalid else messages.SUCCESS,
                    )
                    form = SubscriberImportForm()
        else:
            form = SubscriberImportForm()
        return admin_page(
            self,
            request,
            "admin/newsletter/subscriber/import.html",
            title="Import subscribers",
            form=form,
            report=report,
            invalid_shown=report.invalid[:500] if report else [],
        )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    """The evidence of consent: staff read it; nobody, not even a superuser, alters it."""

    list_display = ["created_at", "subscriber", "event", "source", "policy", "actor"]
    list_filter = ["event"]
    search_fields = ["subscriber__email"]
    list_select_related = ["subscriber", "policy", "actor"]
    date_hierarchy = "created_at"
    fields = [
        "subscriber",
        "event",
        "created_at",
        "policy",
        "wording",
        "source",
        "ip",
        "actor",
    ]
    readonly_fields = fields

    @admin.display(description="IP address")
    def ip(self, record):
        return record.ip_address or NOT_RECORDED


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Labels for subscribers; put on and taken off with the actions of the subscriber list."""

    list_display = ["name", "subscriber_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(subscriber_total=Count("subscribers"))

    @admin.display(description="subscribers", ordering="subscriber_total")
    def subscriber_count(self, tag):
        return tag.subscriber_total


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    """Segments to send an issue to, and test audiences for its test copies."""

    form = AudienceForm
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name"]
    readonly_fields = ["recipients_now"]

    def get_fields(self, request, obj=None):
        fields = ["name", "kind", "tags", "signup_sources", "testers"]
        return fields if obj is None else [*fields, "recipients_now"]

    @admin.display(description="who gets an issue now")
    def recipients_now(self, audience):
        if audience.is_test:
            return f"Test copies only: {audience.testers.count()} staff"
        count = Subscriber.objects.recipients(audience).count()
        return f"{count} confirmed subscriber{'s' if count != 1 else ''}"


def preview_csp():
    """The site's policy, except that the admin page may frame the preview, and the preview
    itself runs sandboxed (no script, no form, no same-origin access) whatever an issue holds.
    Images may come from any https host, as they would in the subscriber's mail client, and the
    email's own inline styles apply (mail clients need them; the sandbox runs no script)."""
    return {
        **settings.SECURE_CSP,
        "img-src": [CSP.SELF, "data:", "https:"],
        "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
        "frame-ancestors": [CSP.SELF],
        "sandbox": True,
    }


@admin.register(Issue)
class IssueAdmin(SafeChangeListMixin, admin.ModelAdmin):
    list_display = [
        "subject",
        "status",
        "audience",
        "scheduled_for",
        "started_at",
        "finished_at",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["audience"]
    search_fields = ["subject"]
    date_hierarchy = "created_at"
    fields = [
        "subject",
        "body",
        "audience",
        "status",
        "scheduled_for",
        "started_at",
        "finished_at",
        "created_by",
    ]
    readonly_fields = ["status", "scheduled_for", "started_at", "finished_at", "created_by"]
    # The issue's own page is this admin page; the email itself is under "Preview".
    view_on_site = False

    def get_fields(self, request, obj=None):
        return ["subject", "body", "audience"] if obj is None else self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("audience", "created_by")

    # Once sending has begun the issue is a record of what went out: read it, no more edits.
    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        # The bulk delete would not ask each issue whether it went out already.
        actions = super().get_actions(request, action_location=action_location)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            obj.save()
        elif not services.issue_update(issue=obj):
            self.message_user(
                request,
                "This issue started sending before your changes were saved; they were not saved.",
                messages.ERROR,
            )

    def response_add(self, request, obj, post_url_continue=None):
        # The issue's page is where it is previewed, tested and sent: go there next.
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            request.POST = request.POST.copy()
            request.POST["_continue"] = "1"
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        preview = xframe_options_sameorigin(csp_override(preview_csp())(self.preview_view))
        return [
            admin_page_path(self, "<path:object_id>/preview/", preview, "preview"),
            admin_page_path(
                self, "<path:object_id>/send-test/", require_POST(self.send_test_view), "send_test"
            ),
            admin_page_path(self, "<path:object_id>/send/", require_POST(self.send_view), "send"),
            admin_page_path(
                self, "<path:object_id>/cancel/", require_POST(self.cancel_view), "cancel"
            ),
            *super().get_urls(),
        ]

    def _issue(self, request, object_id, *, change=False) -> Issue:
        return admin_page_object(
            self, request, object_id, permission="change" if change else "view"
        )

    def _change_url(self, issue):
        return reverse("admin:newsletter_issue_change", args=[issue.pk])

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self.sending_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def sending_context(self, request, issue) -> dict:
        """What the issue page shows besides the form: the live state, the preview, the test,
        the send."""
        can_change = self.has_change_permission(request)
        can_send = issue.is_editable and can_change
        message = build_message(issue, 0, request.user.email)
        nearby = scheduling.too_soon(issue) if can_send else None
        return {
            "counts": selectors.issue_counts(issue),
            "preview_url": reverse("admin:newsletter_issue_preview", args=[issue.pk]),
            "preview_text": message.text,
            "can_send": can_send,
            "can_send_test": can_change,
            "send_test_form": IssueSendTestForm(prefix="test", user=request.user),
            "nearby_issue": nearby,
            "min_days": scheduling.MIN_DAYS_BETWEEN_ISSUES,
            "send_form": IssueSendForm(
                prefix="send", initial={"scheduled_for": issue.scheduled_for}
            ),
            "recipient_count": (
                Subscriber.objects.recipients(issue.audience).count() if can_send else None
            ),
        }

    def preview_view(self, request, object_id):
        """The email's HTML as the subscriber will get it, as a page of its own (framed by the
        issue page)."""
        issue = self._issue(request, object_id)
        message = build_message(issue, 0, request.user.email or "preview@example.org")
        return HttpResponse(message.html)

    def send_test_view(self, request, object_id):
        """A test copy to the staff member, or to a test audience: nothing is recorded, the
        issue is not sent."""
        issue = self._issue(request, object_id, change=True)
        form = IssueSendTestForm(request.POST, prefix="test", user=request.user)
        if not form.is_valid():
            self.message_user(request, "Choose whom to send the test to.", messages.ERROR)
            return redirect(self._change_url(issue))
        recipients = form.recipients(request.user)
        if not recipients:
            self.message_user(
                request,
                "Nobody in this test audience has an email address."
                if form.cleaned_data["audience"]
                else "Your account has no email address.",
                messages.ERROR,
            )
        else:
            try:
                services.issue_send_test(issue=issue, recipients=recipients)
            except (smtplib.SMTPException, OSError) as error:
                self.message_user(request, f"The test could not be sent: {error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"A test copy (subject starting “[Test]”) is on its way to "
                    f"{', '.join(recipients)}.",
                    messages.SUCCESS,
                )
        return redirect(self._change_url(issue))

    def send_view(self, request, object_id):
        """Send now or schedule, after a page that says how many will get it and, within 28
        days of another issue, asks to confirm that too (we promise less than one a month).
        Only the POST from that page (``confirmed``) sends or schedules."""
        issue = self._issue(request, object_id, change=True)
        form = IssueSendForm(request.POST, prefix="send")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return redirect(self._change_url(issue))
        schedule = "_schedule" in request.POST
        if not schedule and "_send_now" not in request.POST:
            self.message_user(request, "Choose “Send now” or “Schedule”.", messages.ERROR)
            return redirect(self._change_url(issue))
        when = form.cleaned_data["scheduled_for"]
        if schedule and (when is None or when <= timezone.now()):
            self.message_user(
                request, "Choose a time in the future to schedule it.", messages.ERROR
            )
            return redirect(self._change_url(issue))
        if request.POST.get("confirmed") != "yes":
            return self.send_confirmation(request, issue, form, when=when if schedule else None)
        confirm = form.cleaned_data["confirm_too_soon"]
        try:
            if schedule:
                scheduling.issue_schedule(issue=issue, when=when, confirm_too_soon=confirm)
                self.message_user(
                    request,
                    f"Scheduled: it goes out on {date_format(timezone.localtime(when), 'j F Y')} "
                    f"at {timezone.localtime(when):%H:%M}.",
                    messages.SUCCESS,
                )
            else:
                issue = scheduling.issue_send_start(issue_id=issue.pk, confirm_too_soon=confirm)
                self.message_user(
                    request,
                    "Sending has started. The counts below show how far it has got: reload the "
                    "page to update them.",
                    messages.SUCCESS,
                )
        except scheduling.SendError as error:
            self.message_user(request, str(error), messages.ERROR)
        return redirect(self._change_url(issue))

    def send_confirmation(self, request, issue, form, *, when):
        """The page before "Send now" or "Schedule" (``when``) goes ahead: how many will get it,
        and any issue going out within 28 days of it. It posts back with ``confirmed``."""
        if not issue.is_editable:
            self.message_user(
                request,
                f"This issue is {issue.get_status_display().lower()} already.",
                messages.ERROR,
            )
            return redirect(self._change_url(issue))
        count = Subscriber.objects.recipients(issue.audience).count()
        return admin_page(
            self,
            request,
            "admin/newsletter/issue/send_confirmation.html",
            title=f"Schedule “{issue}”?" if when else f"Send “{issue}” now?",
            original=issue,
            when=when,
            scheduled_for_value=request.POST.get("send-scheduled_for", ""),
            recipient_count=count,
            nearby_issue=scheduling.too_soon(issue, when),
            min_days=scheduling.MIN_DAYS_BETWEEN_ISSUES,
            send_form=form,
            back_url=self._change_url(issue),
        )

    def cancel_view(self, request, object_id):
        """Take a scheduled issue back to draft; it can be scheduled again."""
        issue = self._issue(request, object_id, change=True)
        try:
            scheduling.issue_schedule_cancel(issue_id=issue.pk)
        except scheduling.SendError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                "The schedule is cancelled: the issue is a draft again, to send or schedule "
                "when you are ready.",
                messages.SUCCESS,
            )
        return redirect(self._change_url(issue))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Who got which issue, and what went wrong for those who did not: for reading only."""

    list_display = ["issue", "subscriber", "status", "attempts", "sent_at", "error"]
    list_filter = ["status", "issue"]
    search_fields = ["subscriber__email"]
    list_select_related = ["issue", "subscriber"]
