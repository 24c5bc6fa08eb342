from django import template

from irlearn.stacks.embed import expand_shortcodes, viewer_html

register = template.Library()


@register.simple_tag
def stack_viewer(stack, mark=""):
    """{% stack_viewer stack %}: the scrollable viewer, or nothing if it has no images yet.

    ``mark="target"`` or ``mark="route"``: in marking mode, for a question answered on the
    stack inside a form (clicks and the keyboard's Enter place marks in its hidden inputs)."""
    return viewer_html(stack, mark=mark) if stack is not None else ""


@register.simple_tag(takes_context=True)
def with_stacks(context, html):
    """{% with_stacks lesson.body_html %}: the body with its [[stack:…]] shortcodes shown."""
    request = context.get("request")
    return expand_shortcodes(html, show_missing=bool(request and request.user.is_staff))
