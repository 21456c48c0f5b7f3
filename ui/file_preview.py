"""The preview beside a files area's list: a picture of the file and its details.

The picture is, in order of preference, the downloaded file itself (an image
or a PDF's first page, drawn by app.previews in a child process), the
server's thumbnail of an image, or a type icon. The type shown is read from
the downloaded content. Before the download it is the type the sender
claimed, marked "(as sent)". Small PDFs and images are downloaded for their preview when they
are selected.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.errors import CommonplaceError
from app.matrix.errors import MatrixError
from app.previews import FileType, PreviewError, detect_file_type, render_preview
from app.store.file_versions import FileEntry
from app.text import format_size
from ui.file_icons import claimed_kind, type_pixmap
from ui.models.files import file_name
from ui.tasks import TaskRunner
from ui.text_format import clock_time, full_time, person_name
from ui.widgets import plain_label

log = logging.getLogger(__name__)

# Files up to this size are downloaded for a preview when selected, in bytes.
AUTO_PREVIEW_BYTES = 10 * 1024 * 1024
# Size of the server thumbnail requested for the preview, in pixels.
PREVIEW_THUMBNAIL_SIZE = 320
ICON_SIZE = 96

NOTHING_CHOSEN = "Choose a file to see its preview and details."
NO_PREVIEW = "Open the file to see it: there is no preview for this type."
DOWNLOAD_FOR_PREVIEW = "Open or save the file to see a preview."
DOWNLOADING = "Downloading for the preview…"
CLAIMED_TYPE_TIP = (
    "The type the sender's app gave. Commonplace reads the real type from the "
    "content once the file is downloaded."
)
CHECKED_TYPE_TIP = "Read from the file's content."


async def in_thread(function, *args):
    """Run a blocking file operation in a thread of its own."""
    # A pool of our own, shut down at once: qasync's default executor keeps
    # QThreads that Qt reports as destroyed while running at exit.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="files") as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)


class PreviewImageLabel(QLabel):
    """A picture scaled to fit the label, never above its own size."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._image: QImage | None = None

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self._rescale()

    def image(self) -> QImage | None:
        return self._image

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def sizeHint(self) -> QSize:
        return QSize(240, 240)

    def _rescale(self) -> None:
        if self._image is None:
            self.clear()
            return
        ratio = self.devicePixelRatioF()
        width = min(self.width(), self._image.width() / ratio)
        height = min(self.height(), self._image.height() / ratio)
        pixmap = QPixmap.fromImage(self._image).scaled(
            round(width * ratio),
            round(height * ratio),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        pixmap.setDevicePixelRatio(ratio)
        self.setPixmap(pixmap)


class FileDetailLabel(QLabel):
    """A one-line plain-text label that cuts text too wide for it with "…".

    Unlike ui.widgets.ElidedLabel, it can cut in the middle, and its tooltip
    adds a note (what the value means) after the whole text.
    """

    def __init__(self, mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight):
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        # Ignored: the label takes the width it is given instead of its text's.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._mode = mode
        self._full_text = ""
        self._note = ""

    def set_full_text(self, text: str, note: str = "") -> None:
        self._full_text = text
        self._note = note
        self._elide()

    def full_text(self) -> str:
        return self._full_text

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        metrics = self.fontMetrics()
        shown = metrics.elidedText(self._full_text, self._mode, self.width())
        self.setText(shown)
        tips = [self._full_text] if shown != self._full_text else []
        if self._note:
            tips.append(self._note)
        self.setToolTip("\n".join(tips))


class FilePreview(QWidget):
    """Emits open_requested, save_requested, history_requested and
    new_version_requested with the shown file's event id, and
    offline_toggled(event id, available) from the "Available offline" box."""

    open_requested = Signal(str)
    save_requested = Signal(str)
    history_requested = Signal(str)
    new_version_requested = Signal(str)
    offline_toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("filePreview")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self._transfers = None
        self._thumbnails = None
        self._uploads_allowed = False
        self._entry: FileEntry | None = None
        self._runner = TaskRunner(self)
        # Bumped for each shown file, so a late result for another is dropped.
        self._generation = 0
        # True once the downloaded copy's preview replaced icon or thumbnail.
        self._local_shown = False

        self.picture = PreviewImageLabel()
        self.picture.setObjectName("previewPicture")
        # Cut in the middle like the list, so that the extension stays visible.
        self.name_label = FileDetailLabel(Qt.TextElideMode.ElideMiddle)
        self.name_label.setObjectName("previewName")
        name_font = self.name_label.font()
        name_font.setBold(True)
        name_font.setPointSizeF(name_font.pointSizeF() * 1.15)
        self.name_label.setFont(name_font)
        self.message_label = plain_label("", "previewMessage")
        self.message_label.setWordWrap(True)

        self.size_value = FileDetailLabel()
        self.type_value = FileDetailLabel()
        self.sender_value = FileDetailLabel()
        self.date_value = FileDetailLabel()
        self.versions_value = FileDetailLabel()
        details = QFormLayout()
        details.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        details.setFieldGrowthPolicy(
            QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow
        )
        details.addRow("Size", self.size_value)
        details.addRow("Type", self.type_value)
        details.addRow("Shared by", self.sender_value)
        details.addRow("Date", self.date_value)
        details.addRow("Versions", self.versions_value)
        self._details = QWidget()
        self._details.setLayout(details)

        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("openFile")
        self.open_button.setDefault(True)
        self.save_button = QPushButton("Save as…")
        self.history_button = QPushButton("Version history…")
        self.new_version_button = QPushButton("Upload new version…")
        self.open_button.clicked.connect(lambda: self._emit(self.open_requested))
        self.save_button.clicked.connect(lambda: self._emit(self.save_requested))
        self.history_button.clicked.connect(lambda: self._emit(self.history_requested))
        self.new_version_button.clicked.connect(
            lambda: self._emit(self.new_version_requested)
        )
        self.offline_check = QCheckBox("Available offline")
        self.offline_check.setToolTip("Keep a copy of this file on this computer.")
        self.offline_check.clicked.connect(self._offline_clicked)
        first_row = QHBoxLayout()
        first_row.addWidget(self.open_button)
        first_row.addWidget(self.save_button)
        first_row.addStretch()
        # One per line, so that a narrow panel keeps their whole labels.
        second_row = QVBoxLayout()
        second_row.setSpacing(6)
        second_row.addWidget(self.new_version_button, 0, Qt.AlignmentFlag.AlignLeft)
        second_row.addWidget(self.history_button, 0, Qt.AlignmentFlag.AlignLeft)
        # The picture takes the free height, so the rows below it keep their
        # place from the bottom. The history button comes last and keeps its
        # space when hidden, so the buttons above it stay put between files
        # with and without versions.
        policy = self.history_button.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.history_button.setSizePolicy(policy)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.name_label)
        layout.addWidget(self.message_label)
        layout.addWidget(self._details)
        layout.addWidget(self.offline_check)
        layout.addLayout(first_row)
        layout.addLayout(second_row)
        self.show_file(None)

    def set_services(self, transfers, thumbnails, *, uploads_allowed: bool) -> None:
        self._transfers = transfers
        self._thumbnails = thumbnails
        self._uploads_allowed = uploads_allowed and transfers is not None
        self.show_file(self._entry)

    def entry(self) -> FileEntry | None:
        return self._entry

    def message(self) -> str:
        return self.message_label.text()

    def type_text(self) -> str:
        return self.type_value.full_text()

    def _set_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _offline_clicked(self, checked: bool) -> None:
        if self._entry is not None:
            self.offline_toggled.emit(self._entry.latest.event_id, checked)

    def update_offline_mark(self) -> None:
        """Show whether the shown file is marked available offline."""
        marked = False
        if self._transfers is not None and self._entry is not None:
            marked = self._transfers.is_offline(self._entry.latest.event_id)
        self.offline_check.setChecked(marked)

    def _may_add_version(self, entry: FileEntry) -> bool:
        """Return whether the user may upload a new version of entry's file."""
        if self._transfers is None:
            return True
        return self._transfers.may_add_version(entry.latest.event_id)

    def _emit(self, signal) -> None:
        if self._entry is not None:
            signal.emit(self._entry.latest.event_id)

    # -- Showing a file ----------------------------------------------------

    def show_file(self, entry: FileEntry | None) -> None:
        self._generation += 1
        self._local_shown = False
        self._entry = entry
        has_file = entry is not None
        for widget in (self._details, self.open_button, self.save_button):
            widget.setVisible(has_file)
        self.history_button.setVisible(has_file and entry.version_count > 1)
        self.new_version_button.setVisible(
            has_file and self._uploads_allowed and self._may_add_version(entry)
        )
        self.name_label.setVisible(has_file)
        self.offline_check.setVisible(has_file and self._transfers is not None)
        self.update_offline_mark()
        if entry is None:
            self.picture.set_image(None)
            self.picture.hide()
            self._set_message(NOTHING_CHOSEN)
            return
        self.picture.show()
        version = entry.latest
        kind = claimed_kind(version.name, version.mimetype, version.msgtype)
        self.name_label.set_full_text(file_name(entry))
        self.size_value.set_full_text(format_size(version.size) or "Unknown")
        self.sender_value.set_full_text(
            person_name(version.sender_name, version.sender)
        )
        self.date_value.set_full_text(
            clock_time(version.ts / 1000), full_time(version.ts)
        )
        self.versions_value.set_full_text(
            "1 (no earlier versions)"
            if entry.version_count == 1
            else f"{entry.version_count}, this is the latest"
        )
        self.type_value.set_full_text(
            f"{version.mimetype or 'Not given'} (as sent)", CLAIMED_TYPE_TIP
        )
        self._show_icon(kind)
        self._set_message("")

        cached = None
        if self._transfers is not None:
            cached = self._transfers.cached_copy(version.event_id)
        if cached is not None:
            self.show_local_copy(Path(cached))
            return
        if kind == "image" and self._thumbnails is not None:
            self._show_thumbnail(version.url)
        if (
            kind in ("image", "pdf")
            and self._transfers is not None
            and version.size is not None
            and version.size <= AUTO_PREVIEW_BYTES
        ):
            self._download_for_preview(version.event_id)
        elif kind != "image":
            self._set_message(DOWNLOAD_FOR_PREVIEW)

    def show_local_copy(self, path: Path) -> None:
        """Show the preview of the downloaded copy at path of the shown file."""
        generation = self._generation
        self._runner.run(
            self._read_local(path),
            lambda result: self._local_ready(generation, result),
            lambda error: self._preview_failed(generation, error),
            key="preview",
        )

    async def _read_local(self, path: Path) -> tuple[FileType, QImage | None]:
        file_type = await in_thread(detect_file_type, path)
        if not file_type.previewable:
            return file_type, None
        try:
            preview = await render_preview(path, file_type)
        except PreviewError as error:
            error.file_type = file_type
            raise
        image = QImage(
            preview.rgba,
            preview.width,
            preview.height,
            preview.width * 4,
            QImage.Format.Format_RGBA8888,
        ).copy()
        if file_type.kind == "pdf":
            _outline(image)
        if preview.page_count is not None and preview.page_count > 1:
            file_type = FileType(
                file_type.kind,
                f"{file_type.label}, {preview.page_count} pages",
                file_type.mimetype,
                file_type.previewable,
            )
        return file_type, image

    def _local_ready(self, generation: int, result) -> None:
        if generation != self._generation:
            return
        file_type, image = result
        self.type_value.set_full_text(file_type.label, CHECKED_TYPE_TIP)
        if image is None:
            self._show_icon(file_type.kind)
            self._set_message(NO_PREVIEW)
            return
        self.picture.set_image(image)
        self._local_shown = True
        self._set_message("")

    def _preview_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        file_type = getattr(error, "file_type", None)
        if file_type is not None:
            self.type_value.set_full_text(file_type.label, CHECKED_TYPE_TIP)
            self._show_icon(file_type.kind)
        if isinstance(error, PreviewError):
            self._set_message(str(error))
        elif isinstance(error, OSError):
            log.warning("Downloaded file not readable for its preview: %s", error)
            self._set_message(
                "The downloaded copy could not be read, so there is no preview. "
                "Open the file to download it again."
            )
        else:
            log.error("Preview of a downloaded file failed", exc_info=error)
            self._set_message("The preview could not be made.")

    def _show_icon(self, kind: str) -> None:
        ratio = self.devicePixelRatioF()
        self.picture.set_image(type_pixmap(kind, ICON_SIZE, ratio).toImage())

    def _show_thumbnail(self, url: str) -> None:
        generation = self._generation
        self._runner.run(
            self._thumbnails.fetch(url, PREVIEW_THUMBNAIL_SIZE),
            lambda path: self._thumbnail_ready(generation, path),
            lambda error: log.info("Preview thumbnail not fetched: %s", error),
            key="thumbnail",
        )

    def _thumbnail_ready(self, generation: int, path) -> None:
        if generation != self._generation or path is None:
            return
        if self._local_shown:
            # The downloaded file's own preview is sharper than a thumbnail.
            return
        image = QImage(str(path))
        if not image.isNull():
            self.picture.set_image(image)

    def _download_for_preview(self, event_id: str) -> None:
        generation = self._generation
        self._set_message(DOWNLOADING)
        self._runner.run(
            self._transfers.download(event_id),
            lambda path: self._downloaded(generation, path),
            lambda error: self._download_failed(generation, error),
            key="download",
        )

    def _downloaded(self, generation: int, path) -> None:
        if generation != self._generation:
            return
        self._set_message("")
        self.show_local_copy(Path(path))

    def _download_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(error, (CommonplaceError, MatrixError)):
            log.info("Download for a preview failed: %s", error.message)
            self._set_message(f"No preview: {error.message}")
            return
        log.error("Download for a preview failed", exc_info=error)
        self._set_message(
            "No preview: the file could not be downloaded. Open it to try again."
        )


def _outline(image: QImage) -> None:
    """Draw a thin grey border around a page, so a white page is visible on the panel."""
    painter = QPainter(image)
    painter.setPen(QColor("#c4c9d0"))
    painter.drawRect(0, 0, image.width() - 1, image.height() - 1)
    painter.end()
