"""The left pane: the user's group spaces, or a sentence when there are none."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListView,
    QMenu,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.store.queries import DIRECT_SPACE_ID, UNGROUPED_SPACE_ID
from ui.avatar_images import AvatarImages
from ui.delegates import SpaceDelegate
from ui.models.roles import ID_ROLE, INVITED_ROLE
from ui.models.spaces import SpaceListModel
from ui.widgets import plain_label

NO_SPACES = (
    "You are not in any group spaces yet.\n\n"
    "Spaces that you join or are invited to appear here. Use + above to "
    "browse the server's spaces or create one."
)
NOT_SYNCED = "Your group spaces appear here after the first sync with the server."
MARK_ALL_READ = "Mark all as read"
BROWSE_SPACES = "Browse spaces…"
CREATE_SPACE = "Create space…"


class SpacePane(QWidget):
    """Emits space_selected(room_id), or space_selected(None) when none is left.

    The rooms that belong to no space are listed under UNGROUPED_SPACE_ID,
    which is "", so the signal carries None rather than "" for no space.
    mark_read_requested(room_id) asks to mark everything in a space read.
    The "+" button beside the heading and the rows' context menus emit
    browse_requested(), create_requested(), home_requested(room_id),
    leave_requested(room_id) and invitation_answered(room_id, accepted).
    """

    space_selected = Signal(object)
    mark_read_requested = Signal(str)
    browse_requested = Signal()
    create_requested = Signal()
    home_requested = Signal(str)
    leave_requested = Signal(str)
    invitation_answered = Signal(str, bool)

    def __init__(self, store, parent: QWidget | None = None, thumbnails=None):
        super().__init__(parent)
        self.setObjectName("spacePane")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.model = SpaceListModel(store, self)
        self._synced_once = True

        self.view = QListView()
        self.view.setObjectName("spaceList")
        self.view.setModel(self.model)
        # Spaces' pictures once their thumbnails are cached, else initials.
        self.pictures = AvatarImages(thumbnails, SpaceDelegate.TILE, self)
        self.pictures.changed.connect(self.view.viewport().update)
        self.view.setItemDelegate(SpaceDelegate(self.view, self.pictures))
        self.view.setUniformItemSizes(True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setMouseTracking(True)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._show_menu)
        self.model.modelReset.connect(self._update_empty_state)

        self.empty_label = plain_label(NO_SPACES, "emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignTop)

        self._stack = QStackedWidget()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.empty_label)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.setSpacing(0)
        self.add_button = QToolButton()
        self.add_button.setObjectName("addSpaceButton")
        self.add_button.setText("+")
        self.add_button.setToolTip("Browse or create spaces")
        self.add_button.setAccessibleName("Browse or create spaces")
        self.add_button.setAutoRaise(True)
        # The + already says that a menu opens; Qt's arrow beside it is noise.
        self.add_button.setStyleSheet(
            "QToolButton::menu-indicator { image: none; width: 0px; }"
            "QToolButton { font-size: 16px; font-weight: bold; padding: 0 6px; }"
        )
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        add_menu = QMenu(self.add_button)
        add_menu.addAction(BROWSE_SPACES, self.browse_requested.emit)
        add_menu.addAction(CREATE_SPACE, self.create_requested.emit)
        self.add_button.setMenu(add_menu)
        heading = QHBoxLayout()
        heading.setContentsMargins(0, 0, 8, 0)
        heading.addWidget(plain_label("Spaces", "paneHeading"), 1)
        heading.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(heading)
        layout.addWidget(self._stack, 1)
        self._update_empty_state()

    def set_synced_once(self, synced: bool) -> None:
        """Say whether the cache has ever been synced, for the empty-list sentence."""
        self._synced_once = synced
        self._update_empty_state()

    def _update_empty_state(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty_label.setText(NO_SPACES if self._synced_once else NOT_SYNCED)
        self._stack.setCurrentWidget(self.empty_label if empty else self.view)

    def selected_space(self) -> str | None:
        index = self.view.currentIndex()
        return index.data(ID_ROLE) if index.isValid() else None

    def select_space(self, room_id: str) -> bool:
        row = self.model.row_of(room_id)
        if row is None:
            return False
        self.view.selectionModel().setCurrentIndex(
            self.model.index(row),
            QItemSelectionModel.SelectionFlag.ClearAndSelect,
        )
        return True

    def select_first(self) -> None:
        if self.model.rowCount():
            self.select_space(self.model.room_id_at(0))

    def reload(self) -> None:
        """Re-read the spaces and keep the selected one selected."""
        selected = self.selected_space()
        self.view.selectionModel().blockSignals(True)
        self.model.reload()
        restored = selected is not None and self.select_space(selected)
        self.view.selectionModel().blockSignals(False)
        self.view.viewport().update()
        self._update_empty_state()
        if selected is not None and not restored:
            self.select_first()
            if self.selected_space() is None:
                self.space_selected.emit(None)
        elif selected is None:
            self.select_first()

    def _current_changed(self, current, previous) -> None:
        if current.isValid():
            self.space_selected.emit(current.data(ID_ROLE))

    def space_menu(self, room_id: str) -> QMenu:
        """Return the context menu of a space's row."""
        menu = QMenu(self)
        mark_read = menu.addAction(MARK_ALL_READ)
        row = self.model.row_of(room_id)
        invited = row is not None and self.model.index(row).data(INVITED_ROLE)
        mark_read.setEnabled(row is not None and not invited)
        mark_read.triggered.connect(lambda: self.mark_read_requested.emit(room_id))
        if room_id in (UNGROUPED_SPACE_ID, DIRECT_SPACE_ID) or row is None:
            return menu
        menu.addSeparator()
        if invited:
            menu.addAction(
                "Accept invitation",
                lambda: self.invitation_answered.emit(room_id, True),
            )
            menu.addAction(
                "Decline invitation",
                lambda: self.invitation_answered.emit(room_id, False),
            )
        else:
            menu.addAction("Space home", lambda: self.home_requested.emit(room_id))
            menu.addAction("Leave space…", lambda: self.leave_requested.emit(room_id))
        return menu

    def _show_menu(self, position: QPoint) -> None:
        index = self.view.indexAt(position)
        if not index.isValid():
            return
        menu = self.space_menu(index.data(ID_ROLE))
        menu.exec(self.view.viewport().mapToGlobal(position))
        menu.deleteLater()
