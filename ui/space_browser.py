"""The Browse spaces dialog: the server's public spaces, a preview, and joining.

The list is the server's public room directory filtered to spaces, searched
as the user types (after a pause) and extended page by page as the list is
scrolled to its end. Choosing a space shows its rooms (the server's
hierarchy) before the user joins or asks to join.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.spaces import MAX_REASON_LENGTH
from app.text import clean_name
from ui import theme
from ui.avatars import paint_initials
from ui.delegates import PADDING
from ui.space_actions import SpaceActions, failure_message, is_offline
from ui.tasks import TaskRunner
from ui.text_format import count_label, space_name
from ui.widgets import plain_label

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
NO_PARENT = QModelIndex()

# Pause after the last key press before the directory is searched (ms).
SEARCH_DELAY_MS = 300

LOADING = "Looking for spaces…"
NO_SPACES = "This server lists no public spaces yet."
NO_MATCH = "No public space matches “{term}”. Try another word."
OFFLINE = (
    "Commonplace is offline, so the server's spaces cannot be listed. "
    "Try again when you are connected."
)
NOTHING_CHOSEN = "Choose a space in the list to see what it is about."
ROOMS_LOADING = "Loading the rooms of this space…"
# The server's hierarchy leaves out rooms that only members may see, so an
# empty list before joining does not tell whether the space has rooms.
NO_ROOMS = "This space has no rooms, or shows them only to its members."
NO_ROOMS_JOINED = "This space has no rooms yet."

# Short descriptions of the join rules, for people who have not joined.
JOIN_RULE_TEXT = {
    "public": "Anyone can join",
    "knock": "Ask to join",
    "knock_restricted": "Ask to join",
    "invite": "By invitation only",
    "restricted": "Open to members of a related space",
}
STATUS_TEXT = {
    "join": "Joined",
    "knock": "Requested",
    "invite": "Invited",
}
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
BANNED = (
    "You are banned from this space, so you cannot join it or ask to join. "
    "Only one of its moderators can lift the ban."
)
REFUSED = "{who} refused your request to join this space, or removed you from it."


def _join_rule_text(join_rule: str | None) -> str:
    return JOIN_RULE_TEXT.get(join_rule or "", "By invitation only")


def _refusal(entry, membership: str | None):
    """Return the entry's JoinRefusal while the user's membership is "leave"."""
    return entry.refusal if membership == "leave" else None


def _status_text(entry, membership: str | None) -> str:
    refusal = _refusal(entry, membership)
    if refusal is not None:
        return "Banned" if refusal.banned else "Refused"
    return STATUS_TEXT.get(membership or "", "")


def refusal_text(refusal) -> str:
    """Return the sentences that tell the user why a space turned them away."""
    if refusal.banned:
        return BANNED
    who = (
        f"A moderator ({refusal.moderator_id})"
        if refusal.moderator_id
        else "A moderator"
    )
    text = REFUSED.format(who=who)
    reason = clean_name(refusal.reason)
    if reason:
        text += f" Their reason: “{reason}”"
    return text


class DirectoryModel(QAbstractListModel):
    """The spaces found so far; fetchMore calls ``fetch_more`` for the next page.

    ``memberships`` overrides an entry's membership after an action in this
    dialog, because the directory's page is older than the action.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._entries: list = []
        self.next_batch: str | None = None
        self.loading = False
        self.memberships: dict[str, str] = {}
        self.fetch_more = None  # set by the dialog: called with no arguments

    def rowCount(self, parent: Index = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return space_name(entry.name)
        if role == Qt.ItemDataRole.ToolTipRole:
            return clean_name(entry.topic) or None
        if role == ENTRY_ROLE:
            return entry
        return None

    def membership(self, entry) -> str | None:
        return self.memberships.get(entry.room_id, entry.membership)

    def entry(self, row: int):
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def row_of(self, room_id: str) -> int | None:
        for row, entry in enumerate(self._entries):
            if entry.room_id == room_id:
                return row
        return None

    def set_page(self, page, *, append: bool) -> None:
        """Show page's spaces after those shown (append) or in their place."""
        self.next_batch = page.next_batch
        if not append:
            self.beginResetModel()
            self._entries = list(page.entries)
            # A new search reads memberships from the cache, which Spaces
            # updates before a join or knock returns.
            self.memberships.clear()
            self.endResetModel()
            return
        known = {entry.room_id for entry in self._entries}
        fresh = [entry for entry in page.entries if entry.room_id not in known]
        if fresh:
            first = len(self._entries)
            self.beginInsertRows(NO_PARENT, first, first + len(fresh) - 1)
            self._entries.extend(fresh)
            self.endInsertRows()

    def set_membership(self, room_id: str, membership: str) -> None:
        self.memberships[room_id] = membership
        row = self.row_of(room_id)
        if row is not None:
            self.dataChanged.emit(self.index(row), self.index(row))

    def canFetchMore(self, parent: Index = NO_PARENT) -> bool:
        return not parent.isValid() and self.next_batch is not None and not self.loading

    def fetchMore(self, parent: Index = NO_PARENT) -> None:
        if self.canFetchMore(parent) and self.fetch_more is not None:
            self.fetch_more()


class DirectoryDelegate(QStyledItemDelegate):
    """A directory row: initials tile, name, members and join rule, and the topic."""

    TILE = 36

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        height = QFontMetrics(option.font).height()
        return QSize(300, max(self.TILE, height * 3) + 2 * PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index):
        entry = index.data(ENTRY_ROLE)
        if entry is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The light selection colour of the app's other lists, so the dark
        # text and the muted line stay readable on a selected row.
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, theme.SELECTION)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, theme.SIDEBAR)
        rect = option.rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)
        name = index.data(Qt.ItemDataRole.DisplayRole) or ""
        tile = QRect(rect.left(), rect.top(), self.TILE, self.TILE)
        paint_initials(painter, tile, name, entry.room_id, radius=6)

        text_left = tile.right() + 10
        width = rect.right() - text_left
        metrics = QFontMetrics(option.font)
        line = metrics.height()
        bold = QFont(option.font)
        bold.setBold(True)
        model = index.model()
        membership = model.membership(entry) if hasattr(model, "membership") else None
        status = _status_text(entry, membership)

        painter.setFont(bold)
        painter.setPen(theme.TEXT)
        status_width = QFontMetrics(bold).horizontalAdvance(status) + 8 if status else 0
        painter.drawText(
            QRect(text_left, rect.top(), width - status_width, line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            QFontMetrics(bold).elidedText(
                name, Qt.TextElideMode.ElideRight, width - status_width
            ),
        )
        if status:
            painter.setPen(theme.ACCENT)
            painter.drawText(
                QRect(rect.right() - status_width, rect.top(), status_width, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                status,
            )

        painter.setFont(option.font)
        painter.setPen(theme.TEXT_MUTED)
        members = count_label(entry.member_count, "member", "members")
        details = f"{members} · {_join_rule_text(entry.join_rule)}"
        painter.drawText(
            QRect(text_left, rect.top() + line, width, line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(details, Qt.TextElideMode.ElideRight, width),
        )
        topic = clean_name(entry.topic)
        if topic:
            painter.setPen(theme.TEXT)
            painter.drawText(
                QRect(text_left, rect.top() + 2 * line, width, line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(topic, Qt.TextElideMode.ElideRight, width),
            )
        painter.restore()


class SpacePreview(QWidget):
    """The chosen space: name, members, topic, its rooms, and the join button.

    action_requested(entry, message) requests a join, or a knock with message.
    open_requested(room id) requests showing a space the user has joined.
    """

    action_requested = Signal(object, str)
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._entry = None
        self._membership: str | None = None
        self.name_label = plain_label("", "dialogHeading")
        self.name_label.setWordWrap(True)
        self.details_label = plain_label("", "fieldLabel")
        self.details_label.setWordWrap(True)
        self.topic_label = plain_label("", "dialogText")
        self.topic_label.setWordWrap(True)
        self.rooms_heading = plain_label("Rooms in this space", "sectionHeading")
        self.rooms_list = QListWidget()
        self.rooms_list.setObjectName("spaceRooms")
        self.rooms_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rooms_list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.rooms_message = plain_label("", "settingsNote")
        self.rooms_message.setWordWrap(True)

        self.refusal_label = plain_label("", "formError")
        self.refusal_label.setWordWrap(True)
        self.refusal_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.refusal_label.hide()
        self.knock_message = QLineEdit()
        self.knock_message.setObjectName("knockMessage")
        self.knock_message.setPlaceholderText("Message to the moderators (optional)")
        self.knock_message.setMaxLength(MAX_REASON_LENGTH)
        self.action_button = QPushButton("Join")
        self.action_button.setObjectName("primaryButton")
        self.action_button.clicked.connect(self._action_clicked)
        self.error_label = plain_label("", "formError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.empty_label = plain_label(NOTHING_CHOSEN, "emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        details = QWidget()
        column = QVBoxLayout(details)
        column.setContentsMargins(16, 8, 8, 8)
        column.setSpacing(6)
        column.addWidget(self.name_label)
        column.addWidget(self.details_label)
        column.addWidget(self.topic_label)
        column.addSpacing(6)
        column.addWidget(self.rooms_heading)
        column.addWidget(self.rooms_message)
        column.addWidget(self.rooms_list, 1)
        column.addWidget(self.refusal_label)
        column.addWidget(self.knock_message)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.action_button)
        column.addLayout(row)
        column.addWidget(self.error_label)

        self._stack = QStackedWidget()
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(details)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    def entry(self):
        return self._entry

    def show_entry(self, entry, membership: str | None) -> None:
        if entry is None:
            self._entry = None
            self._stack.setCurrentWidget(self.empty_label)
            return
        same = self._entry is not None and self._entry.room_id == entry.room_id
        self._entry = entry
        self._stack.setCurrentIndex(1)
        self.name_label.setText(space_name(entry.name))
        members = count_label(entry.member_count, "member", "members")
        alias = clean_name(entry.alias)
        parts = [members, _join_rule_text(entry.join_rule)]
        if alias:
            parts.append(alias)
        self.details_label.setText(" · ".join(parts))
        topic = clean_name(entry.topic)
        self.topic_label.setText(topic)
        self.topic_label.setVisible(bool(topic))
        if not same:
            self.error_label.hide()
            self.knock_message.clear()
            self.set_rooms_message(ROOMS_LOADING)
        self.set_membership(membership)

    def set_membership(self, membership: str | None, busy: bool = False) -> None:
        """Label the button for membership; busy disables it while an action runs."""
        self._membership = membership
        entry = self._entry
        if entry is None:
            return
        knock = entry.join_rule in ("knock", "knock_restricted")
        button = self.action_button
        refusal = _refusal(entry, membership)
        banned = refusal is not None and refusal.banned
        self.refusal_label.setText(refusal_text(refusal) if refusal else "")
        self.refusal_label.setVisible(refusal is not None)
        # A refused person may ask again, so the message box comes back too.
        asking = membership is None or (membership == "leave" and not banned)
        self.knock_message.setVisible(knock and asking)
        self.knock_message.setEnabled(not busy)
        if banned:
            button.setText("Banned")
            button.setEnabled(False)
            button.setToolTip("Only a moderator of this space can lift the ban.")
        elif membership == "join":
            button.setText("Open space")
            button.setEnabled(True)
            button.setToolTip("Show this space in the main window")
        elif membership == "knock":
            button.setText("Requested")
            button.setEnabled(False)
            button.setToolTip("A moderator of this space has your request.")
        elif membership == "invite":
            button.setText("Accept invitation")
            button.setEnabled(not busy)
            button.setToolTip("")
        elif knock:
            button.setText("Sending request…" if busy else "Ask to join")
            button.setEnabled(not busy)
            button.setToolTip("Ask the moderators of this space to let you in")
        elif entry.join_rule == "invite":
            button.setText("By invitation only")
            button.setEnabled(False)
            button.setToolTip("Ask a member of this space to invite you.")
        else:
            button.setText("Joining…" if busy else "Join")
            button.setEnabled(not busy)
            button.setToolTip("")

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def set_rooms_message(self, message: str) -> None:
        self.rooms_list.clear()
        self.rooms_list.hide()
        self.rooms_message.setText(message)
        self.rooms_message.show()

    def set_rooms(self, children: list) -> None:
        entry = self._entry
        rooms = [
            child
            for child in children
            if entry is None or child.room_id != entry.room_id
        ]
        if not rooms:
            joined = self._membership == "join"
            self.set_rooms_message(NO_ROOMS_JOINED if joined else NO_ROOMS)
            return
        self.rooms_message.hide()
        self.rooms_list.clear()
        for child in rooms:
            name = clean_name(child.name, fallback="Unnamed room")
            parts = [name, count_label(child.member_count, "member", "members")]
            if child.room_type == "m.space":
                parts.append("a space of its own")
            if not child.joinable and child.membership != "join":
                parts.append("by invitation")
            line = " · ".join(parts)
            self.rooms_list.addItem(line)
            item = self.rooms_list.item(self.rooms_list.count() - 1)
            topic = clean_name(child.topic)
            if topic:
                item.setToolTip(topic)
        self.rooms_list.show()

    def _action_clicked(self) -> None:
        entry = self._entry
        if entry is None:
            return
        if self._membership == "join":
            self.open_requested.emit(entry.room_id)
            return
        self.action_requested.emit(entry, self.knock_message.text().strip())


class SpaceBrowserDialog(QDialog):
    """Go ▸ Browse spaces…: emits joined(room id) and open_requested(room id)."""

    joined = Signal(str)
    open_requested = Signal(str)

    def __init__(self, spaces, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Browse spaces")
        self.setObjectName("spaceBrowser")
        self._spaces = spaces
        self._runner = TaskRunner(self)
        self.actions = SpaceActions(self)
        self.actions.done.connect(self._action_done)
        self.actions.failed.connect(self._action_failed)
        self._term = ""

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("spaceSearch")
        self.search_edit.setPlaceholderText("Search spaces by name or topic")
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.search_now)
        self.search_edit.textChanged.connect(lambda _text: self._search_timer.start())
        self.search_edit.returnPressed.connect(self.search_now)

        self.model = DirectoryModel(self)
        self.model.fetch_more = self._load_more
        self.list_view = QListView()
        self.list_view.setObjectName("spaceDirectory")
        self.list_view.setModel(self.model)
        self.list_view.setItemDelegate(DirectoryDelegate(self.list_view))
        self.list_view.setUniformItemSizes(True)
        self.list_view.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        # Enter on a row moves to its Join button rather than joining at once.
        self.list_view.activated.connect(
            lambda _index: self.preview.action_button.setFocus()
        )

        self.message_label = plain_label("", "emptyState")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.retry_button = QPushButton("Try again")
        self.retry_button.clicked.connect(self.search_now)
        message_page = QWidget()
        message_layout = QVBoxLayout(message_page)
        message_layout.addStretch(1)
        message_layout.addWidget(self.message_label)
        retry_row = QHBoxLayout()
        retry_row.addStretch(1)
        retry_row.addWidget(self.retry_button)
        retry_row.addStretch(1)
        message_layout.addLayout(retry_row)
        message_layout.addStretch(2)

        self._list_stack = QStackedWidget()
        self._list_stack.addWidget(self.list_view)
        self._list_stack.addWidget(message_page)
        self.more_label = plain_label("", "settingsNote")
        self.more_label.hide()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search_edit)
        left_layout.addWidget(self._list_stack, 1)
        left_layout.addWidget(self.more_label)

        self.preview = SpacePreview()
        self.preview.action_requested.connect(self._act)
        self.preview.open_requested.connect(self._open)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        left.setMinimumWidth(300)
        self.preview.setMinimumWidth(260)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        QShortcut(QKeySequence("Ctrl+F"), self, self.search_edit.setFocus)
        self.setTabOrder(self.search_edit, self.list_view)
        self.resize(860, 560)

    # -- Searching -------------------------------------------------------

    def start(self) -> None:
        """Show the dialog and list the spaces for the current search."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.search_edit.setFocus()
        self.search_now()

    def search_now(self) -> None:
        self._search_timer.stop()
        self._term = self.search_edit.text().strip()
        self.model.loading = True
        self._show_message(LOADING, retry=False)
        self._runner.run(
            self._spaces.browse(self._term),
            lambda page: self._page_loaded(page, append=False),
            self._browse_failed,
            key="browse",
        )

    def _load_more(self) -> None:
        since = self.model.next_batch
        if since is None:
            return
        self.model.loading = True
        self.more_label.setText("Loading more spaces…")
        self.more_label.show()
        self._runner.run(
            self._spaces.browse(self._term, since),
            lambda page: self._page_loaded(page, append=True),
            self._more_failed,
            key="browse",
        )

    def _page_loaded(self, page, *, append: bool) -> None:
        self.model.loading = False
        self.more_label.hide()
        current = self.preview.entry()
        self.model.set_page(page, append=append)
        if self.model.rowCount() == 0:
            text = NO_MATCH.format(term=self._term) if self._term else NO_SPACES
            self._show_message(text, retry=False)
            self.preview.show_entry(None, None)
            return
        self._list_stack.setCurrentWidget(self.list_view)
        if append:
            return
        row = self.model.row_of(current.room_id) if current is not None else None
        self.list_view.setCurrentIndex(self.model.index(row or 0))

    def _browse_failed(self, error: BaseException) -> None:
        self.model.loading = False
        self.more_label.hide()
        if is_offline(error):
            self._show_message(OFFLINE, retry=True)
        else:
            self._show_message(
                failure_message(error, "Listing the server's spaces"), retry=True
            )
        self.preview.show_entry(None, None)

    def _more_failed(self, error: BaseException) -> None:
        self.model.loading = False
        reason = (
            OFFLINE
            if is_offline(error)
            else failure_message(error, "Loading more spaces")
        )
        self.more_label.setText(reason)
        self.more_label.show()

    def _show_message(self, text: str, *, retry: bool) -> None:
        self.message_label.setText(text)
        self.retry_button.setVisible(retry)
        self._list_stack.setCurrentIndex(1)

    def message(self) -> str | None:
        """Return the sentence shown in place of the list, or None if the list shows."""
        if self._list_stack.currentIndex() == 1:
            return self.message_label.text()
        return None

    # -- Preview and joining ---------------------------------------------

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        entry = current.data(ENTRY_ROLE) if current.isValid() else None
        if entry is None:
            self.preview.show_entry(None, None)
            return
        self.preview.show_entry(entry, self.model.membership(entry))
        self._load_rooms(entry.room_id)

    def _load_rooms(self, room_id: str) -> None:
        self._runner.run(
            self._spaces.hierarchy(room_id),
            lambda children: self._rooms_loaded(room_id, children),
            lambda error: self._rooms_failed(room_id, error),
            key="hierarchy",
        )

    def _rooms_loaded(self, room_id: str, children: list) -> None:
        entry = self.preview.entry()
        if entry is not None and entry.room_id == room_id:
            self.preview.set_rooms(children)

    def _rooms_failed(self, room_id: str, error: BaseException) -> None:
        entry = self.preview.entry()
        if entry is None or entry.room_id != room_id:
            return
        if is_offline(error):
            self.preview.set_rooms_message(
                "The rooms cannot be listed while Commonplace is offline."
            )
        else:
            self.preview.set_rooms_message(
                failure_message(error, "Listing the rooms of this space")
            )

    def _act(self, entry, message: str) -> None:
        name = space_name(entry.name)
        membership = self.model.membership(entry)
        self.preview.show_error("")
        if membership == "invite":
            work = self._spaces.accept_invite(entry.room_id)
            started = self.actions.run(
                "join", entry.room_id, work, f"Accepting the invitation to {name}"
            )
        elif entry.join_rule in ("knock", "knock_restricted"):
            work = self._spaces.knock(entry.room_id, message)
            started = self.actions.run(
                "knock", entry.room_id, work, f"Asking to join {name}"
            )
        else:
            target = entry.room_id
            work = self._spaces.join(target)
            started = self.actions.run("join", target, work, f"Joining {name}")
        if started:
            self.preview.set_membership(membership, busy=True)

    def _action_done(self, action: str, room_id: str) -> None:
        membership = "join" if action == "join" else "knock"
        entry = self.preview.entry()
        # The space's id, not an alias, names the row.
        target = room_id
        if entry is not None and self.model.row_of(room_id) is None:
            target = entry.room_id
        self.model.set_membership(target, membership)
        if entry is not None and entry.room_id == target:
            self.preview.set_membership(membership)
            if action == "join":
                # A member may see rooms that the server hid before the join.
                self._load_rooms(target)
        if action == "join":
            self.joined.emit(room_id)

    def _action_failed(self, action: str, message: str) -> None:
        entry = self.preview.entry()
        if entry is not None:
            self.preview.set_membership(self.model.membership(entry))
        self.preview.show_error(message)

    def _open(self, room_id: str) -> None:
        self.open_requested.emit(room_id)
        self.accept()
