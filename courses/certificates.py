"""Certificates as PDF: fpdf2 (pure Python) with embedded DejaVu fonts, so any learner's name
prints, the IRLearn mark drawn as vector shapes, and a QR code (segno) of the public
verification page drawn as vector squares.

Also the small facts the certificate pages share: how a typed code is read, and what a learner
can do with their CPD hours (``cpd_records``)."""

import re
from pathlib import Path

import segno
from django.utils.formats import date_format
from fpdf import FPDF

from courses.templatetags.courses import cpd_hours

FONTS = Path(__file__).resolve().parent / "fonts"
# The site's palette (static/css/site.css): ink, the brand teal, its pale tint, the amber accent.
INK = (19, 35, 45)
SOFT = (59, 77, 89)
TEAL = (11, 92, 122)
TEAL_DARK = (7, 62, 83)
TINT = (240, 247, 250)
AMBER = (255, 209, 102)
WHITE = (255, 255, 255)

_CODE_CHARACTERS = re.compile(r"[^0-9A-Z]")


def normalise_code(typed: str) -> str:
    """A code as typed or pasted ("7kq4 m2xd 9rta", "7KQ4M2XD9RTA") in its printed form,
    7KQ4-M2XD-9RTA; anything else comes back upper-cased, to match nothing."""
    letters = _CODE_CHARACTERS.sub("", typed.upper())
    if len(letters) == 12:
        return f"{letters[:4]}-{letters[4:8]}-{letters[8:]}"
    return typed.strip().upper()


def cpd_records(certificate) -> list[dict]:
    """Where the learner can record this certificate's CPD hours, as links ({"label", "url"}).

    None yet: IRLearn is not linked to any CPD scheme or portfolio, so the course complete page
    offers no such button. When it is, return the scheme's link here; the page shows it.
    """
    return []


def _logo(pdf, *, left, top, size):
    """The IRLearn mark (static/img/logo.svg), drawn: a teal tile, a white ring, an amber
    needle to its centre."""
    scale = size / 32
    pdf.set_fill_color(*TEAL)
    pdf.rect(left, top, size, size, style="F", round_corners=True, corner_radius=7 * scale)
    pdf.set_draw_color(*WHITE)
    pdf.set_line_width(2.5 * scale)
    pdf.circle(left + 16 * scale, top + 16 * scale, 9 * scale, style="D")
    pdf.set_draw_color(*AMBER)
    pdf.set_line_width(3 * scale)
    with pdf.local_context(stroke_cap_style="round"):
        pdf.line(left + 6 * scale, top + 26 * scale, left + 16 * scale, top + 16 * scale)
    pdf.set_fill_color(*AMBER)
    pdf.circle(left + 16 * scale, top + 16 * scale, 2.5 * scale, style="F")


def _qr(pdf, url, *, left, top, size):
    qr = segno.make(url, error="m")
    matrix = list(qr.matrix_iter(scale=1, border=0))
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                # Slight overlap so no hairline gaps appear between squares when printed.
                pdf.rect(left + col * module, top + row * module, module + 0.02, module + 0.02, "F")


def certificate_pdf_bytes(certificate, *, verify_url: str) -> bytes:
    """A one-page A4 landscape certificate of completion."""
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Certificate of completion: {certificate.course_title}")
    pdf.set_author("IRLearn")
    pdf.set_subject(f"Certificate {certificate.code}")
    pdf.set_lang("en-GB")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.add_font("DejaVuSerif", "B", FONTS / "DejaVuSerif-Bold.ttf")
    pdf.set_auto_page_break(False)
    pdf.set_margins(30, 20, 30)
    pdf.add_page()
    width, height = pdf.w, pdf.h

    # The frame: a pale field inside a teal rule, with a fine amber rule inside that.
    pdf.set_fill_color(*TINT)
    pdf.rect(8, 8, width - 16, height - 16, style="F")
    pdf.set_draw_color(*TEAL)
    pdf.set_line_width(1.4)
    pdf.rect(8, 8, width - 16, height - 16)
    pdf.set_draw_color(*AMBER)
    pdf.set_line_width(0.5)
    pdf.rect(12, 12, width - 24, height - 24)

    # The masthead: the mark and the name.
    _logo(pdf, left=22, top=21, size=14)
    pdf.set_xy(40, 21.5)
    pdf.set_font("DejaVu", "B", 17)
    pdf.set_text_color(*TEAL_DARK)
    pdf.cell(0, 7, "IRLearn", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(*SOFT)
    pdf.cell(0, 5.5, "Interventional radiology e-learning")

    def centred(text, *, y, font="DejaVu", style="", size, colour=INK, spacing=0.0):
        pdf.set_y(y)
        pdf.set_font(font, style, size)
        pdf.set_text_color(*colour)
        pdf.set_char_spacing(spacing)
        pdf.multi_cell(0, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_char_spacing(0)
        return pdf.get_y()

    centred("CERTIFICATE OF COMPLETION", y=50, style="B", size=13, colour=TEAL, spacing=2.2)
    centred("This certifies that", y=66, size=12, colour=SOFT)
    # Long names and titles take a smaller size, so that two lines still clear the foot.
    name_size = 30 if len(certificate.full_name) <= 34 else 22
    bottom = centred(certificate.full_name, y=76, font="DejaVuSerif", style="B", size=name_size)
    pdf.set_draw_color(*AMBER)
    pdf.set_line_width(1.2)
    pdf.line(width / 2 - 30, bottom + 3, width / 2 + 30, bottom + 3)
    centred("has completed the e-learning course", y=bottom + 9, size=12, colour=SOFT)
    bottom = centred(
        certificate.course_title,
        y=bottom + 18,
        font="DejaVuSerif",
        style="B",
        size=20 if len(certificate.course_title) <= 60 else 15,
        colour=TEAL_DARK,
    )
    completed = date_format(certificate.completed_on, "j F Y")
    details = (
        f"{cpd_hours(certificate.cpd_hours)} · completed on {completed}"
        if certificate.cpd_hours
        else f"Completed on {completed}"
    )
    centred(details, y=max(bottom + 7, 130), size=12)

    # The foot: the QR code and where to check the certificate; IRLearn as the issuer.
    size, left, top = 30.0, 22.0, height - 22 - 30.0
    pdf.set_fill_color(*WHITE)
    pdf.rect(left - 2, top - 2, size + 4, size + 4, style="F")
    _qr(pdf, verify_url, left=left, top=top, size=size)
    pdf.set_xy(left + size + 7, top + 4)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(*INK)
    pdf.cell(0, 6.5, f"Certificate code: {certificate.code}", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(*SOFT)
    pdf.cell(0, 6, "Scan the code or check it at", new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(*TEAL)
    pdf.cell(0, 6, verify_url, link=verify_url, new_x="LEFT", new_y="NEXT")

    pdf.set_xy(width - 22 - 70, top + 10)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(*INK)
    pdf.cell(70, 6.5, "Issued by IRLearn", align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.set_text_color(*SOFT)
    pdf.cell(70, 6, f"on {date_format(certificate.issued_at, 'j F Y')}", align="R")
    return bytes(pdf.output())
