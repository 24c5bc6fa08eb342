"""What the home page shows of the procedure library: its categories, each with an icon and the
number of published procedures, and a few procedures with their diagrams.

The home page belongs to irlearn/pages, which may not import this app: the library provides
these sections as inclusion tags, and the home template loads this library.
"""

from django import template
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, prefetch_related_objects

from irlearn.content import Status
from procedures.models import Category, Figure, Procedure

register = template.Library()

# An icon of our own for each demo category (static/img/categories/<slug>.svg); a category an
# editor adds later gets the general one until it has its own.
CATEGORY_ICONS = {
    "gastrointestinal",
    "hepatobiliary",
    "genitourinary",
    "musculoskeletal",
    "interventional-oncology",
    "image-guided",
    "vascular",
    "venous",
    "neurointerventional",
}
FEATURED_COUNT = 3


def category_icon(slug: str) -> str:
    """The static path of a category's icon."""
    return f"img/categories/{slug if slug in CATEGORY_ICONS else 'general'}.svg"


@register.inclusion_tag("procedures/includes/home_categories.html")
def home_categories():
    """The categories that hold published procedures, in the editors' order, with their counts:
    one query."""
    categories = Category.objects.annotate(
        published_total=Count("procedures", filter=Q(procedures__status=Status.PUBLISHED))
    ).filter(published_total__gt=0)
    return {
        "categories": [(category, category_icon(category.slug)) for category in categories],
    }


@register.inclusion_tag("procedures/includes/home_featured.html")
def home_featured():
    """A few published procedures that have a figure, from different categories in the editors'
    order (the first of each by title), each shown with its first figure and its imaging
    guidance: three queries (the procedures with their categories, their guidance, figures)."""
    with_figure = Exists(Figure.objects.filter(procedure=OuterRef("pk")))
    candidates = (
        Procedure.objects.published()
        .filter(with_figure)
        .select_related("category")
        .only("title", "slug", "abbreviation", "summary", "status", "category")
        .order_by("category__order", "category__name", "title")
    )
    chosen, seen = [], set()
    for procedure in candidates.iterator():
        if procedure.category_id not in seen:
            seen.add(procedure.category_id)
            chosen.append(procedure)
            if len(chosen) == FEATURED_COUNT:
                break
    prefetch_related_objects(
        chosen, "guidance", Prefetch("figures", queryset=Figure.objects.order_by("order", "pk"))
    )
    return {"procedures": chosen}


@register.filter(name="category_icon")
def category_icon_filter(category) -> str:
    """{{ category|category_icon }}: the static path of its icon, for {% static %}."""
    return category_icon(category.slug)
