"""The emulator enforces what Telegram enforces, so a bot that breaks a rule fails here first."""

from __future__ import annotations

import httpx
import pytest
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, InvalidToken

from emulator import Emulator
from emulator.formatting import command_entities, parse


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
