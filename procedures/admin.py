from adminsortable2.admin import SortableAdminBase, SortableInlineAdminMixin
from django.contrib import admin
from django.db.models import Count

from irlearn.admin_tools import HistoryAdmin, PublishActionsMixin, SortableAdmin, preview_link
from procedures.models import Category, Figure, ImagingModality, Procedure


@admin.register(Category)
class CategoryAdmin(SortableAdmin, admin.ModelAdmin):
    list_display = ["name", "slug", "procedure_count"]
    ordering = ["order"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(procedure_total=Count("procedures"))

    @admin.display(description="procedures", ordering="procedure_total")
    def procedure_count(self, category):
        return category.procedure_total


@admin.register(ImagingModality)
class ImagingModalityAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    prepopulated_fields = {"slug": ["name"]}


class FigureInline(SortableInlineAdminMixin, admin.StackedInline):
    model = Figure
    extra = 0
    fields = ["image", "alt_text", "caption", "credit"]


@admin.register(Procedure)
class ProcedureAdmin(PublishActionsMixin, SortableAdminBase, HistoryAdmin):
    list_display = ["title", "abbreviation", "category", "status", "last_reviewed", "updated_at"]
    list_filter = ["status", "category", "guidance"]
    list_select_related = ["category"]
    search_fields = ["title", "abbreviation", "also_known_as", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["related", "image_stacks"]
    filter_horizontal = ["guidance"]
    readonly_fields = ["published_at", "preview_link"]
    inlines = [FigureInline]
    actions = ["publish", "unpublish"]
    save_on_top = True
    history_list_display = ["status"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "abbreviation",
                    "also_known_as",
                    "category",
                    "summary",
                    ("status", "published_at", "last_reviewed"),
                    "preview_link",
                ]
            },
        ),
        (
            "Sections (Markdown)",
            {
                "fields": [
                    "what_it_is",
                    "indications",
                    "contraindications",
                    "technique",
                    "guidance",
                    "imaging_guidance",
                    "image_stacks",
                    "anaesthesia",
                    "setting",
                    "setting_notes",
                    "aftercare",
                    "risks",
                    "alternatives",
                    "referral",
                ]
            },
        ),
        ("Related and sources", {"fields": ["related", "references"]}),
    ]

    @admin.display(description="preview")
    def preview_link(self, procedure):
        return preview_link(procedure, live=procedure.is_published)
