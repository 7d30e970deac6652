"""Attachments: type by content, size limit, storage, and who may list, download and delete them."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.listings.attachments import DOC, DOCX, PPTX, XLS, XLSX, sniff
from marketplace.storage import LocalStorage
from tests.catalogue import API, create_listing, published_listing
from tests.factories import Actor, Factory

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64


def office(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<doc/>")
    return buffer.getvalue()


def ole(stream: str) -> bytes:
    return OLE + stream.encode("utf-16-le") + b"\x00" * 16


def test_types_are_recognised_by_content() -> None:
    assert sniff(office("word")) is DOCX
    assert sniff(office("xl")) is XLSX
    assert sniff(office("ppt")) is PPTX
    assert sniff(ole("WordDocument")) is DOC
    assert sniff(ole("Workbook")) is XLS
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert sniff(plain_zip.getvalue()) is None
    assert sniff(b"MZ\x90\x00 an exe") is None
    assert sniff(OLE) is None


async def upload(
    client: httpx.AsyncClient, actor: Actor, listing_id: str, name: str, content: bytes, *, confidential: bool = False
) -> httpx.Response:
    return await client.post(
        f"{API}/listings/{listing_id}/attachments",
        files={"file": (name, content, "application/octet-stream")},
        data={"confidential": "true" if confidential else "false"},
        headers=actor.headers,
    )


@pytest.mark.parametrize(
    ("name", "content", "media_type", "stored_name"),
    [
        ("报告.pdf", PDF, "application/pdf", "报告.pdf"),
        ("photo.PNG", PNG, "image/png", "photo.png"),
        ("photo.jpeg", JPEG, "image/jpeg", "photo.jpg"),
        ("说明书.docx", office("word"), DOCX.media_type, "说明书.docx"),
        ("data.xlsx", office("xl"), XLSX.media_type, "data.xlsx"),
        ("slides.pptx", office("ppt"), PPTX.media_type, "slides.pptx"),
        ("old.doc", ole("WordDocument"), DOC.media_type, "old.doc"),
        ("old.xls", ole("Workbook"), XLS.media_type, "old.xls"),
        ("misnamed.txt", PDF, "application/pdf", "misnamed.pdf"),
        ("../../etc/passwd", PDF, "application/pdf", "passwd.pdf"),
    ],
)
async def test_accepted_types(
    client: httpx.AsyncClient,
    factory: Factory,
    storage: LocalStorage,
    name: str,
    content: bytes,
    media_type: str,
    stored_name: str,
) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    listing_id = (await create_listing(client, owner)).json()["id"]
    response = await upload(client, owner, listing_id, name, content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == media_type
    assert body["filename"] == stored_name
    assert body["size_bytes"] == len(content)
    assert (storage.root / "listings" / listing_id / body["id"]).read_bytes() == content
    download = await client.get(f"{API}/listings/{listing_id}/attachments/{body['id']}", headers=owner.headers)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith(media_type)
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "attachment;" in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("virus.pdf", b"MZ\x90\x00\x03 pretending to be a pdf"),
        ("notes.pdf", b"just some text"),
        ("archive.docx", b"PK\x03\x04 not really a zip"),
    ],
)
async def test_other_content_is_415_whatever_the_name(
    client: httpx.AsyncClient, factory: Factory, name: str, content: bytes
) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    listing_id = (await create_listing(client, owner)).json()["id"]
    response = await upload(client, owner, listing_id, name, content)
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_size_limit(client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("marketplace.listings.service.ATTACHMENT_MAX_BYTES", 1024)
    owner = await factory.actor(kind=OrganizationKind.institute)
    listing_id = (await create_listing(client, owner)).json()["id"]
    assert (await upload(client, owner, listing_id, "ok.pdf", PDF + b"0" * 900)).status_code == 201
    too_big = await upload(client, owner, listing_id, "big.pdf", PDF + b"0" * 1024)
    assert too_big.status_code == 413
    assert too_big.json()["title"] == "Attachment too large"
    empty = await upload(client, owner, listing_id, "empty.pdf", b"")
    assert empty.status_code == 422


async def test_who_may_upload_list_and_delete(
    client: httpx.AsyncClient, factory: Factory, storage: LocalStorage
) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    member = await factory.actor(owner.organization, role=Role.member)
    viewer = await factory.actor(owner.organization, role=Role.viewer)
    outsider = await factory.actor(kind=OrganizationKind.enterprise)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    draft_id = (await create_listing(client, owner)).json()["id"]

    assert (await upload(client, viewer, draft_id, "a.pdf", PDF)).status_code == 403
    assert (await upload(client, outsider, draft_id, "a.pdf", PDF)).status_code == 404
    uploaded = await upload(client, member, draft_id, "a.pdf", PDF)
    assert uploaded.status_code == 201
    file_id = uploaded.json()["id"]
    url = f"{API}/listings/{draft_id}/attachments/{file_id}"
    # A draft's files are private.
    assert (await client.get(f"{API}/listings/{draft_id}/attachments")).status_code == 404
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    assert (await client.get(url, headers=viewer.headers)).status_code == 200
    assert (await client.get(url, headers=platform.headers)).status_code == 200

    assert (await client.delete(url, headers=viewer.headers)).status_code == 403
    assert (await client.delete(url, headers=outsider.headers)).status_code == 404
    assert (await client.delete(url, headers=platform.headers)).status_code == 403
    deleted = await client.delete(url, headers=member.headers)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": file_id, "deleted": True}
    assert (await client.get(url, headers=owner.headers)).status_code == 404
    assert not (storage.root / "listings" / draft_id / file_id).exists()  # removed after commit
    assert (await client.delete(url, headers=member.headers)).status_code == 404


async def test_published_listing_files_are_public_unless_confidential(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    listing_id = (await published_listing(client, owner, platform)).json()["id"]
    public = (await upload(client, owner, listing_id, "brochure.pdf", PDF)).json()["id"]
    secret = (await upload(client, owner, listing_id, "drawings.pdf", PDF, confidential=True)).json()["id"]
    listed = await client.get(f"{API}/listings/{listing_id}/attachments")
    assert [f["id"] for f in listed.json()["items"]] == [public]
    assert (await client.get(f"{API}/listings/{listing_id}/attachments/{public}")).status_code == 200
    assert (await client.get(f"{API}/listings/{listing_id}/attachments/{secret}")).status_code == 404
    detail = await client.get(f"{API}/listings/{listing_id}")
    assert detail.json()["has_confidential"] is True
