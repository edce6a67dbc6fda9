"""Whom the bot's HTTPS clients trust: the system's certificate authorities and certifi's.

python-telegram-bot's httpx client trusted certifi's bundle alone. aiohttp (bot.aiohttp_request,
nlu.rasa_client) trusts the system's store by default, which a slim container image may not have.
Both together: api.telegram.org verifies on any image, and an organisation's own authority (a
reverse proxy in front of Rasa, README "Deploying") is trusted once it is in the system's store.
"""

from __future__ import annotations

import ssl
from functools import cache

import certifi


@cache
def client_context() -> ssl.SSLContext:
    """A verifying client context (hostnames and chains checked), shared by every session."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    return context
