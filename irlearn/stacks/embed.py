"""Placing stacks in content: the viewer's HTML for a stack, and lesson bodies' shortcodes.

An editor writes ``[[stack:the-slug]]`` on a line of its own in a lesson's Markdown; the rendered
paragraph is replaced by the viewer when the page is shown. One query finds every stack a body
names, however many there are.
"""

import itertools
import re

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from irlearn.stacks.models import ImageStack

SHORTCODE = re.compile(r"<p>\s*\[\[stack:([-a-zA-Z0-9_]+)\]\]\s*</p>")
_ids = itertools.count(1)


def viewer_html(stack: ImageStack, *, heading_level: int = 3, mark: str = "") -> SafeString:
    """The viewer for a stack with images; for one without, nothing (learners) . ``mark``
    ("target" or "route") puts it in marking mode, for a question answered on the stack."""
    if not stack.is_showable:
        return SafeString()
    return render_to_string(
        "stacks/viewer.html",
        {
            "stack": stack,
            "uid": f"stack-{stack.pk}-{next(_ids)}",
            "heading_level": heading_level,
            "mark": mark if mark in ("target", "route") else "",
        },
    )


def slugs_in(html: str) -> list[str]:
    return SHORTCODE.findall(html or "")


def expand_shortcodes(html: str, *, show_missing: bool = False) -> SafeString:
    """``html`` (already sanitised) with each stack shortcode paragraph replaced by its viewer.

    A shortcode naming no stack, or one still processing, disappears for learners; editors
    previewing (``show_missing``) see a note saying why."""
    slugs = slugs_in(html)
    if not slugs:
        return mark_safe(html)  # noqa: S308 (the body's HTML, sanitised when it was rendered)
    stacks = {stack.slug: stack for stack in ImageStack.objects.filter(slug__in=set(slugs))}

    def replace(match):
        stack = stacks.get(match.group(1))
        if stack is not None and stack.is_showable:
            return viewer_html(stack)
        if not show_missing:
            return ""
        reason = "no such stack" if stack is None else "its images are not processed yet"
        return format_html(
            '<p class="alert alert-warning">Image stack “{}” is not shown: {}. (Only editors '
            "see this note.)</p>",
            match.group(1),
            reason,
        )

    return mark_safe(SHORTCODE.sub(replace, html))  # noqa: S308 (as above, plus our viewers)
