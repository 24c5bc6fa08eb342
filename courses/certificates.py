"""Certificates as PDF: fpdf2 (pure Python) with an embedded DejaVu font, so any learner's
name prints, and a QR code (segno) of the public verification page drawn as vector squares."""

from pathlib import Path

import segno
from django.utils.formats import date_format
from fpdf import FPDF

from courses.templatetags.courses import cpd_hours

FONTS = Path(__file__).resolve().parent / "fonts"
INK = (27, 37, 48)
ACCENT = (11, 92, 122)
MUTED = (80, 90, 100)


def certificate_pdf_bytes(certificate, *, verify_url: str) -> bytes:
    """A one-page A4 landscape certificate of completion."""
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_title(f"Certificate of completion: {certificate.course_title}")
    pdf.set_author("IRLearn")
    pdf.set_subject(f"Certificate {certificate.code}")
    pdf.set_lang("en-GB")
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    width = pdf.w

    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, pdf.h - 20)

    def line(text, *, size, style="", colour=INK, y=None, height=None):
        if y is not None:
            pdf.set_y(y)
        pdf.set_font("DejaVu", style, size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(
            width - 60, height or size * 0.55, text, align="C", new_x="LMARGIN", new_y="NEXT"
        )

    pdf.set_left_margin(30)
    line("IRLearn", size=16, style="B", colour=ACCENT, y=28)
    line("Certificate of completion", size=30, style="B", y=42)
    line("This certifies that", size=13, colour=MUTED, y=66)
    line(certificate.full_name, size=26, style="B", y=76)
    line("has completed the e-learning course", size=13, colour=MUTED, y=96)
    line(certificate.course_title, size=20, style="B", y=106)
    details = (
        f"{cpd_hours(certificate.cpd_hours)} · completed on "
        f"{date_format(certificate.completed_on, 'j F Y')}"
    )
    line(details, size=13, y=128)

    qr = segno.make(verify_url, error="m")
    size, left, top = 38.0, 30.0, pdf.h - 30 - 38.0
    matrix = list(qr.matrix_iter(scale=1, border=0))
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                # Slight overlap so no hairline gaps appear between squares when printed.
                pdf.rect(left + col * module, top + row * module, module + 0.02, module + 0.02, "F")

    pdf.set_xy(left + size + 8, top + 6)
    pdf.set_font("DejaVu", "B", 12)
    pdf.set_text_color(*INK)
    pdf.cell(0, 7, f"Certificate code: {certificate.code}", new_x="LEFT", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 7, "Check it at", new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 7, verify_url, link=verify_url, new_x="LEFT", new_y="NEXT")
    return bytes(pdf.output())
