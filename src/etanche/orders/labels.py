"""Tube labels: one 50 x 25 mm page per specimen, for a thermal label printer.

What a tube carries follows identity-vigilance practice in French labs (RNIV):
birth name in capitals, used name when it differs, first name, date of birth,
sex, the request number, the specimen's Code 128 barcode (its id only: the
barcode holds nothing about the person) with its digits, the container, the
collection date and time and who collected it, and URGENT, white on black, on
an urgent request. A label printed before sampling leaves date, time and
collector blank, to be written by hand.

Text is set in DejaVu Sans Condensed, shipped in data/ with its licence
(data/SOURCES.md) and embedded in the PDF (a TrueType subset): every character
of a French or foreign name prints ("Ễ" was a black box in the printer's
built-in Helvetica), whatever fonts the printing machine has.

The PDF is built in memory and returned as bytes; it is never written to disk.
"""

import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.utils import timezone
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

LABEL_WIDTH = 50 * mm
LABEL_HEIGHT = 25 * mm
MARGIN = 1.5 * mm
SEX_LABELS = {"F": "F", "M": "M", "I": "I"}
FONTS = Path(__file__).resolve().parent / "data"
REGULAR, BOLD = "EtancheLabel", "EtancheLabel-Bold"


def _register_fonts() -> None:
    # Registered once per process; reportlab embeds the subset of glyphs each PDF uses.
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSansCondensed.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSansCondensed-Bold.ttf")))


@dataclass(frozen=True)
class LabelIdentity:
    birth_name: str
    used_name: str
    first_name: str
    birth_date: date | None
    sex: str


@dataclass(frozen=True)
class LabelSpecimen:
    barcode: str
    container: str  # short French label
    sampled_at: datetime | None
    collector: str  # staff name, or "" when not sampled yet
    order_number: str
    urgent: bool = False


def _fit(canvas: Canvas, text: str, font: str, size: float, width: float) -> None:
    """Shrink the font until the text fits: a cut-off name is an identification error."""
    while size > 4 and canvas.stringWidth(text, font, size) > width:
        size -= 0.25
    canvas.setFont(font, size)


def _draw(canvas: Canvas, who: LabelIdentity, spec: LabelSpecimen) -> None:
    width = LABEL_WIDTH - 2 * MARGIN
    y = LABEL_HEIGHT - MARGIN - 2.6 * mm
    name_width = width
    if spec.urgent:
        # White on black in the top right corner: seen at a glance on the rack.
        box_w = canvas.stringWidth("URGENT", BOLD, 7) + 1.6 * mm
        canvas.rect(LABEL_WIDTH - MARGIN - box_w, y - 0.9 * mm, box_w, 3.4 * mm, stroke=0,
                    fill=1)
        canvas.setFillGray(1)
        canvas.setFont(BOLD, 7)
        canvas.drawRightString(LABEL_WIDTH - MARGIN - 0.8 * mm, y, "URGENT")
        canvas.setFillGray(0)
        name_width = width - box_w - 1 * mm
    name = who.birth_name.upper()
    if who.used_name and who.used_name.upper() != name:
        name = f"{name} ép./usage {who.used_name.upper()}"
    _fit(canvas, name, BOLD, 7.5, name_width)
    canvas.drawString(MARGIN, y, name)
    y -= 2.9 * mm
    born = who.birth_date.strftime("%d/%m/%Y") if who.birth_date else "??/??/????"
    line = f"{who.first_name}   né(e) le {born}   {SEX_LABELS.get(who.sex, who.sex)}"
    _fit(canvas, line, REGULAR, 6.5, width)
    canvas.drawString(MARGIN, y, line)

    bar_height = 7 * mm
    barcode = Code128(spec.barcode, barHeight=bar_height, barWidth=0.3 * mm,
                      humanReadable=False, quiet=True)
    if barcode.width > width:
        barcode = Code128(spec.barcode, barHeight=bar_height,
                          barWidth=0.3 * mm * width / barcode.width, humanReadable=False,
                          quiet=True)
    y -= bar_height + 1 * mm
    barcode.drawOn(canvas, MARGIN + (width - barcode.width) / 2, y)

    y -= 2.4 * mm
    canvas.setFont(REGULAR, 6)
    canvas.drawString(MARGIN, y, spec.barcode)
    _fit(canvas, spec.container, REGULAR, 5.5, width * 0.55)
    canvas.drawRightString(LABEL_WIDTH - MARGIN, y, spec.container)
    y -= 2.4 * mm
    _fit(canvas, f"Demande {spec.order_number}", BOLD, 6, width)
    canvas.drawString(MARGIN, y, f"Demande {spec.order_number}")
    y -= 2.4 * mm
    if spec.sampled_at:
        when = timezone.localtime(spec.sampled_at).strftime("%d/%m/%Y %H:%M")
        line = f"Prél. {when} par {spec.collector}"
    else:
        line = "Prél. le __/__/____ à __h__ par ____________"
    _fit(canvas, line, REGULAR, 6, width)
    canvas.drawString(MARGIN, y, line)


def render(identity: LabelIdentity, specimens: list[LabelSpecimen]) -> bytes:
    _register_fonts()
    buffer = io.BytesIO()
    # Uncompressed page streams: a label PDF is a few kB, and auditors (and tests) can read it.
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), pageCompression=0,
                    invariant=1, initialFontName=REGULAR, initialFontSize=6)
    canvas.setTitle("Étiquettes")
    canvas.setAuthor("Étanche")
    for spec in specimens:
        _draw(canvas, identity, spec)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
