"""The Telegram surface: handlers for students and officers, keyboards, texts.

The only package that imports `telegram`.
"""
