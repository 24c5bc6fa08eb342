from django import template

from courses.models import Module

register = template.Library()


@register.inclusion_tag("courses/includes/modules_teaching.html")
def modules_teaching(procedure):
    """ "Learn more in these modules" for a procedure page: the published modules (of published
    courses) that teach ``procedure``, in catalogue order.

    The procedure library shows this box but does not know about courses: courses provide it,
    and the procedure template loads this library.
    """
    modules = (
        Module.objects.published()
        .filter(procedures=procedure)
        .select_related("course")
        .order_by("course__order", "order")
    )
    return {"modules": list(modules)}


@register.filter
def duration_minutes(minutes) -> str:
    """45 -> "45 minutes", 90 -> "1 hour 30 minutes", 120 -> "2 hours"."""
    minutes = int(minutes or 0)
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


@register.filter
def cpd_hours(value) -> str:
    """Decimal("3.0") -> "3 CPD hours", Decimal("1.5") -> "1.5 CPD hours"."""
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} CPD hour{'' if text == '1' else 's'}"
