"""Choosing a picture for one's avatar: load it safely, crop it square, scale it.

load_picture reads the file with Qt's image reader, which recognises the
format from the content, applies the camera's rotation and refuses images
that would need more than ALLOCATION_LIMIT_MB to decode. The crop dialog
shows the picture with a square frame that the user drags and resizes with
the slider or the mouse wheel. avatar_bytes turns the chosen square into an
OUTPUT_SIZE PNG, or a JPEG when the PNG would be over MAX_AVATAR_BYTES.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QIODevice,
    QPointF,
    QRectF,
    QSize,
    QStandardPaths,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QImage,
    QImageReader,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.errors import CommonplaceError
from ui.widgets import plain_label

PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.gif *.webp);;All files (*)"
# Larger pictures are refused before they are read.
MAX_FILE_BYTES = 30 * 1024 * 1024
ALLOCATION_LIMIT_MB = 256
# The side of a square picture that fits in ALLOCATION_LIMIT_MB at 4 bytes a pixel.
MAX_SIDE_HINT = 8000
# Side of the uploaded avatar in pixels: sharp at twice the largest size shown.
OUTPUT_SIZE = 512
MAX_AVATAR_BYTES = 1024 * 1024
JPEG_QUALITY = 90
# The smallest crop, as a share of the picture's shorter side.
MIN_CROP_SHARE = 0.2


class PictureRejected(CommonplaceError):
    """The chosen file cannot be used as an avatar; message gives the reason."""


def load_picture(path: Path) -> QImage:
    """Return the picture in path, upright, or raise PictureRejected."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise PictureRejected(
            f"Could not open “{path.name}”: {error.strerror or error}. "
            "Choose another file."
        ) from error
    if size > MAX_FILE_BYTES:
        raise PictureRejected(
            f"“{path.name}” is {size / 1024 / 1024:.0f} MB; pictures up to "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB can be used. Choose a smaller one."
        )
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    reader.setDecideFormatFromContent(True)
    reader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    dimensions = reader.size()
    if dimensions.width() * dimensions.height() * 4 > ALLOCATION_LIMIT_MB * 1024 * 1024:
        raise PictureRejected(
            f"“{path.name}” is {dimensions.width()} × {dimensions.height()} pixels, "
            f"too large to open; pictures up to about {MAX_SIDE_HINT} × "
            f"{MAX_SIDE_HINT} can be used. Choose a smaller one."
        )
    image = reader.read()
    if image.isNull():
        raise PictureRejected(
            f"“{path.name}” is not a picture that can be read "
            f"({reader.errorString()}). Choose a PNG, JPEG, GIF or WebP file."
        )
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def avatar_bytes(image: QImage, crop: QRectF) -> tuple[bytes, str]:
    """Return the crop of image scaled to OUTPUT_SIZE, as (data, mimetype)."""
    square = image.copy(crop.toAlignedRect()).scaled(
        OUTPUT_SIZE,
        OUTPUT_SIZE,
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    png = _encode(square, "PNG")
    if len(png) <= MAX_AVATAR_BYTES:
        return png, "image/png"
    # JPEG has no transparency; a white background looks right in most themes.
    flat = QImage(square.size(), QImage.Format.Format_RGB32)
    flat.fill(QColor("white"))
    painter = QPainter(flat)
    painter.drawImage(0, 0, square)
    painter.end()
    return _encode(flat, "JPEG", JPEG_QUALITY), "image/jpeg"


def _encode(image: QImage, image_format: str, quality: int = -1) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, image_format, quality)
    return bytes(buffer.data())


class CropArea(QWidget):
    """The picture, dimmed outside a square frame that the user moves and sizes.

    crop is in the picture's pixels. Emits crop_changed() on every change.
    """

    crop_changed = Signal()

    VIEW_SIZE = 360

    def __init__(self, image: QImage, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("cropArea")
        self.image = image
        self.setMinimumSize(QSize(self.VIEW_SIZE, self.VIEW_SIZE))
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        side = min(image.width(), image.height())
        self.crop = QRectF(
            (image.width() - side) / 2, (image.height() - side) / 2, side, side
        )
        self._drag_from: QPointF | None = None

    def max_side(self) -> float:
        return float(min(self.image.width(), self.image.height()))

    def set_side(self, side: float) -> None:
        """Resize the frame around its centre, within the picture."""
        side = max(min(side, self.max_side()), self.max_side() * MIN_CROP_SHARE, 1.0)
        centre = self.crop.center()
        self.crop = QRectF(centre.x() - side / 2, centre.y() - side / 2, side, side)
        self._keep_inside()

    def move_by(self, dx: float, dy: float) -> None:
        self.crop.translate(dx, dy)
        self._keep_inside()

    def _keep_inside(self) -> None:
        left = min(max(self.crop.left(), 0.0), self.image.width() - self.crop.width())
        top = min(max(self.crop.top(), 0.0), self.image.height() - self.crop.height())
        self.crop.moveTo(left, top)
        self.crop_changed.emit()
        self.update()

    def _scale(self) -> float:
        return min(
            self.width() / self.image.width(), self.height() / self.image.height()
        )

    def _image_rect(self) -> QRectF:
        scale = self._scale()
        width, height = self.image.width() * scale, self.image.height() * scale
        return QRectF(
            (self.width() - width) / 2, (self.height() - height) / 2, width, height
        )

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#2b2f36"))
        target = self._image_rect()
        painter.drawImage(target, self.image)
        scale = self._scale()
        frame = QRectF(
            target.left() + self.crop.left() * scale,
            target.top() + self.crop.top() * scale,
            self.crop.width() * scale,
            self.crop.height() * scale,
        )
        outside = QPainterPath()
        outside.addRect(target)
        circle = QPainterPath()
        circle.addEllipse(frame)
        painter.fillPath(outside.subtracted(circle), QColor(0, 0, 0, 140))
        painter.setPen(QPen(QColor("white"), 2))
        painter.drawEllipse(frame)
        painter.setPen(QPen(QColor(255, 255, 255, 120), 1, Qt.PenStyle.DashLine))
        painter.drawRect(frame)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            delta = (event.position() - self._drag_from) / self._scale()
            self._drag_from = event.position()
            self.move_by(delta.x(), delta.y())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        self.set_side(self.crop.width() * (0.9**steps))


class AvatarCropDialog(QDialog):
    """Lets the user choose the square of a picture that becomes the avatar."""

    SLIDER_STEPS = 100

    def __init__(self, image: QImage, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("avatarCropDialog")
        self.setWindowTitle("Crop picture")
        self.area = CropArea(image)
        hint = plain_label(
            "Drag the circle to choose what shows; zoom with the slider or the "
            "mouse wheel.",
            "dialogText",
        )
        hint.setWordWrap(True)
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setObjectName("cropZoom")
        self.zoom.setAccessibleName("Zoom")
        self.zoom.setRange(0, self.SLIDER_STEPS)
        self.zoom.valueChanged.connect(self._zoom_changed)
        self.area.crop_changed.connect(self._crop_changed)
        zoom_row = QHBoxLayout()
        zoom_row.addWidget(plain_label("Zoom", "fieldLabel"))
        zoom_row.addWidget(self.zoom, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Use picture")
        ok.setObjectName("primaryButton")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 14)
        layout.setSpacing(12)
        layout.addWidget(hint)
        layout.addWidget(self.area, 1)
        layout.addLayout(zoom_row)
        layout.addWidget(buttons)

    def result_bytes(self) -> tuple[bytes, str]:
        return avatar_bytes(self.area.image, self.area.crop)

    def _side_for(self, value: int) -> float:
        largest = self.area.max_side()
        smallest = largest * MIN_CROP_SHARE
        return largest - (largest - smallest) * value / self.SLIDER_STEPS

    def _zoom_changed(self, value: int) -> None:
        self.area.set_side(self._side_for(value))

    def _crop_changed(self) -> None:
        largest = self.area.max_side()
        smallest = largest * MIN_CROP_SHARE
        share = (largest - self.area.crop.width()) / max(largest - smallest, 1e-9)
        self.zoom.blockSignals(True)
        self.zoom.setValue(round(share * self.SLIDER_STEPS))
        self.zoom.blockSignals(False)


def choose_picture_file(parent: QWidget) -> Path | None:
    """Ask for a picture file, starting in the user's Pictures folder."""
    folder = QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.PicturesLocation
    )
    # A folder that does not exist would be typed into the name box.
    if not Path(folder).is_dir():
        folder = str(Path.home())
    name, _ = QFileDialog.getOpenFileName(
        parent, "Choose a picture", folder, PICTURE_FILTER
    )
    return Path(name) if name else None


def crop_picture_file(
    parent: QWidget, path: Path, show_error: Callable[[str], None]
) -> tuple[bytes, str] | None:
    """Load path and let the user crop it; return (data, mimetype), or None.

    A file that is not a usable picture is reported through show_error.
    """
    try:
        image = load_picture(path)
    except PictureRejected as error:
        show_error(error.message)
        return None
    crop = AvatarCropDialog(image, parent)
    if crop.exec() != QDialog.DialogCode.Accepted:
        return None
    return crop.result_bytes()
