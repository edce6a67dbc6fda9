"""The emulator enforces what Telegram enforces, so a bot that breaks a rule fails here first."""

from __future__ import annotations

from html import escape as html_escape

import httpx
import pytest
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, InvalidToken

from devtools.emulator import Emulator, EmulatorError
from devtools.emulator.formatting import (
    EntityParseError,
    TextRefused,
    caption_text,
    check_callback_data,
    command_entities,
    message_text,
    parse,
    parse_html,
    utf16_len,
)
from devtools.emulator.media import sample_jpeg


async def test_get_me_and_get_chat_describe_the_bot_and_chats(emu: Emulator) -> None:
    student = await emu.user(first_name="Sam", username="sam_k")
    group = await emu.group("Grade 9")
    async with emu.ptb_bot() as bot:
        me = await bot.get_me()
        private = await bot.get_chat(student.id)
        in_group = await bot.get_chat(group.id)
    assert me.is_bot
    assert me.id == emu.bot.id
    assert me.username == "sro_connect_test_bot"
    assert me.can_join_groups
    assert (private.type, private.first_name, private.username) == ("private", "Sam", "sam_k")
    assert (in_group.type, in_group.title) == ("group", "Grade 9")


async def test_unparseable_markup_is_refused_as_telegram_does(emu: Emulator) -> None:
    student = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag \"script\""):
            await bot.send_message(student.id, "<b>Report:</b> he said <script>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)can't find end tag corresponding to start tag \"b\""):
            await bot.send_message(student.id, "<b>unclosed", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)Character '.' is reserved"):
            await bot.send_message(student.id, "Case 12. Thanks!", parse_mode=ParseMode.MARKDOWN_V2)
        escaped = await bot.send_message(student.id, "a &lt; b &amp; <i>c</i>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(student.id, "x" * 4097)
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(student.id, "   ")
    assert escaped.text == "a < b & c"


def test_entity_offsets_count_utf16_code_units() -> None:
    text, entities = parse("😀 <b>bold</b> and *not*", "HTML")
    assert text == "😀 bold and *not*"
    assert entities == [{"type": "bold", "offset": 3, "length": 4}]
    text, entities = parse("*bold* _it_ __under__ [link](https://x.org/a\\)b) `co.de` \\.", "MarkdownV2")
    assert text == "bold it under link co.de ."
    assert [e["type"] for e in entities] == ["bold", "italic", "underline", "text_link", "code"]
    assert entities[3]["url"] == "https://x.org/a)b"
    text, entities = parse('<pre><code class="language-python">x = 1</code></pre>', "HTML")
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    assert command_entities("/status ABC-123 then /help@sro_bot") == [
        {"type": "bot_command", "offset": 0, "length": 7},
        {"type": "bot_command", "offset": 21, "length": 13},
    ]


async def test_keyboards_and_edits_follow_telegram_rules(emu: Emulator) -> None:
    student = await emu.user(started=True)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("Send", callback_data="s" * 65)]])
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Send", callback_data="send")]])
    async with emu.ptb_bot() as bot:
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(student.id, "preview", reply_markup=too_long)
        sent = await bot.send_message(student.id, "preview", reply_markup=keyboard)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("preview", student.id, sent.message_id, reply_markup=keyboard)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", student.id, 999)
        user_message = (await emu.send_text(student, "mine")).message
        with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
            await bot.edit_message_text("x", student.id, user_message.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
            await bot.send_message(student.id, "re", reply_to_message_id=999)
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(123, "nobody")
        assert await bot.delete_message(student.id, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await bot.delete_message(student.id, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query("12345")


async def test_commands_are_stored_per_scope_and_language(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        assert await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("status", "Check a case")])
        assert await bot.set_my_commands(
            [BotCommand("cases", "Open cases")], scope=BotCommandScopeChat(officer.id)
        )
        assert await bot.set_my_commands([BotCommand("start", "Commencer")], language_code="fr")
        assert [c.command for c in await bot.get_my_commands()] == ["start", "status"]
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Bad-Name", "x")])
        assert await bot.delete_my_commands(language_code="fr")
        assert await bot.get_my_commands(language_code="fr") == ()
    assert await emu.commands() == [("start", "Begin"), ("status", "Check a case")]
    assert await emu.commands({"type": "chat", "chat_id": officer.id}) == [("cases", "Open cases")]


async def test_unknown_methods_and_malformed_tokens_get_404(emu: Emulator) -> None:
    async with emu.ptb_bot() as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendTelepathy")
    with pytest.raises(InvalidToken):
        async with emu.ptb_bot(token="not-a-token"):
            pass
    async with httpx.AsyncClient() as client:
        unknown = await client.post(f"{emu.base_url}{emu.token}/sendTelepathy")
        lower_case = await client.get(f"{emu.base_url}{emu.token}/getme")
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert lower_case.json()["result"]["id"] == emu.bot.id  # method names are case-insensitive
    assert [c.method for c in await emu.calls(outcome="error")] == ["sendTelepathy", "sendTelepathy"]


async def test_json_bodies_work_like_forms(emu: Emulator) -> None:
    student = await emu.user(started=True)
    body = {
        "chat_id": student.id,
        "text": "json body",
        "reply_markup": {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
        "disable_notification": True,
    }
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{emu.base_url}{emu.token}/sendMessage", json=body)
        bad = await client.post(f"{emu.base_url}{emu.token}/sendMessage", json={"text": "no chat"})
    assert answer.json()["ok"] is True
    assert answer.json()["result"]["reply_markup"] == body["reply_markup"]
    assert bad.status_code == 400
    assert bad.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"}
    (message,) = await emu.messages(student)
    assert message.options == {"disable_notification": True}
    assert message.buttons == [[("OK", "ok")]]


async def test_multipart_bodies_are_read_too(emu: Emulator) -> None:
    student = await emu.user(started=True)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{emu.base_url}{emu.token}/sendMessage",
            data={"chat_id": str(student.id), "text": "multipart"},
            files={"unused": ("a.txt", b"attachment")},
        )
    assert answer.json()["result"]["text"] == "multipart"


# --- what Telegram refuses, the emulator refuses (issue 8) -----------------------------------

EVERY_TAG = (
    "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>"
    '<del>d</del><span class="tg-spoiler">p</span><tg-spoiler>t</tg-spoiler>'
    '<a href="https://example.org/?a=1&amp;b=2">a</a><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    '<code>c</code><pre>p</pre><pre><code class="language-python">x</code></pre>'
    "<blockquote>q</blockquote><blockquote expandable>x</blockquote>"
    "<b>bold <i>italic <u>both</u></i></b> &lt; &gt; &amp; &quot; &#128512; &#x1F600;"
)


def test_telegrams_whole_tag_set_and_its_entities_are_accepted() -> None:
    text, entities = parse_html(EVERY_TAG)
    assert text.endswith('bold italic both < > & " 😀 😀')
    kinds = [e["type"] for e in entities]
    for kind in (
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "custom_emoji",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
    ):
        assert kind in kinds
    assert {"type": "pre", "offset": 16, "length": 1, "language": "python"} in entities
    assert next(e for e in entities if e["type"] == "text_link")["url"] == "https://example.org/?a=1&b=2"


@pytest.mark.parametrize(
    ("html", "wording"),
    [
        ("he said <script>", 'Unsupported start tag "script" at byte offset 8'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("line<br>two", 'Unsupported start tag "br" at byte offset 4'),
        ('<div class="x">x</div>', 'Unsupported start tag "div"'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag"),
        ("a very long tip cut in the middle of a tag <", 'Unsupported start tag ""'),
        ('tip cut inside <a href="https://exa', "Unclosed start tag"),
        ("<b", "Unclosed start tag"),
        ("<b bold>x</b>", 'Expected equal sign in declaration of an attribute of the tag "b"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<tg-emoji>x</tg-emoji>", "custom emoji identifier"),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier"),
        ("fish & chips", 'Character "&" at byte offset 5 must be escaped as "&amp;"'),
        ("a -> b", 'Character ">" at byte offset 3 must be escaped as "&gt;"'),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ("&#0;", 'Unsupported HTML entity "&#0;"'),
        ("&#xD800;", 'Unsupported HTML entity "&#xD800;"'),
        ("😀 & more", 'Character "&" at byte offset 5'),  # byte offsets count UTF-8 bytes
    ],
)
def test_html_telegram_cannot_parse_is_refused(html: str, wording: str) -> None:
    with pytest.raises(EntityParseError) as refused:
        parse_html(html)
    assert wording in str(refused.value)


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("fish &amp; chips", "fish & chips"),
        ("a -&gt; b &lt;c&gt;", "a -> b <c>"),
        ("&quot;quoted&quot; \"raw\" 'single'", '"quoted" "raw" \'single\''),
        ("&#38; &#x26; &#X26;", "& & &"),
        ("<B>upper</B> <I>case</I>", "upper case"),
        ("<b >spaced</b >", "spaced"),
        ("<a href='https://example.org'>single quotes</a>", "single quotes"),
        ("<a href=https://x.org>unquoted value stops at the colon</a>", None),
    ],
)
def test_escaped_html_is_accepted(html: str, plain: str | None) -> None:
    if plain is None:  # an unquoted value is letters, digits, '.', '-' only, as in Telegram
        with pytest.raises(EntityParseError):
            parse_html(html)
        return
    assert parse_html(html)[0] == plain


def test_escaping_with_the_standard_library_always_parses() -> None:
    # The positive control for the refusals above: what html.escape makes is always accepted.
    nasty = "<script>&nbsp; a > b & c < d \"q\" 'p' &amp; </b> 😀 \u202e"
    assert parse_html(html_escape(nasty)) == (nasty, [])
    assert parse_html(f"<b>{html_escape(nasty)}</b>")[1] == [
        {"type": "bold", "offset": 0, "length": utf16_len(nasty)}
    ]


def test_entity_offsets_and_lengths_are_utf16_units() -> None:
    text, entities = parse_html("👩‍👩‍👧 <b>😀x</b> &#128512;<i>y</i>")
    assert text == "👩‍👩‍👧 😀x 😀y"
    assert entities == [
        {"type": "bold", "offset": 9, "length": 3},
        {"type": "italic", "offset": 15, "length": 1},
    ]
    assert message_text("  <b> padded </b>  ") == ("padded", [{"type": "bold", "offset": 0, "length": 6}])


def test_limits_are_utf16_units_after_entity_parsing() -> None:
    emoji = "😀" * 2048  # 2,048 characters for Python, 4,096 UTF-16 units for Telegram
    assert message_text(emoji)[0] == emoji
    assert message_text("x" * 4096)[0] == "x" * 4096
    assert message_text("&lt;" * 4096)[0] == "<" * 4096  # 16,384 characters of HTML, 4,096 of text
    assert message_text(f"<b>{'y' * 4096}</b>")[1] == [{"type": "bold", "offset": 0, "length": 4096}]
    for too_long in ("😀" * 2048 + "x", "x" * 4097, "😀" * 2049, "&amp;" * 4097):
        with pytest.raises(TextRefused, match=r"^message is too long$"):
            message_text(too_long)
    assert len("😀" * 2049) < 4096  # counting Python characters would have accepted it
    for empty in ("", "   ", "<b></b>", "<i> \n </i>"):
        with pytest.raises(TextRefused, match=r"^message text is empty$"):
            message_text(empty)
    assert caption_text("")[0] == ""
    assert caption_text("😀" * 512)[0] == "😀" * 512
    with pytest.raises(TextRefused, match=r"^message caption is too long$"):
        caption_text("😀" * 512 + "x")
    with pytest.raises(TextRefused, match=r"^can't parse entities: "):
        caption_text("a & b")


def test_callback_data_is_one_to_64_bytes() -> None:
    check_callback_data("é" * 32)  # 32 characters, 64 bytes
    check_callback_data("x")
    for bad in ("", "é" * 32 + "x", "x" * 65, None, 12):
        with pytest.raises(TextRefused, match=r"^BUTTON_DATA_INVALID$"):
            check_callback_data(bad)


def _keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Send", callback_data=data)]])


async def test_send_and_edit_refuse_what_telegram_refuses(emu: Emulator) -> None:
    student = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        sent = await bot.send_message(
            student.id, "😀" * 2047 + "<b>x</b>", parse_mode=ParseMode.HTML, reply_markup=_keyboard("é" * 32)
        )
        assert sent.text == "😀" * 2047 + "x"
        assert [e.to_dict() for e in sent.entities] == [{"type": "bold", "offset": 4094, "length": 1}]
        with pytest.raises(BadRequest, match=r"^Message is too long$"):
            await bot.send_message(student.id, "😀" * 2049)
        with pytest.raises(BadRequest, match=r"^Message text is empty$"):
            await bot.send_message(student.id, "<i></i>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"^Can't parse entities: character \"&\""):
            await bot.send_message(student.id, "fish & chips", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
            await bot.send_message(student.id, "ok", reply_markup=_keyboard("é" * 32 + "x"))
        # The same rules hold for edits.
        with pytest.raises(BadRequest, match=r"^Message is too long$"):
            await bot.edit_message_text("x" * 4097, student.id, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)^can't parse entities: unsupported start tag"):
            await bot.edit_message_text("cut <", student.id, sent.message_id, parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
            await bot.edit_message_reply_markup(student.id, sent.message_id, reply_markup=_keyboard("x" * 65))
        edited = await bot.edit_message_text(
            "x" * 4096, student.id, sent.message_id, reply_markup=_keyboard("x" * 64)
        )
        assert isinstance(edited, Message)
        assert edited.text == "x" * 4096
        assert await bot.edit_message_reply_markup(student.id, sent.message_id, reply_markup=_keyboard("y"))
    (message,) = await emu.messages(student)
    assert message.text == "x" * 4096
    assert message.buttons == [[("Send", "y")]]


async def test_captions_are_checked_like_texts(emu: Emulator) -> None:
    student = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        photo = await bot.send_photo(
            student.id, sample_jpeg(), caption="😀" * 511 + "<i>ab</i>", parse_mode="HTML"
        )
        assert photo.caption == "😀" * 511 + "ab"
        assert [e.to_dict() for e in photo.caption_entities] == [
            {"type": "italic", "offset": 1022, "length": 2}
        ]
        document = await bot.send_document(student.id, b"%PDF-1.4", filename="a.pdf")
        assert document.caption is None
        with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
            await bot.send_document(student.id, b"%PDF-1.4", filename="a.pdf", caption="x" * 1025)
        with pytest.raises(BadRequest, match=r"(?i)^can't parse entities"):
            await bot.edit_message_caption(student.id, photo.message_id, caption="<b>x", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
            await bot.edit_message_caption(student.id, photo.message_id, caption="😀" * 513)
        edited = await bot.edit_message_caption(student.id, photo.message_id, caption="x" * 1024)
    assert isinstance(edited, Message)
    assert edited.caption == "x" * 1024


async def test_a_user_can_send_what_a_telegram_client_can_and_no_more(emu: Emulator) -> None:
    student = await emu.user(started=True)
    assert (await emu.send_text(student, "😀" * 2048)).message.text == "😀" * 2048  # 4,096 UTF-16 units
    with pytest.raises(EmulatorError, match="split text longer than 4096"):
        await emu.send_text(student, "😀" * 2049)  # 2,049 characters, but 4,098 units
    assert (await emu.send_photo(student, caption="😀" * 512)).message.text == "😀" * 512  # the caption
    with pytest.raises(EmulatorError, match="captions longer than 1024"):
        await emu.send_photo(student, caption="😀" * 512 + "x")
