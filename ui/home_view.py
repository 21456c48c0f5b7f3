"""Home: the activity stream across the user's spaces, from the cache.

HomeView replaces the discussion list and the reading pane while it is
shown. HomeEntry is the "Home" row at the top of the sidebar. Neither opens
anything itself: HomeView emits item_activated with the StreamItem, and the
main window opens what the item is about.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QListView,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.records import Changes
from app.store.activity import ALL, FOLLOWING, MENTIONS, UNANSWERED, StreamFilter
from app.store.queries import list_spaces
from ui import theme
from ui.activity_delegate import AVATAR, ActivityDelegate
from ui.avatar_images import AvatarImages
from ui.models.activity import ITEM_ROLE, ActivityListModel
from ui.text_format import space_name
from ui.widgets import plain_label

# Relative times in the stream are repainted this often (ms).
RELATIVE_TIME_REFRESH_MS = 60_000

SCOPE_LABELS = (
    (ALL, "Everything"),
    (FOLLOWING, "Following"),
    (MENTIONS, "Mentions"),
    (UNANSWERED, "Unanswered questions"),
)
ALL_SPACES = "All spaces"

# The sentence shown when a scope has no items, by scope.
EMPTY_TEXT = {
    ALL: "Nothing has happened here yet.\n\nNew discussions, questions, replies, "
    "likes, files and people joining your spaces appear here as they arrive.",
    FOLLOWING: "Nothing new in the discussions you follow.\n\nYou follow the "
    "discussions you start or reply to; what others add to them appears here.",
    MENTIONS: "Nobody has mentioned you yet.\n\nPosts whose text mentions you "
    "by your user id, or with a pill from another Matrix client, appear here.",
    UNANSWERED: "No unanswered questions.\n\nQuestions without an accepted "
    "answer appear here.",
}

_STYLE = f"""
#homeView {{ background: #ffffff; }}
#homeHeading {{ font-size: 15pt; font-weight: 600; color: {theme.TEXT.name()}; }}
#homeSubtitle {{ color: {theme.TEXT_MUTED.name()}; }}
#homeScope {{
    border: 1px solid {theme.BORDER.name()}; border-radius: 13px;
    padding: 3px 12px; background: #ffffff; color: {theme.TEXT.name()};
}}
#homeScope:hover {{ background: #f5f7fa; }}
#homeScope:checked {{
    background: {theme.ACCENT_SOFT.name()}; border-color: {theme.ACCENT.name()};
    color: {theme.ACCENT.name()};
}}
#activityList {{ border: none; border-top: 1px solid #e6e8ec; outline: none; }}
#activityList::item {{ border-bottom: 1px solid #eef0f2; }}
#activityList::item:hover {{ background: #f5f7fa; }}
#activityList::item:selected {{ background: {theme.ACCENT_SOFT.name()}; }}
"""


class ActivityListView(QListView):
    """The stream's list; Enter and Return open the current item."""

    item_activated = Signal(object)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            item = self.currentIndex().data(ITEM_ROLE)
            if item is not None:
                self.item_activated.emit(item)
                return
        super().keyPressEvent(event)


class HomeView(QWidget):
    """The stream with its filters. Emits item_activated(StreamItem) on a click."""

    item_activated = Signal(object)

    def __init__(
        self, store, user_id: str, thumbnails=None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("homeView")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(_STYLE)
        self._store = store

        heading = plain_label("Home", "homeHeading")
        subtitle = plain_label(
            "What is happening across your spaces, newest first", "homeSubtitle"
        )

        self.scope_buttons = QButtonGroup(self)
        self.scope_buttons.setExclusive(True)
        scopes = QHBoxLayout()
        scopes.setSpacing(6)
        for number, (scope, label) in enumerate(SCOPE_LABELS):
            button = QPushButton(label)
            button.setObjectName("homeScope")
            button.setCheckable(True)
            button.setProperty("scope", scope)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.scope_buttons.addButton(button, number)
            scopes.addWidget(button)
        self.scope_buttons.button(0).setChecked(True)
        self.scope_buttons.idClicked.connect(lambda _id: self._filter_changed())
        scopes.addStretch(1)

        self.space_combo = QComboBox()
        self.space_combo.setObjectName("homeSpace")
        self.space_combo.setMinimumContentsLength(14)
        self.space_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.space_combo.setToolTip("Show the activity of one space only")
        self.space_combo.currentIndexChanged.connect(lambda _row: self._filter_changed())
        scopes.addWidget(self.space_combo)

        self.model = ActivityListModel(store, user_id, self)
        self.list_view = ActivityListView()
        self.list_view.setObjectName("activityList")
        self.list_view.setModel(self.model)
        self.avatars = AvatarImages(thumbnails, AVATAR, self)
        self.list_view.setItemDelegate(ActivityDelegate(self.avatars, self.list_view))
        self.avatars.changed.connect(self.list_view.viewport().update)
        self.list_view.setUniformItemSizes(False)
        self.list_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.list_view.setMouseTracking(True)
        self.list_view.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.list_view.setVerticalScrollMode(
            QAbstractItemView.ScrollMode.ScrollPerPixel
        )
        self.list_view.clicked.connect(self._clicked)
        self.list_view.item_activated.connect(self.item_activated)

        self.empty_label = plain_label("", "emptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._stack = QStackedWidget()
        self._stack.addWidget(self.list_view)
        self._stack.addWidget(self.empty_label)

        header = QVBoxLayout()
        header.setContentsMargins(20, 16, 20, 12)
        header.setSpacing(4)
        header.addWidget(heading)
        header.addWidget(subtitle)
        header.addSpacing(8)
        header.addLayout(scopes)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self._stack, 1)

        self.model.modelReset.connect(self._update_empty_state)
        self.model.rowsInserted.connect(self._update_empty_state)
        self.model.rowsRemoved.connect(self._update_empty_state)

        self._clock = QTimer(self, interval=RELATIVE_TIME_REFRESH_MS)
        self._clock.timeout.connect(self.list_view.viewport().update)
        self._clock.start()
        self._loaded = False

    # -- Filters -------------------------------------------------------------

    def stream_filter(self) -> StreamFilter:
        button = self.scope_buttons.checkedButton()
        scope = button.property("scope") if button is not None else ALL
        space_id = self.space_combo.currentData()
        return StreamFilter(scope, space_id or None)

    def set_filter(self, stream_filter: StreamFilter) -> None:
        """Choose a scope and a space (None for all), and show their items."""
        for button in self.scope_buttons.buttons():
            if button.property("scope") == stream_filter.scope:
                button.setChecked(True)
        self.space_combo.blockSignals(True)
        row = self.space_combo.findData(stream_filter.space_id or "")
        self.space_combo.setCurrentIndex(max(row, 0))
        self.space_combo.blockSignals(False)
        self._filter_changed()

    def _filter_changed(self) -> None:
        if not self._loaded:
            return
        self.model.set_filter(self.stream_filter())
        self.list_view.scrollToTop()

    def _reload_spaces(self) -> bool:
        """Fill the space chooser with the joined spaces, keeping the choice.

        Returns True when the chosen space is no longer there.
        """
        chosen = self.space_combo.currentData() or ""
        spaces = [
            space
            for space in list_spaces(self._store.reader())
            if space.membership == "join" and space.room_id.startswith("!")
        ]
        self.space_combo.blockSignals(True)
        self.space_combo.clear()
        self.space_combo.addItem(ALL_SPACES, "")
        for space in spaces:
            self.space_combo.addItem(space_name(space.name), space.room_id)
        row = self.space_combo.findData(chosen)
        self.space_combo.setCurrentIndex(max(row, 0))
        self.space_combo.blockSignals(False)
        return row < 0 and chosen != ""

    # -- Showing ---------------------------------------------------------------

    def load(self) -> None:
        """Read the spaces and the newest items; called when Home is first shown."""
        self._reload_spaces()
        self._loaded = True
        self.model.set_filter(self.stream_filter())

    def is_loaded(self) -> bool:
        return self._loaded

    def apply_changes(self, changes: Changes) -> None:
        if not self._loaded:
            return
        if changes.spaces and self._reload_spaces():
            # The chosen space is gone: show all spaces instead.
            self.model.set_filter(self.stream_filter())
            return
        self.model.apply_changes(changes)

    def _clicked(self, index) -> None:
        item = index.data(ITEM_ROLE)
        if item is not None:
            self.item_activated.emit(item)

    def _update_empty_state(self, *args) -> None:
        empty = self.model.rowCount() == 0 and not self.model.canFetchMore()
        self.empty_label.setText(EMPTY_TEXT[self.stream_filter().scope])
        self._stack.setCurrentWidget(self.empty_label if empty else self.list_view)


class HomeEntry(QAbstractButton):
    """The "Home" row above the space list: a house tile and the word Home."""

    TILE = 28

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("homeEntry")
        self.setText("Home")
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Activity across your spaces (Ctrl+1)")
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)

    def sizeHint(self) -> QSize:
        return QSize(200, self.TILE + 14 + 8)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        row = self.rect().adjusted(6, 8, -6, 0)
        if self.isChecked() or self.underMouse():
            painter.setPen(Qt.PenStyle.NoPen)
            hover = theme.BORDER.lighter(108)
            painter.setBrush(theme.SELECTION if self.isChecked() else hover)
            painter.drawRoundedRect(row, 6, 6)
        if self.hasFocus():
            # Keyboard users see where Tab has put them.
            painter.setPen(theme.ACCENT)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(row.adjusted(0, 0, -1, -1), 6, 6)
        # Lined up with the tiles of the space list below.
        tile = QRect(
            row.left() + 10, row.center().y() - self.TILE // 2 + 1, self.TILE, self.TILE
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.ACCENT)
        painter.drawRoundedRect(tile, 6, 6)
        painter.setBrush(Qt.GlobalColor.white)
        painter.drawPath(_house(tile))
        font = self.font()
        font.setBold(self.isChecked())
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        text_rect = QRect(
            tile.right() + 10, row.top(), row.right() - tile.right() - 10, row.height()
        )
        painter.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            self.text(),
        )


def _house(tile: QRect) -> QPainterPath:
    """Return a small house outline centred in tile: a roof over a body."""
    size = tile.width()
    x = tile.left() + size * 0.22
    y = tile.top() + size * 0.2
    width = size * 0.56
    path = QPainterPath()
    path.moveTo(QPointF(x + width / 2, y))
    path.lineTo(QPointF(x + width, y + width * 0.48))
    path.lineTo(QPointF(x + width * 0.86, y + width * 0.48))
    path.lineTo(QPointF(x + width * 0.86, y + width * 1.05))
    path.lineTo(QPointF(x + width * 0.14, y + width * 1.05))
    path.lineTo(QPointF(x + width * 0.14, y + width * 0.48))
    path.lineTo(QPointF(x, y + width * 0.48))
    path.closeSubpath()
    return path
