"""The bot's HTTPS clients (Bot API, Rasa) verify the server: a certificate nobody vouches for is refused.

A local HTTPS server with a self-signed certificate for 127.0.0.1 stands in for a man in the middle
between the bot and Telegram or Rasa; a client that skipped verification would get its answer.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from telegram.error import NetworkError

from app import tls
from bot.aiohttp_request import AiohttpRequest
from nlu import taxonomy
from nlu.rasa_client import NLUUnavailable, RasaClient

HOST = "127.0.0.1"
PARSE = {"text": "hi", "intent": {"name": "greet", "confidence": 0.99}, "entities": [], "intent_ranking": []}


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
async def impostor(tmp_path: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate; the paths it answered."""
    answered: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        answered.append(request.path)
        return web.json_response(PARSE if request.path.endswith("/parse") else {"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed(tmp_path))
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}", answered
    finally:
        await runner.cleanup()


def test_the_context_verifies_and_holds_the_public_authorities() -> None:
    context = tls.client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 100  # certifi's bundle, whatever the system has


async def test_the_bot_api_client_refuses_an_unknown_certificate(impostor: tuple[str, list[str]]) -> None:
    url, answered = impostor
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match=r"Certificate|SSL"):
            await request.post(f"{url}/bot123:abc/sendMessage", None)
    finally:
        await request.shutdown()
    assert answered == []


async def test_the_rasa_client_refuses_an_unknown_certificate(impostor: tuple[str, list[str]]) -> None:
    url, answered = impostor
    async with RasaClient(url, "token", known_intents=taxonomy.intent_names()) as client:
        with pytest.raises(NLUUnavailable):
            await client.parse("hi")
    assert answered == []
