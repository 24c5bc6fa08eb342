"""Markdown written by editors, rendered to HTML and cleaned with an allow-list.

Editors may paste HTML into Markdown; nh3 removes anything not on the list below, so no script,
style or event handler from an editor ever reaches a page. Images are not on it: they go in as
figures, which require alt text, so no picture reaches a page without a description.

Two things are added after cleaning, so they come from us and never from an editor's HTML: each
table is wrapped in a named, focusable scroll container (a wide table scrolls on its own on a
phone instead of pushing the whole page sideways), and headings can be renumbered to nest under
the page heading the text sits beneath (``fit_under``).
"""

import html
import re

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension, slugify
from markdown.treeprocessors import Treeprocessor

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
    "h5": {"id"},
    "h6": {"id"},
}
EXTENSIONS = ["extra", "sane_lists"]
HEADINGS = {f"h{n}" for n in range(1, 7)}
# The class learning.css and site.css give the scroll container of a table.
TABLE_SCROLL_CLASS = "table-scroll"


class _FitHeadings(Treeprocessor):
    """Renumber the headings so they nest under a page heading of level ``under``: the first
    becomes h(under + 1), and none is more than one level below the heading before it. An
    editor's "##, ####, ##" under an <h2> becomes h3, h4, h3; a lone "###" under the <h1>, h2."""

    def __init__(self, md, under: int):
        super().__init__(md)
        self.under = under

    def run(self, root):
        # (the editor's level, the level given) of the headings still open above this one.
        open_headings = []
        for element in root.iter():
            if element.tag not in HEADINGS:
                continue
            level = int(element.tag[1])
            while open_headings and open_headings[-1][0] >= level:
                open_headings.pop()
            given = open_headings[-1][1] + 1 if open_headings else self.under + 1
            given = min(given, 6)
            open_headings.append((level, given))
            element.tag = f"h{given}"


class _TableCells(Treeprocessor):
    """Header cells name their columns (scope="col"); an empty header cell (the corner of a
    table whose first column holds row names) names nothing, so it becomes an ordinary cell."""

    def run(self, root):
        for head in root.iter("thead"):
            for cell in head.iter("th"):
                if (cell.text or "").strip() or len(cell):
                    cell.set("scope", "col")
                else:
                    cell.tag = "td"


class _Headings(Extension):
    def __init__(self, under):
        super().__init__()
        self.under = under

    def extendMarkdown(self, md):
        # After the table of contents (priority 5) has given the headings their ids.
        if self.under is not None:
            md.treeprocessors.register(_FitHeadings(md, self.under), "fit_headings", 4)
        md.treeprocessors.register(_TableCells(md), "table_cells", 3)


_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>")
_HEADER_CELL = re.compile(r"<th\b[^>]*>(.*?)</th>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _table_name(table_html: str, number: int) -> str:
    """A table's accessible name: its caption, else its column headings, with its number."""
    caption = re.search(r"<caption>(.*?)</caption>", table_html, re.DOTALL)
    if caption:
        words = html.unescape(_TAG.sub("", caption.group(1)))
    else:
        head = table_html.split("</tr>", 1)[0]
        headings = [
            html.unescape(_TAG.sub("", cell)).strip() for cell in _HEADER_CELL.findall(head)
        ]
        words = ", ".join(h for h in headings if h)
    words = " ".join(words.split())
    if len(words) > 80:
        words = words[:79].rstrip() + "…"
    return f"Table {number}: {words}" if words else f"Table {number}"


def _wrap_tables(cleaned: str) -> str:
    """Put each outermost table of ``cleaned`` (nh3's output) in a scroll container that the
    keyboard can reach and scroll, named after the table for screen readers."""
    if "<table" not in cleaned:
        return cleaned
    parts, depth, start, number, position = [], 0, 0, 0, 0
    for tag in _TABLE_TAG.finditer(cleaned):
        closing = tag.group(1) == "/"
        if not closing:
            if depth == 0:
                start = tag.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                number += 1
                table = cleaned[start : tag.end()]
                name = html.escape(_table_name(table, number), quote=True)
                parts.append(cleaned[position:start])
                parts.append(
                    f'<div class="{TABLE_SCROLL_CLASS}" role="region" tabindex="0" '
                    f'aria-label="{name}">{table}</div>'
                )
                position = tag.end()
    parts.append(cleaned[position:])
    return "".join(parts)


def render_markdown(
    text: str, *, heading_level: int = 1, id_prefix: str = "", fit_under: int | None = None
) -> str:
    """Return safe HTML for ``text`` (Markdown). The result may be marked safe in templates.

    ``heading_level`` is what an editor's "#" becomes: text placed under a heading of the page
    passes the level below it, so the editor's headings nest inside the page's. ``fit_under``,
    the level of the page heading the text sits under, goes further: whatever levels the editor
    chose, their first heading becomes the level below it and none skips a level (a "###"
    straight under the page's <h1> becomes <h2>), so the page's outline has no gaps.
    ``id_prefix`` keeps the ids of those headings apart from the page's own anchors and from
    other fields rendered onto the same page.
    """
    toc = TocExtension(
        baselevel=heading_level,
        slugify=lambda value, separator: separator.join(
            part for part in (id_prefix, slugify(value, separator)) if part
        ),
    )
    html_text = markdown.markdown(
        text or "",
        extensions=[*EXTENSIONS, toc, _Headings(fit_under)],
        output_format="html",
    )
    cleaned = nh3.clean(
        html_text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return _wrap_tables(cleaned)


class MarkdownBodyMixin:
    """For a model with ``body`` (Markdown) and ``body_html``: the rendered copy is part of the
    row, derived from ``body``, and saved with it so the two never disagree.

    ``markdown_heading_level`` is passed on as ``heading_level``; ``markdown_fit_under``, when
    set, as ``fit_under`` (see render_markdown)."""

    markdown_heading_level = 1
    markdown_fit_under = None

    def save(self, *args, **kwargs):
        self.body_html = render_markdown(
            self.body,
            heading_level=self.markdown_heading_level,
            fit_under=self.markdown_fit_under,
        )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)
