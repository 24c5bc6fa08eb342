import json

from django.db.models import Prefetch
from django.utils.safestring import mark_safe
from django.views.generic import DetailView, TemplateView

from procedures.models import Category, Figure, ImagingModality, Procedure


def with_first_figures(procedures):
    """``procedures`` with their figures in one more query, for the cards' thumbnails."""
    return procedures.prefetch_related(
        Prefetch("figures", queryset=Figure.objects.only("procedure", "image", "order"))
    )


class ProcedureIndexView(TemplateView):
    """Published procedures grouped by category, optionally only those one modality guides."""

    template_name = "procedures/index.html"

    def get_context_data(self, **kwargs):
        modalities = list(ImagingModality.objects.all())
        wanted = self.request.GET.get("guidance", "")
        selected = next((m for m in modalities if m.slug == wanted), None)
        procedures = with_first_figures(Procedure.objects.published().for_listing())
        if selected:
            procedures = procedures.guided_by(selected.slug)
        by_category = {}
        for procedure in procedures.order_by("title"):
            by_category.setdefault(procedure.category_id, []).append(procedure)
        categories = [
            (category, by_category[category.pk])
            for category in Category.objects.all()
            if category.pk in by_category
        ]
        return super().get_context_data(
            modalities=modalities,
            selected_modality=selected,
            unknown_modality=bool(wanted) and selected is None,
            categories=categories,
            procedure_count=sum(len(group) for _, group in categories),
            **kwargs,
        )


class CategoryDetailView(DetailView):
    template_name = "procedures/category_detail.html"
    context_object_name = "category"

    def get_queryset(self):
        return Category.objects.all()

    def get_context_data(self, **kwargs):
        procedures = with_first_figures(
            Procedure.objects.published().in_category(self.object).for_listing().order_by("title")
        )
        return super().get_context_data(procedures=procedures, **kwargs)


class ProcedureDetailView(DetailView):
    """A procedure page. Drafts exist only for staff, who see them as a preview."""

    template_name = "procedures/procedure_detail.html"
    context_object_name = "procedure"

    def get_queryset(self):
        return (
            Procedure.objects.visible_to(self.request.user)
            .select_related("category")
            .prefetch_related("guidance", "figures", "related__category", "image_stacks")
        )

    def get_context_data(self, **kwargs):
        procedure = self.object
        related = [p for p in procedure.related.all() if p.is_published]
        related.sort(key=lambda p: p.title)
        return super().get_context_data(
            related=related,
            json_ld=_json_ld(self.request, procedure),
            **kwargs,
        )


def _json_ld(request, procedure) -> str:
    """schema.org MedicalProcedure, safe to place inside a <script> element."""
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalProcedure",
        "name": procedure.title,
        "alternateName": [procedure.abbreviation, *procedure.other_names]
        if procedure.abbreviation
        else procedure.other_names,
        "description": procedure.summary,
        "url": request.build_absolute_uri(procedure.get_absolute_url()),
        "procedureType": "https://schema.org/PercutaneousProcedure",
    }
    if procedure.last_reviewed:
        data["lastReviewed"] = procedure.last_reviewed.isoformat()
    text = json.dumps(data, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return mark_safe(text)  # noqa: S308 (JSON with <, > and & escaped)
