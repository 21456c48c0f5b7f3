"""Choosing and cropping a picture for the avatar, with real image files."""

import random

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageIOHandler,
    QImageWriter,
    QPainter,
)

from ui.avatar_crop import (
    MAX_AVATAR_BYTES,
    OUTPUT_SIZE,
    AvatarCropDialog,
    PictureRejected,
    avatar_bytes,
    load_picture,
)


def _picture(tmp_path, name="photo.png", width=800, height=400, image_format="PNG"):
    """Save a picture whose left half is red and right half is blue."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    painter = QPainter(image)
    painter.fillRect(width // 2, 0, width - width // 2, height, QColor("blue"))
    painter.end()
    path = tmp_path / name
    assert image.save(str(path), image_format)
    return path


def test_load_picture_reads_content_type(tmp_path):
    path = _picture(tmp_path, "holiday.txt")

    image = load_picture(path)

    assert (image.width(), image.height()) == (800, 400)


def test_load_picture_rejects_non_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture")

    with pytest.raises(PictureRejected) as raised:
        load_picture(path)

    assert "notes.png" in raised.value.message
    assert "Choose a PNG, JPEG, GIF or WebP file" in raised.value.message


def test_load_picture_rejects_huge_file(tmp_path):
    path = tmp_path / "huge.png"
    with open(path, "wb") as file:
        file.truncate(31 * 1024 * 1024)

    with pytest.raises(PictureRejected, match="pictures up to 30 MB"):
        load_picture(path)


def test_load_picture_missing_file(tmp_path):
    with pytest.raises(PictureRejected, match="Could not open “gone.png”"):
        load_picture(tmp_path / "gone.png")


def test_avatar_bytes_square_png(tmp_path):
    image = load_picture(_picture(tmp_path))

    data, mimetype = avatar_bytes(image, QRectF(400, 0, 400, 400))

    result = QImage.fromData(data)
    assert mimetype == "image/png"
    assert (result.width(), result.height()) == (OUTPUT_SIZE, OUTPUT_SIZE)
    assert result.pixelColor(OUTPUT_SIZE // 2, OUTPUT_SIZE // 2) == QColor("blue")


def test_avatar_bytes_large_png_becomes_jpeg(tmp_path):
    # Random pixels with random transparency do not compress.
    noise = QImage(OUTPUT_SIZE, OUTPUT_SIZE, QImage.Format.Format_ARGB32)
    generator = random.Random(7)
    for y in range(OUTPUT_SIZE):
        for x in range(OUTPUT_SIZE):
            noise.setPixel(x, y, generator.getrandbits(32))

    data, mimetype = avatar_bytes(noise, QRectF(0, 0, OUTPUT_SIZE, OUTPUT_SIZE))

    assert mimetype == "image/jpeg"
    assert len(data) <= MAX_AVATAR_BYTES
    assert data.startswith(b"\xff\xd8\xff")


def test_load_picture_applies_rotation(tmp_path):
    # The writer stores the rotation as EXIF orientation, as cameras do.
    image = QImage(300, 100, QImage.Format.Format_RGB32)
    image.fill(QColor("green"))
    path = tmp_path / "rotated.jpg"
    writer = QImageWriter(str(path), b"jpeg")
    writer.setTransformation(QImageIOHandler.Transformation.TransformationRotate90)
    assert writer.write(image)

    loaded = load_picture(path)

    assert (loaded.width(), loaded.height()) == (100, 300)


def test_crop_drag_stays_inside(qtbot, tmp_path):
    dialog = AvatarCropDialog(load_picture(_picture(tmp_path)))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    area = dialog.area

    assert area.crop == QRectF(200, 0, 400, 400)
    qtbot.mousePress(area, Qt.MouseButton.LeftButton, pos=area.rect().center())
    qtbot.mouseMove(area, area.rect().center() + area.rect().topRight() / 2)
    qtbot.mouseRelease(area, Qt.MouseButton.LeftButton)
    assert area.crop.right() == 800
    assert area.crop.top() == 0


def test_zoom_slider_keeps_centre(qtbot, tmp_path):
    dialog = AvatarCropDialog(load_picture(_picture(tmp_path)))
    qtbot.addWidget(dialog)

    dialog.zoom.setValue(dialog.SLIDER_STEPS)

    assert dialog.area.crop.width() == pytest.approx(80)
    assert dialog.area.crop.center().x() == pytest.approx(400)
    data, _ = dialog.result_bytes()
    assert QImage.fromData(data).width() == OUTPUT_SIZE


def test_load_picture_giant_dimensions(tmp_path):
    # A valid JPEG of 16000 × 12000 pixels compresses to little, as a flat colour.
    image = QImage(16000, 12000, QImage.Format.Format_RGB32)
    image.fill(QColor("grey"))
    path = tmp_path / "panorama.jpg"
    assert image.save(str(path), "JPEG", 10)
    del image

    with pytest.raises(PictureRejected) as raised:
        load_picture(path)

    assert "16000 × 12000 pixels" in raised.value.message
    assert "Choose a smaller one" in raised.value.message
