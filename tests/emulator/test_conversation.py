"""A real PTB Application talks to the emulator: commands, buttons, every kind of update, groups."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageOriginChannel,
    MessageOriginHiddenUser,
    MessageOriginUser,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from devtools.emulator import Emulator, EmulatorError
from tests.emulator.conftest import Errors, build_app, eventually, polling

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Send", callback_data="send"),
            InlineKeyboardButton("Edit", callback_data="edit"),
        ],
        [InlineKeyboardButton("Privacy", url="https://example.org/privacy")],
    ]
)


async def test_start_command_is_answered(emu: Emulator) -> None:
    app = build_app(emu)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert context.args == ["abc"]
        await update.effective_message.reply_text("Hi! <b>Anonymous</b> line.", parse_mode=ParseMode.HTML)

    app.add_handler(CommandHandler("start", start, filters=filters.ChatType.PRIVATE))
    errors = Errors()
    async with polling(app, errors):
        student = await emu.user()
        sent = await emu.send_text(student, "/start abc")
        reply = await emu.next_message(student)

    assert errors.seen == []
    assert sent.message.raw["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert reply.text == "Hi! Anonymous line."
    assert reply.entities == [{"type": "bold", "offset": 4, "length": 9}]
    assert reply.raw["from"]["id"] == emu.bot.id
    assert reply.raw["from"]["is_bot"] is True
    assert reply.raw["chat"] == {"id": student.id, "type": "private", "first_name": "Student"}
    assert isinstance(reply.raw["date"], int)
    assert reply.options == {"parse_mode": "HTML"}
    assert 100_000 <= student.id < 10_000_000_000


async def test_pressing_a_button_answers_the_query_and_edits_the_message(emu: Emulator) -> None:
    app = build_app(emu)

    async def preview(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Preview: a fight at lunch", reply_markup=KEYBOARD)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        assert query.message is not None
        assert query.chat_instance
        assert query.message.chat.id == query.from_user.id
        await query.answer("Sent!")
        await query.edit_message_text(f"You chose: {query.data}")

    app.add_handler(MessageHandler(filters.TEXT, preview))
    app.add_handler(CallbackQueryHandler(pressed))
    errors = Errors()
    async with polling(app, errors):
        student = await emu.user()
        await emu.send_text(student, "there was a fight")
        tip = await emu.next_message(student)
        assert tip.buttons == [[("Send", "send"), ("Edit", "edit")], [("Privacy", None)]]
        with pytest.raises(EmulatorError, match="not a callback button"):
            await emu.press(student, tip, "Privacy")
        press = await emu.press(student, tip, "Send")
        answer = await emu.callback_answer(press)
        edited = await emu.wait_for(
            student, lambda m: m.message_id == tip.message_id and m.edited, after=press
        )

    assert errors.seen == []
    assert answer.text == "Sent!"
    assert not answer.show_alert
    assert edited.text == "You chose: send"
    assert edited.buttons == []  # an edit without reply_markup drops the keyboard, as in Telegram
    assert [c.method for c in await emu.calls(outcome="ok") if c.method != "getUpdates"] == [
        "getMe",
        "deleteWebhook",
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
    ]
    with pytest.raises(EmulatorError, match="no button 'Send'"):
        await emu.press(student, edited, "Send")


async def test_every_kind_of_user_message_reaches_ptb_parsed(emu: Emulator) -> None:
    app = build_app(emu)
    received: list[Update] = []

    async def collect(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        received.append(update)

    app.add_handler(TypeHandler(Update, collect))
    errors = Errors()
    async with polling(app, errors):
        student, friend = await emu.user(), await emu.user(first_name="Friend")
        news = await emu.channel("School news")
        first = await emu.send_text(student, "hello")
        await emu.reply_to(student, first, "replying to myself")
        await emu.edit_text(student, first, "hello, edited")
        await emu.forward(student, "from a friend", from_user=friend)
        await emu.forward(student, "from someone hidden", hidden_name="Jo")
        await emu.forward(student, "from the channel", from_chat=news)
        await emu.send_sticker(student, "😡")
        await emu.send_voice(student, duration=7)
        await emu.send_location(student, 45.5, -73.6)
        await emu.send_contact(student, "+15145550199", "Sam")
        await emu.send_document(student, "proof.pdf", b"%PDF-1.4 proof", caption="look")
        await emu.send_photo(student, caption="the wall")
        await emu.channel_post(news, "Assembly at 10")
        long_text = "x" * 4096
        await emu.send_text(student, long_text)
        await eventually(lambda: len(received) == 14)
    assert errors.seen == []
    kinds = [type(u.effective_message).__name__ for u in received]
    assert len(received) == 14, kinds
    m = [u.effective_message for u in received]
    assert all(x is not None for x in m)
    assert m[1]
    assert m[1].reply_to_message
    assert m[1].reply_to_message.text == "hello"
    assert received[2].edited_message
    assert received[2].edited_message.text == "hello, edited"
    assert m[3]
    assert isinstance(m[3].forward_origin, MessageOriginUser)
    assert m[3].forward_origin.sender_user.id == friend.id
    assert m[4]
    assert isinstance(m[4].forward_origin, MessageOriginHiddenUser)
    assert m[5]
    assert isinstance(m[5].forward_origin, MessageOriginChannel)
    assert m[6]
    assert m[6].sticker
    assert m[6].sticker.emoji == "😡"
    assert m[7]
    assert m[7].voice
    assert m[7].voice.duration == dt.timedelta(seconds=7)
    assert m[8]
    assert m[8].location
    assert m[8].location.latitude == 45.5
    assert m[9]
    assert m[9].contact
    assert m[9].contact.phone_number == "+15145550199"
    assert m[10]
    assert m[10].document
    assert m[10].document.file_name == "proof.pdf"
    assert m[10].caption == "look"
    assert m[11]
    assert len(m[11].photo) == 3
    assert received[12].channel_post
    assert received[12].channel_post.sender_chat
    assert m[13]
    assert m[13].text == long_text


async def test_a_file_a_user_sent_can_be_downloaded(emu: Emulator) -> None:
    app = build_app(emu)
    contents: list[bytes] = []

    async def download(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        assert update.effective_message.document is not None
        file = await update.effective_message.document.get_file()
        contents.append(bytes(await file.download_as_bytearray()))
        await update.effective_message.reply_text("got it")

    app.add_handler(MessageHandler(filters.Document.ALL, download))
    async with polling(app):
        student = await emu.user()
        await emu.send_document(student, "notes.txt", b"what I saw", mime_type="text/plain")
        await emu.next_message(student)
    assert contents == [b"what I saw"]


async def test_group_message_is_refused_and_the_bot_leaves(emu: Emulator) -> None:
    app = build_app(emu)
    memberships: list[tuple[str, str]] = []

    async def refuse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_message(chat.id, "I only work in private chats. Bye!")
        await context.bot.leave_chat(chat.id)

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        assert change is not None
        memberships.append((change.old_chat_member.status, change.new_chat_member.status))

    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(~filters.ChatType.PRIVATE & filters.TEXT, refuse))
    errors = Errors()
    async with polling(app, errors):
        student = await emu.user()
        group = await emu.group("Grade 10", bot_member=False)
        await emu.add_bot_to(group, by=student)
        await emu.send_text(student, "hi bot", chat=group)
        said = await emu.next_message(group)
        left, _ = await emu.events(chat=group, kinds=["left"], wait=5.0)
        assert len(left) == 1
        after = await emu.send_text(student, "anyone?", chat=group)
        supergroup = await emu.group("Whole school", supergroup=True)
        await emu.send_text(student, "hello all", chat=supergroup)
        await emu.next_message(supergroup)
        await eventually(lambda: len(memberships) == 3)

    assert errors.seen == []
    assert said.text == "I only work in private chats. Bye!"
    assert said.raw["chat"] == {"id": group.id, "type": "group", "title": "Grade 10"}
    assert group.id < 0
    assert supergroup.id < -1_000_000_000_000
    assert not (await emu.chat(group)).bot_member
    assert after.update_id is None  # the bot left: it no longer sees the group
    assert [c.status for c in await emu.calls("leaveChat")] == [200, 200]
    assert memberships[0] == (ChatMemberStatus.LEFT, ChatMemberStatus.MEMBER)
    assert memberships[1:] == [(ChatMemberStatus.MEMBER, ChatMemberStatus.LEFT)] * 2


async def test_sent_messages_keep_their_options_replies_and_deletions(emu: Emulator) -> None:
    app = build_app(emu)
    async with app:
        student = await emu.user(started=True)
        bot = app.bot
        first = await bot.send_message(student.id, "first", disable_notification=True, protect_content=True)
        second = await bot.send_message(
            student.id, "second", reply_parameters=ReplyParameters(first.message_id), reply_markup=KEYBOARD
        )
        assert second.reply_to_message is not None
        assert second.reply_to_message.text == "first"
        edited = await bot.edit_message_reply_markup(student.id, second.message_id)
        assert isinstance(edited, type(second))
        assert edited.reply_markup is None
        assert await bot.delete_message(student.id, first.message_id)
        await bot.send_chat_action(student.id, "typing")
        shown = await emu.messages(student)

    assert [m.text for m in shown] == ["first", "second"]
    assert shown[0].deleted
    assert shown[0].options == {"disable_notification": True, "protect_content": True}
    assert shown[0].raw["has_protected_content"] is True
    assert shown[1].reply_to_message_id == first.message_id
    assert shown[1].edits == 1


async def test_blocking_the_bot_can_announce_itself_as_telegram_does(emu: Emulator) -> None:
    student = await emu.user(started=True)
    await emu.block(student, notify=True)
    await emu.unblock(student, notify=True)
    async with emu.ptb_bot() as bot:
        updates = await bot.get_updates()
    changes = [u.my_chat_member for u in updates]
    assert [(c.old_chat_member.status, c.new_chat_member.status) for c in changes if c] == [
        (ChatMemberStatus.MEMBER, ChatMemberStatus.BANNED),
        (ChatMemberStatus.BANNED, ChatMemberStatus.MEMBER),
    ]
