"""Figures: images and diagrams with their text alternative, caption and credit.

Procedure pages and lessons show figures the same way, and every image field of the site
(figures, course covers, question images) takes the same files: real images of a sensible size,
and SVG without active content.
"""

from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.template.defaultfilters import filesizeformat

MAX_FIGURE_BYTES = 5 * 1024 * 1024
SVG_NS = "{http://www.w3.org/2000/svg}"
# Drawing elements only: no script, foreignObject, use of external files, animation or style.
SVG_ELEMENTS = {
    "svg", "g", "defs", "title", "desc", "path", "rect", "circle", "ellipse", "line",
    "polyline", "polygon", "text", "tspan", "marker", "linearGradient", "radialGradient",
    "stop", "clipPath", "mask", "pattern", "symbol", "use",
}  # fmt: skip


def validate_figure_file(upload):
    if upload.size > MAX_FIGURE_BYTES:
        raise ValidationError(
            f"This file is {filesizeformat(upload.size)}; figures can be at most "
            f"{filesizeformat(MAX_FIGURE_BYTES)}."
        )
    name = upload.name.lower()
    upload.seek(0)
    try:
        if name.endswith(".svg"):
            _validate_svg(upload.read())
        else:
            _validate_raster(upload)
    finally:
        upload.seek(0)


def _validate_raster(upload):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(upload) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValidationError(
            "This file is not an image we can read (PNG, JPEG, WebP or GIF)."
        ) from error


def _validate_svg(data: bytes):
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        raise ValidationError("This SVG file is not well-formed XML.") from error
    if root.tag != f"{SVG_NS}svg":
        raise ValidationError("This file is not an SVG image.")
    for element in root.iter():
        tag = element.tag.removeprefix(SVG_NS)
        if tag not in SVG_ELEMENTS:
            raise ValidationError(f"SVG figures may not contain <{tag}> elements.")
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                raise ValidationError(
                    "SVG figures may not contain event handlers (on… attributes)."
                )
            if local == "href" and not value.startswith("#"):
                raise ValidationError("SVG figures may only link to parts of themselves.")
            if local == "style" or "url(" in value and not value.strip().startswith("url(#"):
                raise ValidationError("SVG figures may not use style attributes or external URLs.")


# Every image field of the site (procedure and lesson figures, course covers, question images).
FIGURE_VALIDATORS = [
    FileExtensionValidator(["png", "jpg", "jpeg", "webp", "gif", "svg"]),
    validate_figure_file,
]
FIGURE_HELP = "PNG, JPEG, WebP, GIF or SVG, up to 5 MB."


class FigureBase(models.Model):
    """An image or diagram with its text alternative, caption and credit, in its page's order:
    the same on a procedure page and in a lesson. Each app adds the image field (its own upload
    folder, with FIGURE_VALIDATORS) and the row it belongs to."""

    alt_text = models.CharField(
        max_length=300, help_text="What the image shows, for people who cannot see it."
    )
    caption = models.CharField(max_length=500, blank=True)
    credit = models.CharField(max_length=200, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["order", "pk"]

    def __str__(self):
        return self.caption or self.alt_text
