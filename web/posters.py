"""A school's printable poster, PDF (vector) and PNG, with a QR code of its deep link; pure functions.

One layout in points (US Letter) drawn by two backends: reportlab for the
PDF (text and QR as vectors, so it prints sharp at any size) and Pillow for
the PNG. Both use the Bitstream Vera fonts that reportlab ships, so nothing
depends on the fonts a machine happens to have. The QR code is segno's.
The link is the only thing about the school a poster encodes: it is meant
to be public (casework.links).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import reportlab
import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

PAGE_WIDTH, PAGE_HEIGHT = 612.0, 792.0  # US Letter, points
MARGIN = 48.0
QR_SIZE = 270.0  # 3.75 in: scanned from a few steps away in a hallway
MIN_QR_SIZE = 180.0  # what a 200-character school name leaves; still 2.5 in
QR_BORDER = 4  # modules of quiet zone, as the QR standard asks
QR_ERROR = "q"  # 25% of the code may be torn or written on and it still scans
PNG_DPI = 150
NAVY = (31, 58, 95)
BLACK = (0, 0, 0)
GREY = (70, 70, 70)
WHITE = (255, 255, 255)

_FONT_DIR = Path(reportlab.__file__).parent / "fonts"
FONTS = {"regular": _FONT_DIR / "Vera.ttf", "bold": _FONT_DIR / "VeraBd.ttf"}
_PDF_NAMES = {"regular": "SroVera", "bold": "SroVeraBold"}


@dataclass(frozen=True, slots=True)
class PosterText:
    """Every word on a poster, in one language (reviewed with the bot's catalog: grade 7, plain)."""

    title: str
    lead: str
    scan: str
    open_link: str  # followed by the link itself, for a phone without a camera app that reads QR codes
    private: str
    safety: tuple[str, ...]


TEXTS = {
    "en": PosterText(
        title="Something wrong at school?",
        lead="Tell your School Resource Officer in a chat. You do not have to give your name.",
        scan="Scan with your phone's camera to open the chat in Telegram.",
        open_link="Or open this link:",
        private="The officer never sees who you are. Telegram can see the chat, like any app.",
        safety=(
            "In danger right now? Call 911.",
            "Need to talk? Kids Help Phone: call 1-800-668-6868 or text CONNECT to 686868.",
            "Thinking about suicide? Call or text 9-8-8.",
        ),
    ),
    "fr": PosterText(
        title="Un problème à l'école?",
        lead="Écris à l'agent scolaire, le policier de ton école. Tu n'as pas à donner ton nom.",
        scan="Scanne avec la caméra de ton téléphone pour ouvrir la conversation dans Telegram.",
        open_link="Ou ouvre ce lien :",
        private="L'agent ne sait jamais qui tu es. Telegram peut voir la conversation, comme toute appli.",
        safety=(
            "En danger maintenant? Appelle le 911.",
            "Besoin de parler? Jeunesse, J'écoute : 1-800-668-6868, ou texte PARLER au 686868.",
            "Tu penses au suicide? Appelle ou texte le 9-8-8.",
        ),
    ),
}


@dataclass(frozen=True, slots=True)
class Text:
    x: float  # centre
    baseline: float  # from the top of the page
    line: str
    style: str
    size: float
    color: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float  # top
    width: float
    height: float
    color: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Layout:
    texts: list[Text]
    boxes: list[Box]  # drawn first (backgrounds)
    qr: list[Box]  # the QR's dark modules, on a white page


def qr_modules(link: str) -> list[list[bool]]:
    """The QR code of `link` (with its quiet zone) as rows of dark (True) and light modules."""
    code = segno.make(link, error=QR_ERROR, boost_error=False, micro=False)
    return [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=QR_BORDER)]


def _width(line: str, style: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(line, _pdf_font(style), size))


def wrap(text: str, style: str, size: float, width: float) -> list[str]:
    """Greedy word wrap to `width` points; a word longer than a line (a link) stands on its own."""
    lines: list[str] = []
    for word in text.split():
        if lines and _width(f"{lines[-1]} {word}", style, size) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def layout(school_name: str, link: str, language: str = "en") -> Layout:
    """Where everything goes, in points from the top-left corner; a long school name shrinks, then the QR."""
    plan, overflow = _layout(school_name, link, language, QR_SIZE)
    if overflow > 0:
        plan, _ = _layout(school_name, link, language, max(MIN_QR_SIZE, QR_SIZE - overflow))
    return plan


def _name_size(school_name: str, width: float) -> float:
    """The largest size (22 down to 14 points) at which the school's name takes at most two lines."""
    for size in (22.0, 20.0, 18.0, 16.0):
        if len(wrap(school_name, "bold", size, width)) <= 2:
            return size
    return 14.0


def _layout(school_name: str, link: str, language: str, qr_size: float) -> tuple[Layout, float]:
    """The layout with a QR of `qr_size` points, and by how much it runs into the footer (if it does)."""
    words = TEXTS.get(language, TEXTS["en"])
    width, centre = PAGE_WIDTH - 2 * MARGIN, PAGE_WIDTH / 2
    texts: list[Text] = []
    y = MARGIN

    def paragraph(text: str, style: str, size: float, color: tuple[int, int, int], gap: float) -> None:
        nonlocal y
        for line in wrap(text, style, size, width):
            y += size * 1.2
            texts.append(Text(centre, y, line, style, size, color))
        y += gap

    paragraph(words.title, "bold", 34, WHITE, 0)
    band = Box(0, 0, PAGE_WIDTH, y + 28, NAVY)
    y = band.height + 22
    paragraph(school_name, "bold", _name_size(school_name, width), NAVY, 10)
    paragraph(words.lead, "regular", 17, BLACK, 18)
    modules = qr_modules(link)
    module = qr_size / len(modules)
    left = centre - qr_size / 2
    qr = [
        Box(left + column * module, y + row * module, module, module, BLACK)
        for row, cells in enumerate(modules)
        for column, dark in enumerate(cells)
        if dark
    ]
    y += qr_size + 8
    paragraph(words.scan, "bold", 14, BLACK, 6)
    paragraph(words.open_link, "regular", 11, GREY, 0)
    paragraph(link, "regular", 11, BLACK, 14)
    paragraph(words.private, "regular", 11, GREY, 0)
    # The safety lines sit at the foot of the page, under a rule, whatever the school's name took.
    footer_size = 11.0
    footer = [line for text in words.safety for line in wrap(text, "bold", footer_size, width)]
    footer_top = PAGE_HEIGHT - MARGIN - len(footer) * footer_size * 1.3 - 20
    overflow = y + 12 - footer_top
    y = footer_top
    rule = Box(MARGIN, y, width, 1.5, NAVY)
    y += 8
    for line in footer:
        y += footer_size * 1.3
        texts.append(Text(centre, y, line, "bold", footer_size, NAVY))
    return Layout(texts, [band, rule], qr), overflow


# --- PDF -------------------------------------------------------------------------------------


def _pdf_font(style: str) -> str:
    name = _PDF_NAMES[style]
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(FONTS[style])))
    return name


def _merged_rows(boxes: Sequence[Box]) -> Iterator[Box]:
    """Adjacent modules of a row as one rectangle: fewer shapes, no seams between them when printed."""
    run: Box | None = None
    for box in sorted(boxes, key=lambda b: (b.y, b.x)):
        if run is not None and run.y == box.y and abs(run.x + run.width - box.x) < 1e-6:
            run = Box(run.x, run.y, run.width + box.width, run.height, run.color)
            continue
        if run is not None:
            yield run
        run = box
    if run is not None:
        yield run


def poster_pdf(school_name: str, link: str, language: str = "en") -> bytes:
    """The poster as a one-page PDF; the same input gives the same bytes (no timestamps, no ids)."""
    plan = layout(school_name, link, language)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    pdf.setTitle(f"SRO Connect — {school_name}")
    pdf.setCreator("SRO Connect")
    for box in plan.boxes:
        pdf.setFillColorRGB(*(c / 255 for c in box.color))
        pdf.rect(box.x, PAGE_HEIGHT - box.y - box.height, box.width, box.height, stroke=0, fill=1)
    pdf.setFillColorRGB(0, 0, 0)
    path = pdf.beginPath()
    for box in _merged_rows(plan.qr):
        path.rect(box.x, PAGE_HEIGHT - box.y - box.height, box.width, box.height)
    pdf.drawPath(path, stroke=0, fill=1)
    for text in plan.texts:
        pdf.setFillColorRGB(*(c / 255 for c in text.color))
        pdf.setFont(_pdf_font(text.style), text.size)
        pdf.drawCentredString(text.x, PAGE_HEIGHT - text.baseline, text.line)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# --- PNG -------------------------------------------------------------------------------------


def poster_png(school_name: str, link: str, language: str = "en", dpi: int = PNG_DPI) -> bytes:
    """The poster as a PNG at `dpi` (150: a sharp screen preview, a fair print)."""
    plan = layout(school_name, link, language)
    scale = dpi / 72
    image = Image.new("RGB", (round(PAGE_WIDTH * scale), round(PAGE_HEIGHT * scale)), WHITE)
    draw = ImageDraw.Draw(image)
    for box in plan.boxes:
        draw.rectangle(_pixels(box, scale), fill=box.color)
    for box in plan.qr:
        draw.rectangle(_pixels(box, scale), fill=box.color)
    fonts: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}
    for text in plan.texts:
        key = (text.style, round(text.size * scale))
        if key not in fonts:
            fonts[key] = ImageFont.truetype(str(FONTS[text.style]), size=key[1])
        draw.text(
            (text.x * scale, text.baseline * scale), text.line, fill=text.color, font=fonts[key], anchor="ms"
        )
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def _pixels(box: Box, scale: float) -> tuple[int, int, int, int]:
    """A box's pixels, edges rounded so that neighbouring QR modules meet without gaps or overlaps."""
    left, top = round(box.x * scale), round(box.y * scale)
    right, bottom = round((box.x + box.width) * scale), round((box.y + box.height) * scale)
    return left, top, max(left, right - 1), max(top, bottom - 1)
