"""The sidebar's space tiles: a space's picture, or initials from one script."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage

from app.records import RoomState
from ui.avatars import tile_initials
from ui.delegates import PADDING, SpaceDelegate
from ui.space_pane import SpacePane

PICTURE = "mxc://example.org/guild"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Data Guild", "DG"),
        ("Knock نادي", "K"),
        ("نادي Reading", "ن"),
        ("نادي القراءة", "نا"),
        ("Жанна Петрова", "ЖП"),
        ("Guild 2024", "G"),
    ],
)
def test_tile_initials_one_script(name, expected):
    assert tile_initials(name) == expected


class CachedThumbnails:
    """A thumbnail cache that has every picture on disk already."""

    def __init__(self, path):
        self.path = path

    def cached(self, mxc, size):
        return self.path

    async def fetch(self, mxc, size):
        return self.path


def test_sidebar_shows_space_picture(qtbot, qasync_loop, cache, store, tmp_path):
    picture = QImage(64, 64, QImage.Format.Format_ARGB32)
    picture.fill(QColor("#ff0000"))
    path = tmp_path / "guild.png"
    assert picture.save(str(path))
    cache.space("!guild:x", "Knock Club")
    cache._batch("!guild:x").items.append(
        RoomState("!guild:x", kind="space", avatar_url=PICTURE)
    )
    cache.space("!plain:x", "Plain Club")
    cache.commit()
    pane = SpacePane(store, thumbnails=CachedThumbnails(path))
    qtbot.addWidget(pane)
    pane.resize(240, 200)
    pane.show()
    qtbot.waitExposed(pane)

    shot = pane.view.grab().toImage()
    rows = {
        pane.model.index(row).data(): pane.view.visualRect(pane.model.index(row))
        for row in range(pane.model.rowCount())
    }
    tile_x = PADDING + SpaceDelegate.TILE // 2
    ratio = shot.devicePixelRatio()
    with_picture = shot.pixelColor(
        int(tile_x * ratio), int(rows["Knock Club"].center().y() * ratio)
    )
    without = shot.pixelColor(
        int(tile_x * ratio), int(rows["Plain Club"].center().y() * ratio)
    )
    assert with_picture.name() == "#ff0000"
    assert without.name() != "#ff0000"
