"""The search window: one box over the cache, results grouped by kind.

Typing runs app.store.search.search on the UI thread after SEARCH_DELAY_MS
without a keystroke, because the full-text query is fast and the delay keeps
it from running for every letter. The focus stays in the box: Up and Down
move through the results, Enter opens one, Escape closes the window. The
window emits hit_chosen(SearchHit) and closes; the main window opens the hit.

Titles, snippets and names come from other people, so the rows are drawn as
plain text with QTextLayout, and matches are marked with character formats,
never with markup.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPointF,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QLineEdit,
    QListView,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.store.search import Highlighted
from app.text import FSI, PDI, isolate
from ui import theme
from ui.avatar_images import AvatarImages
from ui.avatars import initials_image
from ui.models.search import (
    AVATAR_URL_ROLE,
    HEADING_ROLE,
    HIT_ROLE,
    SearchResultsModel,
    plain_text,
)
from ui.widgets import plain_label

# Quiet time after the last keystroke before the search runs (ms).
SEARCH_DELAY_MS = 120

PLACEHOLDER = (
    'Search posts, files, people and spaces — try is:question or in:"Space name"'
)
FILTER_HELP = (
    'Filters: in:"Space"  from:Person  is:question  is:unanswered  has:file  '
    "before:2024-05-01  after:2024-05"
)
SYNTAX_INTRO = (
    "Search the discussions, replies, files, people and spaces kept on this computer."
)
# Examples of the query syntax, each with what it finds.
SYNTAX_EXAMPLES = (
    ("kube", "words match by their start, so this finds Kubernetes"),
    ('"release notes"', "the words in this order"),
    ('in:"Data Guild"', "only in one space"),
    ("from:Ann", "only posts, replies and files by one person"),
    ("is:question", "questions only"),
    ("is:unanswered", "questions without an accepted answer"),
    ("has:file", "shared files only"),
    ("before:2024-05-01", "before a date: YYYY-MM-DD, YYYY-MM or YYYY"),
    ("after:2024-05", "on or after a date"),
)
SYNTAX_HINT = "\n".join(
    [SYNTAX_INTRO, ""]
    + [f"{example} — {meaning}" for example, meaning in SYNTAX_EXAMPLES]
)

KEYS_HELP = "↑ ↓ choose   ·   Enter open   ·   Esc close"

# Side of a person's picture in the results; the People window's size, so
# both share downloaded thumbnails.
PERSON_AVATAR_SIZE = 36

# Background of the matched parts of a title or snippet.
MATCH_BACKGROUND = QColor("#fff0b3")


class SearchResultDelegate(QStyledItemDelegate):
    """A heading row, or a hit: title, snippet and detail line, matches in bold."""

    PADDING_X = 14
    PADDING_Y = 7
    HEADING_TOP = 12
    HEADING_BOTTOM = 4
    LINE_GAP = 2
    TITLE_LINES = 2
    SNIPPET_LINES = 2
    AVATAR_GAP = 10

    def __init__(self, parent=None, avatars: AvatarImages | None = None):
        super().__init__(parent)
        self._avatars = avatars

    def _text_indent(self, hit) -> int:
        """Return how far a hit's text starts right of the padding: past a picture."""
        return PERSON_AVATAR_SIZE + self.AVATAR_GAP if hit.kind == "person" else 0

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        width = row_width(option)
        if index.data(HEADING_ROLE):
            height = QFontMetrics(_heading_font(option.font)).height()
            return QSize(width, self.HEADING_TOP + height + self.HEADING_BOTTOM)
        hit = index.data(HIT_ROLE)
        if hit is None:
            return QSize(width, 0)
        text_width = width - 2 * self.PADDING_X - self._text_indent(hit)
        height = 2 * self.PADDING_Y
        title = fit_layout(
            hit.title, _title_font(option.font), text_width, self.TITLE_LINES
        )
        height += layout_height(title)
        if hit.snippet:
            snippet = fit_layout(
                hit.snippet, option.font, text_width, self.SNIPPET_LINES
            )
            height += self.LINE_GAP + layout_height(snippet)
        if hit.detail:
            height += self.LINE_GAP + QFontMetrics(_small_font(option.font)).height()
        if hit.kind == "person":
            height = max(height, PERSON_AVATAR_SIZE + 2 * self.PADDING_Y)
        return QSize(width, height)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        painter.save()
        if index.data(HEADING_ROLE):
            self._paint_heading(painter, option, index)
        else:
            self._paint_hit(painter, option, index)
        painter.restore()

    def _paint_heading(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        font = _heading_font(option.font)
        rect = option.rect.adjusted(
            self.PADDING_X, self.HEADING_TOP, -self.PADDING_X, -self.HEADING_BOTTOM
        )
        if index.row() > 0:
            painter.setPen(theme.BORDER)
            painter.drawLine(
                option.rect.left(),
                option.rect.top() + self.HEADING_TOP // 2,
                option.rect.right(),
                option.rect.top() + self.HEADING_TOP // 2,
            )
        painter.setFont(font)
        painter.setPen(theme.TEXT_MUTED)
        painter.drawText(
            rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            index.data(Qt.ItemDataRole.DisplayRole) or "",
        )

    def _paint_hit(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex
    ) -> None:
        hit = index.data(HIT_ROLE)
        if hit is None:
            return
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, theme.SELECTION)
            painter.fillRect(
                QRect(option.rect.left(), option.rect.top(), 3, option.rect.height()),
                theme.ACCENT,
            )
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, QColor("#f5f7fa"))
        left = option.rect.left() + self.PADDING_X
        width = option.rect.width() - 2 * self.PADDING_X
        top = option.rect.top() + self.PADDING_Y
        if hit.kind == "person":
            name = plain_text(hit.title)
            image = (
                self._avatars.image(
                    name,
                    hit.ref,
                    index.data(AVATAR_URL_ROLE),
                    painter.device().devicePixelRatioF(),
                )
                if self._avatars is not None
                else initials_image(
                    name,
                    hit.ref,
                    PERSON_AVATAR_SIZE,
                    painter.device().devicePixelRatioF(),
                )
            )
            painter.drawImage(
                QRect(left, top, PERSON_AVATAR_SIZE, PERSON_AVATAR_SIZE), image
            )
            indent = self._text_indent(hit)
            left += indent
            width -= indent

        painter.setPen(theme.TEXT)
        title = fit_layout(hit.title, _title_font(option.font), width, self.TITLE_LINES)
        title.draw(painter, QPointF(left, top))
        top += layout_height(title)

        if hit.snippet:
            top += self.LINE_GAP
            painter.setPen(theme.TEXT_MUTED)
            snippet = fit_layout(
                hit.snippet,
                option.font,
                width,
                self.SNIPPET_LINES,
                match_colour=theme.TEXT,
            )
            snippet.draw(painter, QPointF(left, top))
            top += layout_height(snippet)

        if hit.detail:
            top += self.LINE_GAP
            small = _small_font(option.font)
            metrics = QFontMetrics(small)
            painter.setFont(small)
            painter.setPen(theme.TEXT_MUTED)
            painter.drawText(
                QRect(left, top, width, metrics.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText(
                    isolated_detail(hit.detail_parts),
                    Qt.TextElideMode.ElideRight,
                    width,
                ),
            )


def isolated_detail(parts: tuple[str, ...]) -> str:
    """Return the detail line with each part in its own directional isolate.

    The parts are a kind, a place and a person's name, and a right-to-left
    name must not reorder its neighbours.
    """
    return " · ".join(isolate(part) for part in parts)


def row_width(option: QStyleOptionViewItem) -> int:
    if option.rect.width() > 0:
        return option.rect.width()
    widget = option.widget
    viewport = getattr(widget, "viewport", None)
    if viewport is not None:
        return viewport().width()
    return 480


def _title_font(font: QFont) -> QFont:
    title = QFont(font)
    title.setWeight(QFont.Weight.DemiBold)
    return title


def _small_font(font: QFont) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(font.pointSizeF() - 1, 7))
    return small


def _heading_font(font: QFont) -> QFont:
    heading = _small_font(font)
    heading.setWeight(QFont.Weight.Bold)
    return heading


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _isolated_text(
    parts: Highlighted, max_chars: int | None, match_format: QTextCharFormat
) -> tuple[str, list[QTextLayout.FormatRange]]:
    """Join parts into one isolated string with a format range per match.

    max_chars cuts the joined text to that many characters followed by "…".
    QTextLayout counts UTF-16 code units, so the ranges do too.
    """
    pieces = [FSI]
    formats = []
    position = _utf16_length(FSI)
    remaining = max_chars
    for text, matched in parts:
        if remaining is not None:
            text = text[:remaining]
            remaining -= len(text)
        if not text:
            continue
        length = _utf16_length(text)
        if matched:
            format_range = QTextLayout.FormatRange()
            format_range.start = position
            format_range.length = length
            format_range.format = match_format
            formats.append(format_range)
        pieces.append(text)
        position += length
    if max_chars is not None:
        pieces.append("…")
    pieces.append(PDI)
    return "".join(pieces), formats


def _lay_out(
    text: str, formats, font: QFont, width: int, max_lines: int
) -> tuple[QTextLayout, bool]:
    """Lay text out in at most max_lines lines; return it and whether text is left."""
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    option.setTextDirection(Qt.LayoutDirection.LeftToRight)
    layout.setTextOption(option)
    layout.setFormats(formats)
    layout.beginLayout()
    height = 0.0
    end = 0
    for _ in range(max_lines):
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(max(width, 1))
        line.setPosition(QPointF(0, int(height)))
        height += line.height()
        end = line.textStart() + line.textLength()
    layout.endLayout()
    # The closing PDI may sit alone past the last line; it is invisible.
    return layout, end < _utf16_length(text) - _utf16_length(PDI)


def fit_layout(
    parts: Highlighted,
    font: QFont,
    width: int,
    max_lines: int,
    *,
    match_colour: QColor | None = None,
) -> QTextLayout:
    """Return parts laid out in max_lines lines, cut with "…" if they do not fit."""
    match_format = QTextCharFormat()
    match_format.setFontWeight(QFont.Weight.Bold)
    match_format.setBackground(QBrush(MATCH_BACKGROUND))
    if match_colour is not None:
        match_format.setForeground(QBrush(match_colour))
    text, formats = _isolated_text(parts, None, match_format)
    layout, overflow = _lay_out(text, formats, font, width, max_lines)
    if not overflow:
        return layout
    # Cut at the end of the last line, then drop words until "…" fits too.
    last = layout.lineAt(layout.lineCount() - 1)
    visible_units = text.encode("utf-16-le")[
        : 2 * (last.textStart() + last.textLength())
    ]
    cut = len(visible_units.decode("utf-16-le", errors="ignore")) - len(FSI)
    for _ in range(64):
        cut = max(cut, 0)
        text, formats = _isolated_text(parts, cut, match_format)
        layout, overflow = _lay_out(text, formats, font, width, max_lines)
        if not overflow or cut == 0:
            return layout
        body = "".join(piece for piece, _ in parts)[:cut].rstrip()
        space = body.rfind(" ")
        cut = space if space > 0 and cut - space < 24 else cut - 4
    return layout


def layout_height(layout: QTextLayout) -> int:
    if layout.lineCount() == 0:
        return 0
    last = layout.lineAt(layout.lineCount() - 1)
    return int(last.y() + last.height() + 0.999)


def _syntax_hint() -> QWidget:
    """Return the table of query examples that an empty box shows."""
    hint = QWidget()
    grid = QGridLayout(hint)
    grid.setContentsMargins(4, 14, 4, 4)
    grid.setHorizontalSpacing(16)
    grid.setVerticalSpacing(6)
    intro = plain_label(SYNTAX_INTRO, "searchIntro")
    intro.setWordWrap(True)
    grid.addWidget(intro, 0, 0, 1, 2)
    grid.setRowMinimumHeight(1, 4)
    for row, (example, meaning) in enumerate(SYNTAX_EXAMPLES, start=2):
        grid.addWidget(plain_label(example, "searchExample"), row, 0)
        description = plain_label(meaning, "searchHelp")
        description.setWordWrap(True)
        grid.addWidget(description, row, 1)
    grid.setColumnStretch(1, 1)
    grid.setRowStretch(len(SYNTAX_EXAMPLES) + 2, 1)
    return hint


class SearchDialog(QDialog):
    """Emits hit_chosen(SearchHit) when the user opens a result, then closes."""

    hit_chosen = Signal(object)

    def __init__(self, store, parent: QWidget | None = None, thumbnails=None):
        super().__init__(parent)
        self.setObjectName("searchDialog")
        self.setWindowTitle("Search")

        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("searchBox")
        self.search_edit.setPlaceholderText(PLACEHOLDER)
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.installEventFilter(self)
        self.search_edit.textChanged.connect(self._text_changed)

        self.help_label = plain_label(FILTER_HELP, "searchHelp")
        self.help_label.setWordWrap(True)
        self.keys_label = plain_label(KEYS_HELP, "searchKeys")
        self.keys_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.notice_label = plain_label("", "banner")
        self.notice_label.setWordWrap(True)
        self.notice_label.hide()

        self.model = SearchResultsModel(store, self)
        self.results_view = QListView()
        self.results_view.setObjectName("searchResults")
        self.results_view.setModel(self.model)
        self.avatars = AvatarImages(thumbnails, PERSON_AVATAR_SIZE, self)
        self.results_view.setItemDelegate(
            SearchResultDelegate(self.results_view, self.avatars)
        )
        self.avatars.changed.connect(self.results_view.viewport().update)
        self.results_view.setUniformItemSizes(False)
        self.results_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.results_view.setMouseTracking(True)
        self.results_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results_view.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.results_view.setVerticalScrollMode(
            QAbstractItemView.ScrollMode.ScrollPerPixel
        )
        self.results_view.clicked.connect(self._clicked)

        self.message_label = plain_label(SYNTAX_HINT, "searchMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
        )

        self.syntax_hint = _syntax_hint()

        self._stack = QStackedWidget()
        self._stack.addWidget(self.results_view)
        self._stack.addWidget(self.message_label)
        self._stack.addWidget(self.syntax_hint)
        self._stack.setCurrentWidget(self.syntax_hint)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.run_search)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 14)
        layout.setSpacing(8)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.help_label)
        layout.addWidget(self.notice_label)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self.keys_label)
        self.resize(720, 580)

    # -- Searching -----------------------------------------------------------

    def _text_changed(self) -> None:
        self._timer.start()

    def run_search(self) -> None:
        """Search for the box's text now, and select the first result."""
        self._timer.stop()
        text = self.search_edit.text()
        self.model.run(text)
        notices = "\n".join(self.model.notices)
        first = self.model.hit_row(0, 1)
        if not text.strip():
            self.notice_label.hide()
            self._stack.setCurrentWidget(self.syntax_hint)
        elif first is None:
            self.notice_label.hide()
            self._show_message(notices or "Nothing in the cache matches this search.")
        else:
            self.notice_label.setText(notices)
            self.notice_label.setVisible(bool(notices))
            self._stack.setCurrentWidget(self.results_view)
            self._select_row(first)
            self.results_view.scrollToTop()

    def message(self) -> str | None:
        """Return the text shown in place of results, or None if results show.

        With an empty box that is the syntax hint, as SYNTAX_HINT.
        """
        if self._stack.currentWidget() is self.syntax_hint:
            return SYNTAX_HINT
        if self._stack.currentWidget() is self.message_label:
            return self.message_label.text()
        return None

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self._stack.setCurrentWidget(self.message_label)

    # -- Choosing ------------------------------------------------------------

    def current_row(self) -> int | None:
        index = self.results_view.currentIndex()
        return index.row() if index.isValid() else None

    def _select_row(self, row: int) -> None:
        index = self.model.index(row)
        self.results_view.setCurrentIndex(index)
        self.results_view.scrollTo(index)
        # Scroll the first hit's heading into view with it.
        if row > 0 and self.model.is_heading(row - 1):
            self.results_view.scrollTo(self.model.index(row - 1))
            self.results_view.scrollTo(index)

    def move_selection(self, steps: int) -> None:
        """Select the hit steps hits below (or above, if negative) the current one."""
        row = self.current_row()
        if row is None:
            row = self.model.hit_row(0, 1)
            if row is None:
                return
            steps -= 1 if steps > 0 else 0
        step = 1 if steps > 0 else -1
        for _ in range(abs(steps)):
            following = self.model.hit_row(row + step, step)
            if following is None:
                break
            row = following
        self._select_row(row)

    def open_current(self) -> None:
        """Open the selected hit, searching first if the last keystroke is pending."""
        if self._timer.isActive():
            self.run_search()
        row = self.current_row()
        hit = self.model.hit(row) if row is not None else None
        if hit is None:
            return
        self.accept()
        self.hit_chosen.emit(hit)

    def _clicked(self, index: QModelIndex) -> None:
        if self.model.hit(index.row()) is not None:
            self._select_row(index.row())
            self.open_current()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search_edit and event.type() == QEvent.Type.KeyPress:
            return self._box_key(event)
        return super().eventFilter(watched, event)

    def _box_key(self, event: QKeyEvent) -> bool:
        """Handle the keys that act on the results while typing in the box."""
        key = event.key()
        page = max(self.results_view.viewport().height() // 60, 1)
        moves = {
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_PageDown: page,
            Qt.Key.Key_PageUp: -page,
        }
        if key in moves:
            if self._timer.isActive():
                self.run_search()
            self.move_selection(moves[key])
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_current()
            return True
        return False

    # -- Showing -------------------------------------------------------------

    def start(self) -> None:
        """Show the window with the box focused and its previous text selected."""
        if not self.isVisible():
            self._fit_parent()
        self.show()
        self.raise_()
        self.activateWindow()
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def _fit_parent(self) -> None:
        """Size the window to the main window: wide enough, never past its edges."""
        parent = self.parentWidget()
        if parent is None:
            return
        area = parent.window().geometry()
        width = max(min(760, area.width() - 80), 480)
        height = max(min(640, area.height() - 100), 360)
        self.resize(width, height)
        self.move(
            area.left() + (area.width() - width) // 2,
            area.top() + min(80, max((area.height() - height) // 2, 0)),
        )
