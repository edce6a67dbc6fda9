"""Posters through the dashboard: a school's poster QR opens that school's deep link; only for its viewers."""

from __future__ import annotations

import io

import httpx
import zxingcpp
from PIL import Image

from casework import links
from storage.models import School, WebRole
from tests.web.conftest import Site, add_person, login, next_code


async def signed_in(site: Site, email: str, role: WebRole, codes: list[str]) -> httpx.AsyncClient:
    person = await add_person(site.db, email, role, codes)
    client = site.fresh_client()
    assert (await login(client, person.email, person.password, next_code(person))).status_code == 303
    return client


async def test_a_posters_qr_decodes_to_its_schools_deep_link(site: Site) -> None:
    site.config.bot_username = "sro_connect_demo_bot"
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    assert "/posters/BIG.pdf" in (await client.get("/coverage")).text
    response = await client.get("/posters/BIG.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(response.content)))]
    async with site.db.transaction() as session:
        school = await session.get(School, site.ids["BIG"])
        assert school is not None
        expected = await links.school_deep_link(session, "sro_connect_demo_bot", school)
    assert found == [expected]
    assert expected.startswith("https://t.me/sro_connect_demo_bot?start=")
    pdf = await client.get("/posters/BIG.pdf?lang=fr")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


async def test_a_school_account_gets_only_its_own_schools_posters(site: Site) -> None:
    site.config.bot_username = "sro_connect_demo_bot"
    mid = await signed_in(site, "principal@mid.example.org", WebRole.SCHOOL, ["MID"])
    assert (await mid.get("/posters/BIG.png")).status_code == 404
    assert (await mid.get("/posters/MID.png")).status_code == 200  # its own (positive control)
    assert (await site.fresh_client().get("/posters/MID.png")).status_code == 303  # nobody signed in


async def test_no_posters_without_a_bot_username(site: Site) -> None:
    client = await signed_in(site, "ann@example.org", WebRole.COORDINATOR, [])
    assert "/posters/" not in (await client.get("/coverage")).text
    assert (await client.get("/posters/BIG.png")).status_code == 404
