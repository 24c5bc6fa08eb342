"""Absolute addresses for a page's <link rel="canonical"> and OpenGraph tags, built from the
request, so each deployment (and each test server) names itself."""

from django import template
from django.core.exceptions import DisallowedHost
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def absolute_url(context, path=None):
    """The absolute address of ``path`` (a URL such as a figure's), or of this page without
    its query string when no path is given."""
    request = context.get("request")
    if request is None:
        return ""
    try:
        return request.build_absolute_uri(request.path if path is None else path)
    except DisallowedHost:
        # The 400 page for a request with a host we do not serve: name no address at all.
        return ""


class CaptureNode(template.Node):
    def __init__(self, nodelist, name):
        self.nodelist = nodelist
        self.name = name

    def render(self, context):
        # Rendered once, blocks and all; the (already escaped) text goes into the context.
        context[self.name] = mark_safe(self.nodelist.render(context).strip())  # noqa: S308
        return ""


@register.tag
def capture(parser, token):
    """{% capture name %}...{% endcapture %}: render the contents (which may hold {% block %}s)
    once, into ``name``, so the page title can fill <title> and og:title alike."""
    try:
        _tag, name = token.split_contents()
    except ValueError:
        raise template.TemplateSyntaxError("{% capture %} takes one name.") from None
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, name)
