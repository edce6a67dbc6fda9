"""The domain layer between the bot and the store: cases, routing, encryption, statistics.

Imports neither Telegram nor Rasa. Every service takes an `AsyncSession` and
never commits (the caller's `Database.transaction()` does), and, when it
touches content, a `KeyRing`.
"""
