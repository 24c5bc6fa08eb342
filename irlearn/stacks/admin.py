from django.contrib import admin, messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from irlearn.admin_tools import pk_or_404
from irlearn.stacks.forms import ImageStackForm
from irlearn.stacks.models import ImageStack
from irlearn.stacks.services import stack_delete, stack_process_start


@admin.register(ImageStack)
class ImageStackAdmin(admin.ModelAdmin):
    form = ImageStackForm
    list_display = ["title", "modality", "status_label", "slice_count", "is_synthetic",
                    "processed_at"]  # fmt: skip
    list_filter = ["status", "modality", "is_synthetic"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["processing", "report", "placing"]
    actions = ["process_again"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "modality",
                    "plane",
                    "description",
                    "credit",
                    "source",
                    "is_synthetic",
                ]
            },
        ),  # fmt: skip
        (
            "Images",
            {
                "fields": [
                    "source_file",
                    "window_keys",
                    "burned_in_checked",
                    "processing",
                    "report",
                    "placing",
                ],  # fmt: skip
                "description": "How to make a case: see 'Image stacks' in the README. Export one "
                "series from the PACS or viewer as DICOM (a zip of its files, or one "
                "multi-frame file), or save ultrasound frames as numbered PNG or JPEG files and "
                "zip them. Headers are de-identified and deleted; look at the images yourself "
                "for names or numbers written into them.",
            },
        ),
    ]

    class Media:
        css = {"all": ["stacks/admin.css"]}
        js = ["stacks/admin-status.js"]

    @admin.display(description="status", ordering="status")
    def status_label(self, stack):
        if stack.stalled:
            return "Stalled"
        return stack.get_status_display()

    @admin.display(description="processing")
    def processing(self, stack):
        if not stack.pk:
            return "Processed in the background once saved."
        return render_to_string(
            "admin/stacks/processing.html",
            {
                "stack": stack,
                "status_url": reverse("admin:stacks_imagestack_status", args=[stack.pk]),
            },
        )

    @admin.display(description="de-identification report")
    def report(self, stack):
        if not stack.deidentification_report:
            return "–"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{}</li>", ((line,) for line in stack.deidentification_report)
            ),
        )

    @admin.display(description="place it")
    def placing(self, stack):
        if not stack.pk:
            return "–"
        return format_html(
            "In a lesson, a line of its own: <code>[[stack:{}]]</code>. On a procedure page: its "
            "'Image stacks' field. In a question: its 'Stem stack' field.",
            stack.slug,
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="stacks_imagestack_status",
            ),
            *super().get_urls(),
        ]

    def status_view(self, request, object_id):
        stack = get_object_or_404(ImageStack, pk=pk_or_404(ImageStack, object_id))
        if not self.has_view_permission(request, stack):
            return JsonResponse({"error": "forbidden"}, status=403)
        return JsonResponse(
            {
                "status": stack.status,
                "label": "Stalled" if stack.stalled else stack.get_status_display(),
                "done": stack.progress_done,
                "total": stack.progress_total,
                "finished": stack.status in (ImageStack.State.READY, ImageStack.State.FAILED)
                or stack.stalled,
            }
        )

    def save_model(self, request, obj, form, change):
        new_upload = "source_file" in form.changed_data and obj.source_file
        confirmed = "burned_in_checked" in form.changed_data and obj.burned_in_checked
        super().save_model(request, obj, form, change)
        if new_upload or (confirmed and obj.source_file and obj.status == obj.State.FAILED):
            stack_process_start(stack=obj)
            messages.info(
                request,
                f"“{obj}” is being processed in the background; this page shows its progress.",
            )

    def delete_model(self, request, obj):
        stack_delete(stack=obj)

    def delete_queryset(self, request, queryset):
        for stack in queryset:
            stack_delete(stack=stack)

    @admin.action(description="Process again (stacks whose upload is still here)")
    def process_again(self, request, queryset):
        started = 0
        for stack in queryset.exclude(source_file=""):
            if stack.status != stack.State.PROCESSING or stack.stalled:
                stack_process_start(stack=stack)
                started += 1
        skipped = queryset.count() - started
        if started:
            self.message_user(request, f"{started} stack(s) queued for processing.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} stack(s) skipped: already processing, or their upload was deleted "
                "after processing (upload the files again to re-process).",
                messages.WARNING,
            )
