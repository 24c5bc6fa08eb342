"""Markdown written by editors, rendered to HTML and cleaned with an allow-list.

Editors may paste HTML into Markdown; nh3 removes anything not on the list below, so no script,
style or event handler from an editor ever reaches a page. Images are not on it: they go in as
figures, which require alt text, so no picture reaches a page without a description.
"""

import markdown
import nh3
from markdown.extensions.toc import TocExtension, slugify

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol",
    "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
}
EXTENSIONS = ["extra", "sane_lists"]


def render_markdown(text: str, *, heading_level: int = 1, id_prefix: str = "") -> str:
    """Return safe HTML for ``text`` (Markdown). The result may be marked safe in templates.

    ``heading_level`` is what an editor's "#" becomes: text placed under a heading of the page
    passes the level below it, so the editor's headings nest inside the page's. ``id_prefix``
    keeps the ids of those headings apart from the page's own anchors and from other fields
    rendered onto the same page.
    """
    toc = TocExtension(
        baselevel=heading_level,
        slugify=lambda value, separator: separator.join(
            part for part in (id_prefix, slugify(value, separator)) if part
        ),
    )
    html = markdown.markdown(text or "", extensions=[*EXTENSIONS, toc], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


class MarkdownBodyMixin:
    """For a model with ``body`` (Markdown) and ``body_html``: the rendered copy is part of the
    row, derived from ``body``, and saved with it so the two never disagree."""

    markdown_heading_level = 1

    def save(self, *args, **kwargs):
        self.body_html = render_markdown(self.body, heading_level=self.markdown_heading_level)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)
