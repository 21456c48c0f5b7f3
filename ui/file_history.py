"""The version history of one file: every version with who shared it and when."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.store.file_versions import FileVersion
from app.text import clean_name, format_size
from ui.models.files import UNNAMED_FILE
from ui.models.roles import ID_ROLE
from ui.text_format import full_time, person_name
from ui.widgets import plain_label


class FileHistoryDialog(QDialog):
    """Lists versions newest first; emits open_requested and save_requested(event id)."""

    open_requested = Signal(str)
    save_requested = Signal(str)

    def __init__(self, versions: list[FileVersion], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("fileHistory")
        latest = clean_name(versions[0].name, fallback=UNNAMED_FILE) if versions else ""
        self.setWindowTitle(f"Versions of {latest}")
        self.resize(640, 360)

        heading = plain_label(
            f"{len(versions)} versions, newest first. Open or save any of them.",
            "dialogHint",
        )
        heading.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(["Version", "Name", "Shared by", "Date", "Size"])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setAllColumnsShowFocus(True)
        header = self.tree.header()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        for number, version in enumerate(versions):
            label = "Latest" if number == 0 else f"Version {len(versions) - number}"
            item = QTreeWidgetItem(
                [
                    label,
                    clean_name(version.name, fallback=UNNAMED_FILE),
                    person_name(version.sender_name, version.sender),
                    full_time(version.ts),
                    format_size(version.size),
                ]
            )
            item.setData(0, ID_ROLE, version.event_id)
            item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight)
            self.tree.addTopLevelItem(item)
        if versions:
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.tree.itemActivated.connect(lambda item, _column: self._open(item))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open")
        self.save_button = QPushButton("Save as…")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.open_button.clicked.connect(lambda: self._open(self.tree.currentItem()))
        self.save_button.clicked.connect(self._save)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

    def event_ids(self) -> list[str]:
        return [
            self.tree.topLevelItem(row).data(0, ID_ROLE)
            for row in range(self.tree.topLevelItemCount())
        ]

    def _open(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.open_requested.emit(item.data(0, ID_ROLE))

    def _save(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.save_requested.emit(item.data(0, ID_ROLE))
