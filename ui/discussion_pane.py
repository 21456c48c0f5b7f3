"""The middle pane: a space's boards and the discussions of the chosen board.

A board that cannot be read (end-to-end encrypted), a space that is only an
invitation, and a board without discussions each get a sentence in place of
an empty list.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QSizePolicy,
    QListView,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.records import Changes
from app.store.queries import UNGROUPED_SPACE_ID, SpaceSummary, count_discussions
from app.text import clean_name
from ui.delegates import DiscussionDelegate
from ui.files_view import FilesView
from ui.models.boards import ALL_BOARDS_ID, BoardEntry, BoardListModel
from ui.models.discussions import DiscussionListModel
from ui.models.roles import ID_ROLE, SEND_STATE_ROLE
from ui.text_format import count_label, space_name
from ui.thread_view import ENCRYPTED_NOTICE
from ui.widgets import ElidedComboBox, ElidedLabel, plain_label

NO_BOARDS = "This space has no boards yet."
NO_DISCUSSIONS = "No discussions yet.\n\nDiscussions started in this board appear here."
NO_SPACE = "Choose a space on the left to see its discussions."
INVITED = (
    "You are invited to this space.\n\n"
    "Accept the invitation to see its boards here, or decline it to remove it "
    "from your list."
)


class DiscussionPane(QWidget):
    """Emits discussion_opened(event_id) and board_changed() for the reading pane.

    new_discussion_requested(room id) comes from the "New discussion" button;
    retry_requested(post id) and discard_requested(post id) from the menu of
    a discussion that failed to send.
    """

    discussion_opened = Signal(str)
    board_changed = Signal()
    new_discussion_requested = Signal(str)
    retry_requested = Signal(str)
    discard_requested = Signal(str)
    # True while a files area fills the pane: its preview replaces the
    # reading pane.
    files_shown = Signal(bool)
    # A sentence for the status bar from the files area.
    status_message = Signal(str)
    # (space id, True to accept or False to decline) from the invitation's buttons.
    invitation_answered = Signal(str, bool)

    def __init__(self, store, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("discussionPane")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self._store = store
        self._space: SpaceSummary | None = None
        self._entry: BoardEntry | None = None

        self.title_label = ElidedLabel()
        self.title_label.setObjectName("spaceTitle")
        self.topic_label = ElidedLabel()
        self.topic_label.setObjectName("spaceTopic")

        self.boards = BoardListModel(store, self)
        self.board_combo = ElidedComboBox(minimum_characters=20)
        self.board_combo.setObjectName("boardChooser")
        self.board_combo.setModel(self.boards)
        self.board_combo.setMaximumWidth(320)
        self.board_combo.currentIndexChanged.connect(self._board_chosen)
        self.count_label = plain_label("", "countLabel")
        # Names the only board of a space, where the chooser is hidden.
        self.board_label = ElidedLabel()
        self.board_label.setObjectName("boardLabel")

        self.banner = plain_label("", "banner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.discussions = DiscussionListModel(store, self)
        self.discussions.id_changed.connect(self._discussion_id_changed)
        # The view and its selection model move the current index to a
        # neighbour when the current row is removed. These handlers must run
        # before theirs, so they are connected before setModel.
        self._removing_current = False
        self.discussions.rowsAboutToBeRemoved.connect(self._rows_about_to_be_removed)
        self.discussions.rowsRemoved.connect(self._rows_removed)
        # The discussion last announced through discussion_opened.
        self._opened_id: str | None = None
        self.list_view = QListView()
        self.list_view.setObjectName("discussionList")
        self.list_view.setModel(self.discussions)
        self.list_view.setItemDelegate(DiscussionDelegate(self.list_view))
        # Rows are one or two title lines tall, depending on the title and the
        # width, so a resize lays the rows out again.
        self.list_view.setUniformItemSizes(False)
        self.list_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.list_view.setMouseTracking(True)
        self.list_view.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.list_view.setVerticalScrollMode(
            QAbstractItemView.ScrollMode.ScrollPerPixel
        )
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._show_row_menu)

        self.new_button = QPushButton("New discussion")
        self.new_button.setObjectName("newDiscussion")
        self.new_button.clicked.connect(self._new_discussion)

        # The files area's list, transfers and preview; files and file_view
        # are its model and table.
        self.files_view = FilesView(store)
        self.files = self.files_view.model
        self.file_view = self.files_view.table

        self.empty_label = plain_label("", "emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.accept_button = QPushButton("Accept invitation")
        self.accept_button.setObjectName("primaryButton")
        self.accept_button.clicked.connect(lambda: self._answer_invitation(True))
        self.decline_button = QPushButton("Decline")
        self.decline_button.clicked.connect(lambda: self._answer_invitation(False))
        invitation_buttons = QHBoxLayout()
        invitation_buttons.addStretch(1)
        invitation_buttons.addWidget(self.decline_button)
        invitation_buttons.addWidget(self.accept_button)
        invitation_buttons.addStretch(1)
        self.invitation_box = QWidget()
        invitation_layout = QVBoxLayout(self.invitation_box)
        self.invitation_label = plain_label("", "emptyState")
        self.invitation_label.setWordWrap(True)
        self.invitation_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        invitation_layout.addStretch(1)
        invitation_layout.addWidget(self.invitation_label)
        invitation_layout.addLayout(invitation_buttons)
        invitation_layout.addStretch(2)

        self._stack = QStackedWidget()
        for widget in (
            self.list_view,
            self.files_view,
            self.empty_label,
            self.invitation_box,
        ):
            self._stack.addWidget(widget)

        choose_row = QHBoxLayout()
        choose_row.setSpacing(10)
        choose_row.addWidget(self.board_combo)
        choose_row.addWidget(self.board_label, 1)
        choose_row.addStretch()
        choose_row.addWidget(self.count_label)

        # The button sits beside the title, where the elided title gives way
        # to it, so it keeps its whole label even in a narrow pane.
        self.new_button.setSizePolicy(
            QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed
        )
        title_row = QHBoxLayout()
        title_row.setSpacing(10)
        title_row.addWidget(self.title_label, 1)
        title_row.addWidget(self.new_button, 0, Qt.AlignmentFlag.AlignTop)

        header_box = QVBoxLayout()
        header_box.setContentsMargins(16, 14, 16, 10)
        header_box.setSpacing(4)
        header_box.addLayout(title_row)
        header_box.addWidget(self.topic_label)
        header_box.addSpacing(6)
        header_box.addLayout(choose_row)
        header_box.addWidget(self.banner)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header_box)
        layout.addWidget(self._stack, 1)
        self._stack.currentChanged.connect(self._announce_files_shown)
        self.set_space(None)

    def set_session(self, app_session) -> None:
        """Give the files area the session's transfers, thumbnails and policy."""
        self.files_view.set_session(app_session)
        self.files_view.status_message.connect(self.status_message)

    def _announce_files_shown(self, _index: int = 0) -> None:
        self.files_shown.emit(self.showing_files())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # After the caller that showed this pane has shown its neighbours.
        QTimer.singleShot(0, self._announce_files_shown)

    # -- Choosing what to show ---------------------------------------------

    def set_space(self, space: SpaceSummary | None) -> None:
        self._space = space
        self._entry = None
        self._update_new_button()
        self.banner.hide()
        if space is None:
            self.title_label.setText("")
            self.topic_label.setText("")
            self.boards.set_space(None)
            self._show_message(NO_SPACE)
            self._update_chooser()
            return

        ungrouped = space.room_id == UNGROUPED_SPACE_ID
        self.title_label.setText(space_name(space.name, ungrouped=ungrouped))
        topic = clean_name(space.topic)
        self.topic_label.setText(topic)
        self.topic_label.setVisible(bool(topic))
        if space.membership == "invite":
            self.boards.set_space(None)
            self._update_chooser()
            self.set_invitation_busy(False)
            self.count_label.setText("")
            self.invitation_label.setText(INVITED)
            self._stack.setCurrentWidget(self.invitation_box)
            return

        self.boards.set_space(space.room_id)
        self._update_chooser()
        self.board_combo.blockSignals(True)
        self.board_combo.setCurrentIndex(0 if self.boards.rowCount() else -1)
        self.board_combo.blockSignals(False)
        self._show_entry(self.boards.entry(0))

    def _answer_invitation(self, accepted: bool) -> None:
        if self._space is not None:
            self.set_invitation_busy(True)
            self.invitation_answered.emit(self._space.room_id, accepted)

    def set_invitation_busy(self, busy: bool) -> None:
        """Disable the invitation's buttons while an answer is on its way."""
        self.accept_button.setEnabled(not busy)
        self.decline_button.setEnabled(not busy)

    def current_entry(self) -> BoardEntry | None:
        return self._entry

    def choose_board(self, entry_id: str) -> bool:
        """Show the board or files area entry_id, or return False unless it is joined."""
        row = self.boards.row_of(entry_id)
        entry = self.boards.entry(row) if row is not None else None
        if entry is None or not entry.joined:
            return False
        self.board_combo.setCurrentIndex(row)
        return True

    def _board_chosen(self, row: int) -> None:
        entry = self.boards.entry(row)
        if entry is not None and entry.joined:
            self._show_entry(entry)
            return
        # A room the user has not joined cannot be shown, so the chooser goes
        # back to the entry whose discussions are listed and that New
        # discussion posts to.
        shown = self.boards.row_of(self._entry.entry_id) if self._entry else None
        self.board_combo.blockSignals(True)
        self.board_combo.setCurrentIndex(shown if shown is not None else -1)
        self.board_combo.blockSignals(False)

    def _update_chooser(self) -> None:
        rows = self.boards.rowCount()
        self.board_combo.setVisible(rows > 1)
        only = self.boards.entry(0) if rows == 1 else None
        self.board_label.setText(only.label if only else "")
        self.board_label.setVisible(only is not None)

    def board_for_new_discussion(self) -> str | None:
        """Return the room that a new discussion goes to, or None if there is none."""
        entry = self._entry
        if entry is None or not entry.joined or entry.kind != "board":
            return None
        if entry.encrypted or len(entry.room_ids) != 1:
            return None
        return entry.room_ids[0]

    def _update_new_button(self) -> None:
        room_id = self.board_for_new_discussion()
        # A files area has its own Upload file… button instead.
        entry = self.current_entry()
        self.new_button.setHidden(entry is not None and entry.kind == "files")
        self.new_button.setEnabled(room_id is not None)
        self.new_button.setToolTip(
            "Start a discussion or ask a question in this board"
            if room_id is not None
            else "Choose one board above to start a discussion in it."
        )

    def _new_discussion(self) -> None:
        room_id = self.board_for_new_discussion()
        if room_id is not None:
            self.new_discussion_requested.emit(room_id)

    def _show_row_menu(self, position: QPoint) -> None:
        index = self.list_view.indexAt(position)
        if not index.isValid() or index.data(SEND_STATE_ROLE) != "failed":
            return
        post_id = index.data(ID_ROLE)
        menu = QMenu(self.list_view)
        menu.addAction("Retry sending", lambda: self.retry_requested.emit(post_id))
        menu.addAction("Discard", lambda: self.discard_requested.emit(post_id))
        menu.popup(self.list_view.viewport().mapToGlobal(position))

    def _show_entry(self, entry: BoardEntry | None) -> None:
        self._entry = entry
        self._update_new_button()
        self.banner.hide()
        self.count_label.setText("")
        self.board_changed.emit()
        if entry is None or not entry.joined:
            self.discussions.set_rooms([])
            self._show_message(NO_BOARDS)
            return
        if entry.kind == "files":
            self.discussions.set_rooms([])
            self.files_view.set_room(entry.entry_id)
            self._show_files()
            return
        if entry.encrypted:
            self.discussions.set_rooms([])
            self._show_message(ENCRYPTED_NOTICE, kind="encrypted")
            return
        self.discussions.set_rooms(list(entry.room_ids))
        self._update_banner(entry)
        self._show_discussions()

    def _update_banner(self, entry: BoardEntry) -> None:
        if entry.entry_id != ALL_BOARDS_ID:
            return
        encrypted = [
            other.name
            for row in range(self.boards.rowCount())
            if (other := self.boards.entry(row)).kind == "board"
            and other.entry_id != ALL_BOARDS_ID
            and other.encrypted
        ]
        if encrypted:
            names = ", ".join(encrypted)
            verb = "is" if len(encrypted) == 1 else "are"
            self.banner.setText(
                f"{names} {verb} end-to-end encrypted and cannot be read here yet."
            )
            self.banner.show()

    def _show_discussions(self) -> None:
        total = count_discussions(self._store.reader(), self.discussions.room_ids())
        self.count_label.setText(count_label(total, "discussion", "discussions"))
        if self.discussions.rowCount() == 0:
            self._show_message(NO_DISCUSSIONS)
        else:
            self._stack.setCurrentWidget(self.list_view)

    def _show_files(self) -> None:
        # The files view shows its own sentence when the area is empty, under
        # the upload button.
        count = self.files.total()
        self.count_label.setText(count_label(count, "file", "files"))
        self._stack.setCurrentWidget(self.files_view)

    def showing_files(self) -> bool:
        """Return whether a files area fills the pane."""
        return self._stack.currentWidget() is self.files_view

    def select_file(self, event_id: str) -> bool:
        """Select a file of the shown files area, or the latest version of it."""
        return self.showing_files() and self.files_view.select_file(event_id)

    def _show_message(self, text: str, kind: str = "") -> None:
        self.empty_label.setText(text)
        self.empty_label.setProperty("kind", kind)
        self.empty_label.style().unpolish(self.empty_label)
        self.empty_label.style().polish(self.empty_label)
        self._stack.setCurrentWidget(self.empty_label)

    def message(self) -> str | None:
        """Return the sentence shown in place of a list, or None if a list shows."""
        if self._stack.currentWidget() is self.empty_label:
            return self.empty_label.text()
        if self._stack.currentWidget() is self.invitation_box:
            return self.invitation_label.text()
        return None

    # -- Discussions -------------------------------------------------------

    def select_discussion(self, event_id: str) -> bool:
        row = self.discussions.row_of(event_id)
        if row is None:
            return False
        self.list_view.selectionModel().setCurrentIndex(
            self.discussions.index(row),
            QItemSelectionModel.SelectionFlag.ClearAndSelect,
        )
        return True

    def _current_changed(self, current, previous) -> None:
        if self._removing_current or not current.isValid():
            return
        self._opened_id = current.data(ID_ROLE)
        self.discussion_opened.emit(self._opened_id)

    def _discussion_id_changed(self, old_id: str, new_id: str) -> None:
        """Follow the open discussion from its local id to its event id."""
        if self._opened_id != old_id:
            return
        self._opened_id = new_id
        self.discussion_opened.emit(new_id)

    def _rows_about_to_be_removed(self, parent, first: int, last: int) -> None:
        current = self.list_view.selectionModel().currentIndex()
        self._removing_current = current.isValid() and first <= current.row() <= last

    def _rows_removed(self, parent, first: int, last: int) -> None:
        """Clear the selection that Qt moved to a neighbour of the removed row.

        The thread view keeps showing the discussion that was open, so a
        discussion that disappears from the list never opens another one.
        """
        if not self._removing_current:
            return
        self._removing_current = False
        selection = self.list_view.selectionModel()
        selection.clearSelection()
        selection.clearCurrentIndex()

    def apply_changes(self, changes: Changes, space: SpaceSummary | None) -> None:
        """Re-read what a write changed, keeping the chosen board and discussion."""
        same_space = (
            space is not None
            and self._space is not None
            and space.room_id == self._space.room_id
        )
        if same_space:
            if space.membership != self._space.membership:
                self.set_space(space)
                return
            if (space.name, space.topic) != (self._space.name, self._space.topic):
                # A space first synced before its name event, or renamed.
                self.title_label.setText(space_name(space.name))
                topic = clean_name(space.topic)
                self.topic_label.setText(topic)
                self.topic_label.setVisible(bool(topic))
            self._space = space
        entry_id = self._entry.entry_id if self._entry else None
        if changes.spaces or changes.rooms:
            self.boards.reload()
            self._update_chooser()
            row = self.boards.row_of(entry_id) if entry_id is not None else None
            entry = self.boards.entry(row if row is not None else 0)
            if entry != self._entry:
                self.board_combo.blockSignals(True)
                self.board_combo.setCurrentIndex(row if row is not None else 0)
                self.board_combo.blockSignals(False)
                self._show_entry(entry)
                return
        if self._entry is None or not self._entry.joined:
            return
        if self._entry.kind == "files":
            self.files_view.apply_changes(changes)
            if self._entry.entry_id in changes.rooms:
                self._show_files()
            return
        if not self._entry.encrypted:
            self.discussions.apply_changes(changes)
            self._show_discussions()
