"""The newsletter in the admin, for the Subscriber managers group.

Nobody adds or edits a subscriber by hand: new addresses come in through the CSV import, which
records where their consent came from, and changes go through the actions (unsubscribe, erase),
which record consent events. Consent records are read-only for everybody. Issues are written,
previewed, test-sent and sent or scheduled here; the sending itself runs in the task worker.
"""

import csv
import smtplib

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import FileExtensionValidator
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
from irlearn.newsletter.forms import ImportForm, IssueSendForm
from irlearn.newsletter.messages import build_message
from irlearn.newsletter.models import ConsentRecord, Delivery, Issue, Subscriber

MAX_IMPORT_BYTES = 5 * 1024 * 1024


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
        return record.ip_address

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
    list_display = ["address", "status", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = ["status"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    fields = [
        "email",
        "status",
        "created_at",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "erased_at",
    ]
    readonly_fields = fields
    inlines = [ConsentRecordInline]
    actions = ["unsubscribe", "erase", "export_csv"]

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
        return record.ip_address


def preview_csp():
    """The site's policy, except that the admin page may frame the preview, and the preview
    itself runs sandboxed (no script, no form, no same-origin access) whatever an issue holds.
    Images may come from any https host, as they would in the subscriber's mail client."""
    return {
        **settings.SECURE_CSP,
        "img-src": [CSP.SELF, "data:", "https:"],
        "frame-ancestors": [CSP.SELF],
        "sandbox": True,
    }


@admin.register(Issue)
class IssueAdmin(SafeChangeListMixin, admin.ModelAdmin):
    list_display = ["subject", "status", "scheduled_for", "started_at", "finished_at", "created_at"]
    list_filter = ["status"]
    search_fields = ["subject"]
    date_hierarchy = "created_at"
    fields = [
        "subject",
        "body",
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
        return ["subject", "body"] if obj is None else self.fields

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
        """What the issue page shows besides the form: the live state, the preview, the send."""
        can_send = issue.is_editable and self.has_change_permission(request)
        message = build_message(issue, 0, request.user.email)
        return {
            "counts": selectors.issue_counts(issue),
            "preview_url": reverse("admin:newsletter_issue_preview", args=[issue.pk]),
            "preview_text": message.text,
            "can_send": can_send,
            "can_send_test": self.has_change_permission(request) and bool(request.user.email),
            "previous_issue": scheduling.too_soon(issue) if can_send else None,
            "min_days": scheduling.MIN_DAYS_BETWEEN_ISSUES,
            "send_form": IssueSendForm(
                prefix="send", initial={"scheduled_for": issue.scheduled_for}
            ),
            "subscribed_count": Subscriber.objects.subscribed().count() if can_send else None,
        }

    def preview_view(self, request, object_id):
        """The email's HTML as the subscriber will get it, as a page of its own (framed by the
        issue page)."""
        issue = self._issue(request, object_id)
        message = build_message(issue, 0, request.user.email or "preview@example.org")
        return HttpResponse(message.html)

    def send_test_view(self, request, object_id):
        issue = self._issue(request, object_id, change=True)
        if not request.user.email:
            self.message_user(request, "Your account has no email address.", messages.ERROR)
            return redirect(self._change_url(issue))
        try:
            services.issue_send_test(issue=issue, email=request.user.email)
        except (smtplib.SMTPException, OSError) as error:
            self.message_user(request, f"The test could not be sent: {error}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"A test copy (subject starting “[Test]”) is on its way to {request.user.email}.",
                messages.SUCCESS,
            )
        return redirect(self._change_url(issue))

    def send_view(self, request, object_id):
        """Send now or schedule. Either one asks for confirmation within 28 days of the last
        issue (the promise is less than one email a month)."""
        issue = self._issue(request, object_id, change=True)
        form = IssueSendForm(request.POST, prefix="send")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    self.message_user(request, error, messages.ERROR)
            return redirect(self._change_url(issue))
        confirm = form.cleaned_data["confirm_too_soon"]
        when = form.cleaned_data["scheduled_for"]
        try:
            if "_schedule" in request.POST:
                if when is None or when <= timezone.now():
                    self.message_user(
                        request, "Choose a time in the future to schedule it.", messages.ERROR
                    )
                    return redirect(self._change_url(issue))
                scheduling.issue_schedule(issue=issue, when=when, confirm_too_soon=confirm)
                self.message_user(
                    request,
                    f"Scheduled: it goes out on {date_format(timezone.localtime(when), 'j F Y')} "
                    f"at {timezone.localtime(when):%H:%M}.",
                    messages.SUCCESS,
                )
            elif "_send_now" in request.POST:
                issue = scheduling.issue_send_start(issue_id=issue.pk, confirm_too_soon=confirm)
                self.message_user(
                    request,
                    "Sending has started. The counts below show how far it has got: reload the "
                    "page to update them.",
                    messages.SUCCESS,
                )
            else:
                self.message_user(request, "Choose “Send now” or “Schedule”.", messages.ERROR)
        except scheduling.SendError as error:
            self.message_user(request, str(error), messages.ERROR)
        return redirect(self._change_url(issue))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """Who got which issue, and what went wrong for those who did not: for reading only."""

    list_display = ["issue", "subscriber", "status", "attempts", "sent_at", "error"]
    list_filter = ["status", "issue"]
    search_fields = ["subscriber__email"]
    list_select_related = ["issue", "subscriber"]
