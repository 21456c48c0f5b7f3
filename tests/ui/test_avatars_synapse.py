"""Avatars downloaded from a real Synapse through the authenticated media API."""

import asyncio

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage

from app.matrix import MatrixClient
from app.media import ThumbnailCache
from app.profiles import ProfileFetcher
from ui.avatars import avatar_colour
from ui.profile_dialog import AVATAR_SIZE, ProfileDialog

pytestmark = pytest.mark.synapse

RED = QColor(220, 20, 20)


def _png(colour: QColor, size: int = 256) -> bytes:
    image = QImage(size, size, QImage.Format.Format_RGB32)
    image.fill(colour)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return data.data()


def _centre_colour(dialog: ProfileDialog) -> QColor:
    image = dialog.avatar.pixmap().toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def _run(qtbot, coroutine):
    """Run coroutine on the session's qasync loop and return its result."""
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=20_000)
    return task.result()


async def _upload_avatar(synapse, user) -> None:
    async with MatrixClient(synapse.base_url, user.access_token) as client:
        mxc = await client.upload_media(_png(RED), "image/png", "avatar.png")
        await client.set_profile_field(user.user_id, "avatar_url", mxc)


def test_profile_dialog_shows_server_thumbnail(
    qtbot, qasync_loop, synapse, make_user, store, tmp_path
):
    user = make_user("avatar", displayname="Ada Avatar")
    _run(qtbot, _upload_avatar(synapse, user))
    client = MatrixClient(synapse.base_url, user.access_token)
    fetcher = ProfileFetcher(client, store)
    _run(qtbot, fetcher.refresh([user.user_id]))
    thumbnails = ThumbnailCache(client, tmp_path / "thumbnails")

    dialog = ProfileDialog(store, user.user_id, thumbnails)
    qtbot.addWidget(dialog)
    # The initials show until the thumbnail has arrived.
    assert _centre_colour(dialog) != RED

    qtbot.waitUntil(lambda: _centre_colour(dialog) == RED, timeout=10_000)
    assert list((tmp_path / "thumbnails").glob("*.img"))
    _run(qtbot, client.aclose())


def test_profile_dialog_keeps_initials_without_thumbnail(
    qtbot, qasync_loop, synapse, make_user, store, tmp_path
):
    user = make_user("noavatar", displayname="Nora Noavatar")
    client = MatrixClient(synapse.base_url, user.access_token)
    fetcher = ProfileFetcher(client, store)
    _run(qtbot, fetcher.refresh([user.user_id]))
    thumbnails = ThumbnailCache(client, tmp_path / "thumbnails")

    dialog = ProfileDialog(store, user.user_id, thumbnails)
    qtbot.addWidget(dialog)
    qtbot.wait(200)

    assert _centre_colour(dialog) != RED
    assert dialog.avatar.pixmap().width() == AVATAR_SIZE * dialog.devicePixelRatio()
    corner = dialog.avatar.pixmap().toImage().pixelColor(AVATAR_SIZE // 2, 4)
    assert corner == avatar_colour(user.user_id)
    _run(qtbot, client.aclose())
