"""The People window: the directory of colleagues, and "find an expert".

The directory searches the people kept in the cache as the user types, so it
works offline. With a connection, a search also asks the server's user
directory, after SERVER_SEARCH_DELAY_MS without a keystroke, for people the
user shares no space with; they join the list when the answer arrives.

"Find an expert" ranks people for a topic by what they declare and what they
have contributed, and shows the reason under each name. Enter or a double
click opens a person's profile.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QModelIndex, QPointF, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPalette,
    QTextLayout,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from app.store.people_directory import departments
from app.store.queries import list_spaces
from app.text import clean_name
from ui import theme
from ui.avatar_images import AvatarImages
from ui.models.people import DirectoryModel, ExpertModel
from ui.models.roles import ID_ROLE, PERSON_ROLE, REASON_ROLE, ROLE_LINE_ROLE
from ui.search_dialog import fit_layout, layout_height, row_width
from ui.tasks import TaskRunner
from ui.text_format import space_name
from ui.widgets import plain_label

log = logging.getLogger(__name__)

# Quiet time after the last keystroke before the cache is searched (ms).
SEARCH_DELAY_MS = 120
# Quiet time before the server's user directory is asked (ms).
SERVER_SEARCH_DELAY_MS = 500
# Shorter searches would return half the server's users.
MIN_SERVER_SEARCH_CHARS = 2

AVATAR_SIZE = 36
# An expert's reason wraps to this many lines, then ends with "…".
REASON_LINES = 2

DIRECTORY_TAB = 0
EXPERT_TAB = 1

DIRECTORY_PLACEHOLDER = "Search by name, job title, department or skill"
EXPERT_PLACEHOLDER = "A topic, for example SQL, onboarding or 機械学習"
ALL_DEPARTMENTS = "All departments"
ALL_SPACES = "All spaces"

NO_PEOPLE = "Nobody kept on this computer matches this search."
NO_PEOPLE_ANYWHERE = (
    "Nobody matches this search, on this computer or in the server’s directory."
)
NO_PEOPLE_FILTERED = (
    "Nobody matches this search with the chosen department and space. "
    "Choose “All departments” or “All spaces” to see more people."
)
NO_PEOPLE_YET = (
    "People appear here once you share a space with them, or when you search "
    "for them while connected."
)
EXPERT_INTRO = (
    "Type a topic to see who knows about it.\n\n"
    "People who list the topic as a skill or under “Ask me about” come first, "
    "then those whose accepted answers, replies and discussions mention it."
)
NO_EXPERTS = (
    "Nobody lists this topic or has written about it in your spaces yet. "
    "Try a broader word, or ask in a space."
)

CACHE_ONLY = "People kept on this computer."
SEARCHING_SERVER = "Also searching the server’s directory…"
SERVER_SEARCHED = "Includes people found in the server’s directory."
SERVER_UNREACHABLE = (
    "The server’s directory could not be searched, so only people kept on this "
    "computer are shown."
)

ServerSearch = Callable[[str], Awaitable[object]]


class PersonDelegate(QStyledItemDelegate):
    """Avatar, name, job title and department, and an expert's reason."""

    PADDING_X = 12
    PADDING_Y = 8
    GAP = 12

    def __init__(self, avatars: AvatarImages, parent=None):
        super().__init__(parent)
        self._avatars = avatars

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        line = QFontMetrics(option.font).height()
        text_height = 2 * line + 2
        reason = index.data(REASON_ROLE)
        if reason:
            layout = self._reason_layout(reason, option.font, row_width(option))
            text_height += 2 + layout_height(layout)
        return QSize(0, 2 * self.PADDING_Y + max(AVATAR_SIZE, text_height))

    def _text_width(self, row: int) -> int:
        return max(row - 2 * self.PADDING_X - AVATAR_SIZE - self.GAP, 40)

    def _reason_layout(self, reason: str, font: QFont, row: int) -> QTextLayout:
        return fit_layout([(reason, False)], font, self._text_width(row), REASON_LINES)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, theme.SELECTION)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, theme.SIDEBAR)
        painter.setPen(theme.BORDER)
        painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())

        rect = option.rect.adjusted(
            self.PADDING_X, self.PADDING_Y, -self.PADDING_X, -self.PADDING_Y
        )
        person = index.data(PERSON_ROLE)
        name = index.data(Qt.ItemDataRole.DisplayRole) or ""
        ratio = painter.device().devicePixelRatioF()
        image = self._avatars.image(
            name, index.data(ID_ROLE) or name, person.avatar_url, ratio
        )
        painter.drawImage(
            QRect(rect.left(), rect.top(), AVATAR_SIZE, AVATAR_SIZE), image
        )

        left = rect.left() + AVATAR_SIZE + self.GAP
        width = rect.right() - left
        metrics = QFontMetrics(option.font)
        line = metrics.height()
        bold = QFont(option.font)
        bold.setBold(True)
        y = rect.top()
        if not person.shares_space:
            note = "Not in your spaces"
            small = QFont(option.font)
            small.setPointSizeF(max(option.font.pointSizeF() - 1, 7))
            note_width = QFontMetrics(small).horizontalAdvance(note)
            painter.setFont(small)
            painter.setPen(theme.TEXT_MUTED)
            painter.drawText(
                QRect(rect.right() - note_width, y, note_width, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                note,
            )
            width -= note_width + self.GAP
        painter.setFont(bold)
        painter.setPen(option.palette.color(QPalette.ColorRole.Text))
        self._draw_line(painter, bold, QRect(left, y, width, line), name)

        y += line + 2
        painter.setFont(option.font)
        painter.setPen(theme.TEXT_MUTED)
        role = index.data(ROLE_LINE_ROLE) or ""
        self._draw_line(
            painter, option.font, QRect(left, y, rect.right() - left, line), role
        )
        reason = index.data(REASON_ROLE)
        if reason:
            y += line + 2
            painter.setPen(theme.TEXT)
            layout = self._reason_layout(reason, option.font, option.rect.width())
            layout.draw(painter, QPointF(left, y))
        painter.restore()

    @staticmethod
    def _draw_line(painter: QPainter, font: QFont, rect: QRect, text: str) -> None:
        elided = QFontMetrics(font).elidedText(
            text, Qt.TextElideMode.ElideRight, max(rect.width(), 0)
        )
        painter.drawText(
            rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided
        )


class PeopleWindow(QDialog):
    """Emits person_activated(user_id) when the user opens someone's profile."""

    person_activated = Signal(str)

    def __init__(
        self,
        store,
        own_user_id: str | None,
        thumbnails=None,
        server_search: ServerSearch | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("peopleWindow")
        self.setWindowTitle("People")
        self.setModal(False)
        self.resize(560, 620)
        self._store = store
        self._server_search = server_search
        self._runner = TaskRunner(self)
        self._server_term = ""

        self.tabs = QTabBar()
        self.tabs.setObjectName("peopleTabs")
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        self.tabs.addTab("Directory")
        self.tabs.addTab("Find an expert")
        self.tabs.currentChanged.connect(self._tab_changed)

        self.search_box = QLineEdit()
        self.search_box.setObjectName("peopleSearch")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setPlaceholderText(DIRECTORY_PLACEHOLDER)
        self.search_box.textChanged.connect(self._text_changed)
        self.search_box.installEventFilter(self)

        self.department_box = QComboBox()
        self.department_box.setObjectName("departmentFilter")
        self.department_box.setAccessibleName("Department")
        self.space_box = QComboBox()
        self.space_box.setObjectName("spaceFilter")
        self.space_box.setAccessibleName("Space")
        self._fill_filters()
        self.department_box.currentIndexChanged.connect(self._search_cache)
        self.space_box.currentIndexChanged.connect(self._search_cache)
        self.filters = QWidget()
        filters = QHBoxLayout(self.filters)
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(self.department_box, 1)
        filters.addWidget(self.space_box, 1)

        self.avatars = AvatarImages(thumbnails, AVATAR_SIZE, self)
        self.directory = DirectoryModel(store, own_user_id, self)
        self.experts = ExpertModel(store, own_user_id, self)
        self.list_view = QListView()
        self.list_view.setObjectName("peopleList")
        self.list_view.setItemDelegate(PersonDelegate(self.avatars, self.list_view))
        self.list_view.setModel(self.directory)
        self.list_view.setMouseTracking(True)
        # Rows of experts wrap their reason, so their height follows the width.
        self.list_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.list_view.setVerticalScrollMode(
            QAbstractItemView.ScrollMode.ScrollPerPixel
        )
        self.list_view.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.list_view.activated.connect(self._activated)
        self.avatars.changed.connect(self.list_view.viewport().update)

        self.empty_label = plain_label("", "emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._stack = QStackedWidget()
        self._stack.addWidget(self.list_view)
        self._stack.addWidget(self.empty_label)

        self.status_label = plain_label("", "peopleStatus")
        self.status_label.setWordWrap(True)

        self._cache_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._cache_timer.timeout.connect(self._search_cache)
        self._server_timer = QTimer(
            self, singleShot=True, interval=SERVER_SEARCH_DELAY_MS
        )
        self._server_timer.timeout.connect(self._search_server)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addWidget(self.tabs)
        layout.addWidget(self.search_box)
        layout.addWidget(self.filters)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.status_label)
        self._search_cache()

    # -- Public --------------------------------------------------------------

    def start(self, mode: int = DIRECTORY_TAB) -> None:
        """Show the window in mode, focus the search box and select its text."""
        self.tabs.setCurrentIndex(mode)
        self.show()
        self.raise_()
        self.activateWindow()
        self.search_box.setFocus()
        self.search_box.selectAll()

    def apply_changes(self, changes) -> None:
        """Read the list again when cached people or spaces changed."""
        if changes.people or changes.spaces:
            self._fill_filters()
            self._search_cache()

    # -- Searching -----------------------------------------------------------

    def _expert_mode(self) -> bool:
        return self.tabs.currentIndex() == EXPERT_TAB

    def _tab_changed(self, index: int) -> None:
        expert = index == EXPERT_TAB
        self.search_box.setPlaceholderText(
            EXPERT_PLACEHOLDER if expert else DIRECTORY_PLACEHOLDER
        )
        self.filters.setVisible(not expert)
        self.list_view.setModel(self.experts if expert else self.directory)
        self._search_cache()

    def _text_changed(self, _text: str) -> None:
        self._cache_timer.start()
        self._server_timer.stop()
        if not self._expert_mode() and self._wants_server(self._term()):
            self._server_timer.start()

    def _term(self) -> str:
        return self.search_box.text().strip()

    def _wants_server(self, term: str) -> bool:
        if self._server_search is None:
            return False
        # One Chinese, Japanese or Korean character is often a whole surname.
        return len(term) >= MIN_SERVER_SEARCH_CHARS or any(
            _is_wide_letter(character) for character in term
        )

    def _search_cache(self) -> None:
        self._cache_timer.stop()
        term = self._term()
        if self._expert_mode():
            self.experts.search(term)
            empty = EXPERT_INTRO if not term else NO_EXPERTS
            count = self.experts.rowCount()
            self.status_label.setText("")
        else:
            self.directory.search(
                term,
                self.department_box.currentData(),
                self.space_box.currentData(),
            )
            count = self.directory.rowCount()
            filters = (
                self.department_box.currentIndex() > 0
                or self.space_box.currentIndex() > 0
            )
            if filters:
                empty = NO_PEOPLE_FILTERED
            elif term and term == self._server_term:
                empty = NO_PEOPLE_ANYWHERE
            elif term:
                empty = NO_PEOPLE
            else:
                empty = NO_PEOPLE_YET
            if term != self._server_term:
                self.status_label.setText(CACHE_ONLY)
        self.empty_label.setText(empty)
        self._stack.setCurrentWidget(self.list_view if count else self.empty_label)
        if count and not self.list_view.currentIndex().isValid():
            self.list_view.setCurrentIndex(self.list_view.model().index(0))

    def _search_server(self) -> None:
        term = self._term()
        if self._expert_mode() or not self._wants_server(term):
            return
        self.status_label.setText(SEARCHING_SERVER)
        self._runner.run(
            self._server_search(term),
            lambda _found: self._server_answered(term),
            lambda error: self._server_failed(term, error),
            key="server",
        )

    def _server_answered(self, term: str) -> None:
        self._server_term = term
        if term == self._term() and not self._expert_mode():
            self._search_cache()
            self.status_label.setText(SERVER_SEARCHED)

    def _server_failed(self, term: str, error: BaseException) -> None:
        log.info("User directory search failed: %s", error)
        if term == self._term():
            self.status_label.setText(SERVER_UNREACHABLE)

    def _fill_filters(self) -> None:
        conn = self._store.reader()
        _refill(
            self.department_box,
            ALL_DEPARTMENTS,
            [(clean_name(name), name) for name in departments(conn)],
        )
        spaces = [
            (space_name(space.name), space.room_id)
            for space in list_spaces(conn)
            if space.room_id and space.membership == "join"
        ]
        _refill(self.space_box, ALL_SPACES, spaces)

    # -- Keys and opening ----------------------------------------------------

    def eventFilter(self, watched, event) -> bool:
        if (
            watched is self.search_box
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
            and self._move(event)
        ):
            return True
        return super().eventFilter(watched, event)

    def _move(self, event: QKeyEvent) -> bool:
        """Let Up, Down and Enter in the search box act on the list."""
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._cache_timer.isActive():
                self._search_cache()
            index = self.list_view.currentIndex()
            if index.isValid():
                self._activated(index)
            return True
        if key not in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            return False
        model = self.list_view.model()
        if model.rowCount() == 0:
            return True
        row = self.list_view.currentIndex().row()
        row = row + 1 if key == Qt.Key.Key_Down else row - 1
        row = max(0, min(row, model.rowCount() - 1))
        self.list_view.setCurrentIndex(model.index(row))
        return True

    def _activated(self, index: QModelIndex) -> None:
        user_id = index.data(ID_ROLE)
        if user_id:
            self.person_activated.emit(user_id)


def _is_wide_letter(character: str) -> bool:
    """Return whether character is a full-width letter, as in CJK scripts."""
    return unicodedata.east_asian_width(character) in ("W", "F") and (
        unicodedata.category(character).startswith("L")
    )


def _refill(box: QComboBox, everything: str, items: list[tuple[str, str]]) -> None:
    """Replace the choices of box, keeping the chosen value if it is still there."""
    chosen = box.currentData()
    box.blockSignals(True)
    box.clear()
    box.addItem(everything, None)
    for label, value in items:
        box.addItem(label or value, value)
    found = box.findData(chosen) if chosen is not None else 0
    box.setCurrentIndex(max(found, 0))
    box.blockSignals(False)
