"""Markdown as plain text, for the text part of emails.

A mail client that shows the text part (or a reader who prefers it) should read the message, not
its markup: headings stand on lines of their own, underlined; bold and italics lose their
asterisks; a link reads "text (address)"; lists keep bullets or numbers; paragraphs are wrapped
at 72 characters, as plain-text mail has been since the terminal. Addresses are never broken,
so a long link stays one word a mail client can open.

The Markdown goes through the same pipeline and allow-list as the site's pages
(irlearn/markup.py), so the text says what the HTML part says, and nothing an editor pasted that
the HTML leaves out (a script, a style) turns up as text.
"""

import re
import textwrap
from html.parser import HTMLParser

import markdown
import nh3

from irlearn import markup

WIDTH = 72
BULLET = "- "
# Headings: "#" (and a subject above them) underlined with "=", every lower level with "-".
UNDERLINES = {1: "="}

_VOID = {"br", "hr", "img", "input", "wbr"}
_BLOCKS = {
    "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "li", "ol", "p", "pre", "table", "ul",
}  # fmt: skip
# Stands for a hard line break (<br>) while whitespace is collapsed.
_BREAK = "\x00"
_SPACE = re.compile(r"[ \t\r\n\f]+")


class _Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag, attrs):
        self.tag = tag
        self.attrs = attrs
        self.children = []


class _TreeBuilder(HTMLParser):
    """Sanitised HTML (markup's allow-list) as a tree of _Node and str."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = _Node(None, {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(_Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def markdown_to_text(
    text: str, *, base_url: str = "", heading_level: int = 1, width: int = WIDTH
) -> str:
    """``text`` (Markdown) as readable plain text. Links to a path of the site ("/procedures/")
    are written with ``base_url`` in front, so that they work from a mail client.
    ``heading_level`` is the level an editor's "#" stands for (as in markup.render_markdown):
    2 underlines it with "-", leaving "=" to a title above it."""
    rendered = markdown.markdown(text or "", extensions=markup.EXTENSIONS, output_format="html")
    clean = nh3.clean(
        rendered,
        tags=markup.ALLOWED_TAGS | {"h1"},
        attributes=markup.ALLOWED_ATTRIBUTES | {"ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
    )
    return html_to_text(clean, base_url=base_url, heading_level=heading_level, width=width)


def html_to_text(
    html: str, *, base_url: str = "", heading_level: int = 1, width: int = WIDTH
) -> str:
    """Sanitised HTML (markup's allow-list) as readable plain text (see markdown_to_text);
    ``heading_level`` is the level an <h1> stands for."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    text = _Text(base_url=base_url, shift=heading_level - 1)
    return "\n\n".join(text.blocks(builder.root, width)).strip("\n")


def heading(text: str, *, level: int = 1, width: int = WIDTH) -> str:
    """A heading as plain text: wrapped, and underlined as long as its longest line."""
    lines = _wrap(_SPACE.sub(" ", text).strip(), width) or [""]
    rule = UNDERLINES.get(level, "-") * max(len(line) for line in lines)
    return "\n".join([*lines, rule])


def _wrap(text: str, width: int, *, first: str = "", rest: str = "") -> list[str]:
    """``text`` wrapped at ``width`` (its hard breaks kept), never splitting a word or an
    address; ``first`` and ``rest`` indent the first line and the others."""
    lines = []
    for index, part in enumerate(text.split(_BREAK)):
        part = part.strip(" ")
        prefix = first if index == 0 else rest
        if not part:
            lines.append(prefix.rstrip())
            continue
        lines += textwrap.wrap(
            part,
            width=max(width, len(prefix) + 20),
            initial_indent=prefix,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _indent(block: str, first: str, rest: str) -> str:
    lines = block.split("\n")
    return "\n".join(
        [first + lines[0], *((rest + line) if line else line.rstrip() for line in lines[1:])]
    )


class _Text:
    def __init__(self, *, base_url: str, shift: int = 0):
        self.base_url = base_url.rstrip("/")
        self.shift = shift

    # Inline content: one string, whitespace collapsed, _BREAK where a line must break.

    def inline(self, node) -> str:
        if isinstance(node, str):
            return node
        tag = node.tag
        if tag == "br":
            return _BREAK
        if tag == "img":
            return node.attrs.get("alt", "")
        inner = "".join(self.inline(child) for child in node.children)
        if tag == "a":
            return self.link(inner, node.attrs.get("href", ""))
        if tag == "sup" and _is_footnote_reference(node):
            return f"[{_SPACE.sub(' ', inner).strip()}]"
        if tag in ("td", "th", "dt", "dd", "li", "p", "figcaption", "caption"):
            return " " + inner + " "
        return inner

    def link(self, text: str, href: str) -> str:
        text = _SPACE.sub(" ", text).strip()
        if not href or href.startswith("#"):
            # An anchor inside the message (a footnote): the text alone, without the back-arrow.
            return "" if text == "\u21a9" else text
        if href.startswith("/") and not href.startswith("//"):
            href = self.base_url + href
        shown = href.removeprefix("mailto:")
        if not text or text in (href, shown) or text.rstrip("/") == href.rstrip("/"):
            return shown
        return f"{text} ({shown})"

    def paragraph(self, nodes, width, *, first="", rest="") -> list[str]:
        text = _SPACE.sub(" ", "".join(self.inline(node) for node in nodes))
        lines = _wrap(text, width, first=first, rest=rest)
        return ["\n".join(lines)] if lines else []

    # Blocks: a list of strings, one per paragraph, heading or list, joined by blank lines.

    def blocks(self, node, width) -> list[str]:
        out, run = [], []
        for child in node.children:
            if isinstance(child, _Node) and child.tag in _BLOCKS:
                out += self.paragraph(run, width)
                run = []
                out += self.block(child, width)
            else:
                run.append(child)
        out += self.paragraph(run, width)
        return out

    def block(self, node, width) -> list[str]:
        tag = node.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = "".join(self.inline(child) for child in node.children).replace(_BREAK, " ")
            level = min(int(tag[1]) + self.shift, 6)
            return [heading(text, level=level, width=width)] if text.strip() else []
        if tag == "p" or tag in ("dt", "figcaption"):
            return self.paragraph(node.children, width)
        if tag == "hr":
            return ["* * *"]
        if tag == "pre":
            code = "".join(_raw_text(child) for child in node.children).strip("\n")
            return [_indent(code, "    ", "    ")] if code else []
        if tag == "blockquote":
            inner = "\n\n".join(self.blocks(node, width - 2))
            return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))]
        if tag in ("ul", "ol"):
            return self.bullets(node, width)
        if tag == "dd":
            inner = "\n\n".join(self.blocks(node, width - 4))
            return [_indent(inner, "    ", "    ")] if inner else []
        if tag == "table":
            return self.table(node, width)
        # div, figure, dl, li out of a list: their children in turn.
        return self.blocks(node, width)

    def bullets(self, node, width) -> list[str]:
        items = [child for child in node.children if isinstance(child, _Node) and child.tag == "li"]
        try:
            number = int(node.attrs.get("start") or 1)
        except ValueError:
            number = 1
        # Markdown makes a list loose (paragraphs in its items) when its items stand apart.
        loose = any(
            isinstance(child, _Node) and child.tag == "p"
            for item in items
            for child in item.children
        )
        gap = "\n\n" if loose else "\n"
        rendered = []
        for item in items:
            marker = f"{number}. " if node.tag == "ol" else BULLET
            number += 1
            body = gap.join(self.blocks(item, width - len(marker)))
            rendered.append(_indent(body, marker, " " * len(marker)).rstrip())
        return [gap.join(rendered)] if rendered else []

    def table(self, node, width) -> list[str]:
        out = []
        for child in _descendants(node):
            if child.tag == "caption":
                out += self.paragraph(child.children, width)
            elif child.tag == "tr":
                cells = [
                    _SPACE.sub(" ", self.inline(cell).replace(_BREAK, " ")).strip()
                    for cell in child.children
                    if isinstance(cell, _Node) and cell.tag in ("td", "th")
                ]
                out.append(" | ".join(cells))
        return ["\n".join(out)] if out else []


def _descendants(node):
    for child in node.children:
        if isinstance(child, _Node):
            yield child
            if child.tag not in ("tr", "caption"):
                yield from _descendants(child)


def _raw_text(node) -> str:
    if isinstance(node, str):
        return node
    if node.tag == "br":
        return "\n"
    return "".join(_raw_text(child) for child in node.children)


def _is_footnote_reference(node) -> bool:
    links = [child for child in node.children if isinstance(child, _Node)]
    return (
        len(links) == 1 and links[0].tag == "a" and links[0].attrs.get("href", "").startswith("#")
    )
