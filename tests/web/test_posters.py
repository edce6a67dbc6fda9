"""Posters: the QR code on the PNG and on the PDF's printed page decodes, with a real decoder, to the link."""

from __future__ import annotations

import io

import pypdfium2
import pytest
import textstat  # type: ignore[import-untyped]
import zxingcpp
from PIL import Image, ImageDraw

from casework import links
from web import posters

LINK = links.link_for_token("sro_connect_bot", "AbCdEf-GhIj_KlMn")
OTHER = links.link_for_token("sro_connect_bot", links.new_token())


def decoded(image: Image.Image) -> list[str]:
    """Every QR code zxing-cpp finds in the image, as text."""
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def pdf_page(pdf: bytes, scale: float = 2.0) -> Image.Image:
    """The PDF's only page as a printer would lay it down (PDFium), at 144 dpi."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        assert len(document) == 1
        page: Image.Image = document[0].render(scale=scale).to_pil()
        return page.convert("RGB")
    finally:
        document.close()


def pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return str(document[0].get_textpage().get_text_range())
    finally:
        document.close()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_png_posters_qr_decodes_to_the_schools_deep_link(language: str) -> None:
    png = posters.poster_png("Marc Garneau Collegiate Institute", LINK, language)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (1275, 1650)  # Letter at 150 dpi
    assert decoded(image) == [LINK]
    # Positive control: another school's poster decodes to its own link, so the decoder reads the
    # code and not something constant; and with the code painted over, nothing decodes.
    assert decoded(Image.open(io.BytesIO(posters.poster_png("Other", OTHER, language)))) == [OTHER]
    plan = posters.layout("Marc Garneau Collegiate Institute", LINK, language)
    scale = 150 / 72
    left = min(b.x for b in plan.qr) * scale
    top = min(b.y for b in plan.qr) * scale
    ImageDraw.Draw(image).rectangle(
        (left, top, left + posters.QR_SIZE * scale, top + posters.QR_SIZE * scale), fill="white"
    )
    assert decoded(image) == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_pdf_posters_printed_page_decodes_to_the_schools_deep_link(language: str) -> None:
    pdf = posters.poster_pdf("École secondaire Étienne-Brûlé", LINK, language)
    assert pdf.startswith(b"%PDF-")
    assert decoded(pdf_page(pdf)) == [LINK]
    assert decoded(pdf_page(posters.poster_pdf("Other", OTHER, language))) == [OTHER]  # control
    text = pdf_text(pdf)
    assert LINK in text  # printed too, for a phone that cannot scan
    assert "École secondaire Étienne-Brûlé" in text  # accents survive (embedded TrueType font)
    assert "911" in text


def test_the_pdf_is_vector_and_reproducible() -> None:
    pdf = posters.poster_pdf("North Collegiate", LINK)
    assert pdf == posters.poster_pdf("North Collegiate", LINK)  # no timestamp, no random id
    assert pdf != posters.poster_pdf("North Collegiate", OTHER)
    assert b"/Subtype /Image" not in pdf  # the QR is drawn, not a bitmap: sharp at any size
    # Small and still decodable when printed at a fraction of its size (a flyer, 4 to a page).
    assert decoded(pdf_page(pdf, scale=0.75)) == [LINK]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_long_school_name_wraps_and_everything_stays_on_the_page(language: str) -> None:
    # 200 characters: the longest name `sro school add` accepts.
    name = ("Collège catholique secondaire Monseigneur-de-Charbonnel et école des métiers " * 3)[:200]
    plan = posters.layout(name, LINK, language)
    width = posters.PAGE_WIDTH - 2 * posters.MARGIN
    qr_top = min(b.y for b in plan.qr)
    qr_bottom = max(b.y + b.height for b in plan.qr)
    assert qr_bottom - qr_top >= posters.MIN_QR_SIZE * 0.8  # the code itself, without its quiet zone
    for text in plan.texts:
        assert posters._width(text.line, text.style, text.size) <= width + 0.01, text.line
        assert posters.MARGIN / 2 < text.baseline <= posters.PAGE_HEIGHT - posters.MARGIN / 2
        # No line runs over the code (a baseline inside it, or a line hanging down into it).
        assert not qr_top < text.baseline < qr_bottom + text.size, text.line
    rule = plan.boxes[1]
    assert all(t.baseline < rule.y for t in plan.texts if t.line not in _footer_lines(language))
    assert decoded(Image.open(io.BytesIO(posters.poster_png(name, LINK, language)))) == [LINK]


def _footer_lines(language: str) -> set[str]:
    width = posters.PAGE_WIDTH - 2 * posters.MARGIN
    return {line for text in posters.TEXTS[language].safety for line in posters.wrap(text, "bold", 11, width)}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_poster_names_the_safety_numbers(language: str) -> None:
    words = posters.TEXTS[language]
    safety = " ".join(words.safety)
    for number in ("911", "1-800-668-6868", "686868", "9-8-8"):
        assert number in safety, (language, number)
    # And they are printed: on the page itself, not only in the layout.
    text = pdf_text(posters.poster_pdf("North Collegiate", LINK, language))
    assert all(number in text for number in ("911", "1-800-668-6868", "686868", "9-8-8"))


def test_the_english_poster_reads_at_grade_7_or_below() -> None:
    """The same bar as the bot's student texts (tests/bot/test_readability.py), per line of the poster."""
    words = posters.TEXTS["en"]
    lines = [words.title, words.lead, words.scan, words.private, *words.safety]
    hard = [
        (textstat.flesch_kincaid_grade(line), line) for line in lines if textstat.lexicon_count(line) >= 8
    ]
    assert [(g, line) for g, line in hard if g > 7.0] == []
    # Positive control: the measure does flag a hard sentence.
    assert (
        textstat.flesch_kincaid_grade(
            "Anonymized communications infrastructure facilitates confidential institutional reporting."
        )
        > 7.0
    )
