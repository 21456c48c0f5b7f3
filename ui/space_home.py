"""A space's home page in the reading pane, while no discussion is open.

It shows what the space is about, what is pinned, its boards and files
areas, recent files and its members with their roles, and gives moderators
their tools. Everything is read from the cache through Spaces.space_home,
so the page works offline; the actions it offers are signals that the
main window carries out.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.spaces import SpaceChild
from app.text import clean_name
from ui.avatar_images import AvatarImages
from ui.space_members import MODERATOR_ROLES, MemberList
from ui.tasks import TaskRunner
from ui.text_format import board_name, count_label, relative_time, space_name
from ui.widgets import LinkButton, plain_label

log = logging.getLogger(__name__)

TILE_SIZE = 56
# Widest the page's column grows, in pixels, as the reading pane does.
MAX_PAGE_WIDTH = 760

JOIN_RULE_TEXT = {
    "public": "Public space: anyone on the server can join",
    "knock": "Private space: anyone can ask to join",
    "knock_restricted": "Private space: anyone can ask to join",
    "invite": "Private space: by invitation",
    "restricted": "Open to members of a related space",
}
ROLE_TEXT = {
    "owner": "You are an owner",
    "moderator": "You are a moderator",
    "member": "You are a member",
}
NO_PINS = "Nothing is pinned yet."
NO_PINS_MODERATOR = (
    "Nothing is pinned yet. Pin a discussion with Pin to space home under its "
    "first post, or a file from its right-click menu in a files area."
)
NO_FILES = "No files have been shared yet."
NO_ROOMS = "This space has no boards or files areas yet."
NOT_JOINED = "not joined"
NOT_JOINED_TIP = (
    "You are not in this room. A moderator of the space can invite you to it."
)
NOT_JOINED_JOINABLE_TIP = "You are not in this room. Join it to read and post."
NO_MEMBERS = "The members appear here once the server has sent them."
NOT_CACHED = "This space is not in the cache yet. It appears after the next sync."


def _section(title: str) -> QLabel:
    return plain_label(title, "sectionHeading")


class SpaceHomeView(QWidget):
    """The home page of one space.

    Signals carry what the user chose: person_activated(user id),
    room_requested(room id), pin_requested(room id, event id, kind),
    file_requested(room id, event id), leave_requested(space id),
    invite_requested(space id), requests_requested(space id),
    role_change_requested(space id, user id, role),
    remove_member_requested(space id, user id) and
    join_room_requested(room id, room name).

    Rooms of the space that the user has not joined are described from the
    server's hierarchy, read once per shown space, because the cache has no
    row for a room the user never joined.
    """

    person_activated = Signal(str)
    room_requested = Signal(str)
    pin_requested = Signal(str, str, str)
    file_requested = Signal(str, str)
    leave_requested = Signal(str)
    invite_requested = Signal(str)
    requests_requested = Signal(str)
    role_change_requested = Signal(str, str, str)
    remove_member_requested = Signal(str, str)
    join_room_requested = Signal(str, str)

    def __init__(self, spaces, own_user_id: str, thumbnails=None, parent=None):
        super().__init__(parent)
        self.setObjectName("spaceHome")
        self._spaces = spaces
        self._own_user_id = own_user_id
        self._space_id: str | None = None
        self.home = None
        self._runner = TaskRunner(self)
        # The hierarchy of the shown space by room id, once the server sent it.
        self._children: dict[str, SpaceChild] = {}
        # The space and its rooms not joined that the hierarchy was read for,
        # so a room linked later is read again.
        self._children_of: tuple[str, frozenset[str]] | None = None

        self.tile = QLabel()
        self.tile.setFixedSize(TILE_SIZE, TILE_SIZE)
        # The space's picture once its thumbnail is cached, else initials.
        self._pictures = AvatarImages(thumbnails, TILE_SIZE, self)
        self._pictures.changed.connect(self._show_picture)
        self.name_label = plain_label("", "profileName")
        self.name_label.setWordWrap(True)
        self.details_label = plain_label("", "profileRole")
        self.details_label.setWordWrap(True)
        self.topic_label = plain_label("", "dialogText")
        self.topic_label.setWordWrap(True)
        self.topic_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        self.invite_button = QPushButton("Invite people…")
        self.invite_button.clicked.connect(
            lambda: self.invite_requested.emit(self._space_id or "")
        )
        self.requests_button = QPushButton("Join requests")
        self.requests_button.clicked.connect(
            lambda: self.requests_requested.emit(self._space_id or "")
        )
        self.leave_button = QPushButton("Leave space…")
        self.leave_button.setObjectName("dangerButton")
        self.leave_button.clicked.connect(
            lambda: self.leave_requested.emit(self._space_id or "")
        )

        self.pins_box = QVBoxLayout()
        self.pins_box.setSpacing(0)
        self.rooms_box = QVBoxLayout()
        self.rooms_box.setSpacing(0)
        self.files_box = QVBoxLayout()
        self.files_box.setSpacing(0)
        self.members_heading = _section("Members")
        self.members = MemberList(own_user_id, thumbnails)
        self.members.person_activated.connect(self.person_activated)
        self.members.role_change_requested.connect(
            lambda user_id, role: self.role_change_requested.emit(
                self._space_id or "", user_id, role
            )
        )
        self.members.remove_requested.connect(
            lambda user_id: self.remove_member_requested.emit(
                self._space_id or "", user_id
            )
        )
        self.no_members_label = plain_label(NO_MEMBERS, "settingsNote")
        self.no_members_label.setWordWrap(True)
        self.message_label = plain_label("", "emptyState")
        self.message_label.setWordWrap(True)
        self.message_label.hide()

        names = QVBoxLayout()
        names.setSpacing(2)
        names.addWidget(self.name_label)
        names.addWidget(self.details_label)
        header = QHBoxLayout()
        header.setSpacing(14)
        header.addWidget(self.tile, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(names, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.invite_button)
        buttons.addWidget(self.requests_button)
        buttons.addStretch(1)
        buttons.addWidget(self.leave_button)

        page = QWidget()
        page.setObjectName("spaceHomePage")
        page.setMaximumWidth(MAX_PAGE_WIDTH)
        column = QVBoxLayout(page)
        column.setContentsMargins(24, 20, 24, 24)
        column.setSpacing(6)
        column.addLayout(header)
        column.addWidget(self.topic_label)
        column.addSpacing(4)
        column.addLayout(buttons)
        column.addWidget(self.message_label)
        column.addSpacing(10)
        column.addWidget(_section("Pinned"))
        column.addLayout(self.pins_box)
        column.addSpacing(10)
        column.addWidget(_section("Boards and files"))
        column.addLayout(self.rooms_box)
        column.addSpacing(10)
        column.addWidget(_section("Recent files"))
        column.addLayout(self.files_box)
        column.addSpacing(10)
        column.addWidget(self.members_heading)
        column.addWidget(self.members)
        column.addWidget(self.no_members_label)
        column.addStretch(1)

        holder = QWidget()
        holder_layout = QHBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(page, 1)
        holder_layout.addStretch(0)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("spaceHomeScroll")
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)

    def space_id(self) -> str | None:
        return self._space_id

    def show_space(self, space_id: str) -> None:
        """Show space_id's home, read from the cache now."""
        if space_id != self._space_id:
            self._children = {}
            self._children_of = None
        self._space_id = space_id
        self.reload()

    def reload_rooms(self) -> None:
        """Read the space's hierarchy again, after a room of it was joined."""
        self._children_of = None
        self.reload()

    def _load_children(self, home) -> None:
        """Request the space's hierarchy when it links rooms the user has not joined."""
        rooms = [*home.boards, *home.files_areas]
        not_joined = frozenset(
            room.room_id for room in rooms if room.membership != "join"
        )
        if not not_joined or self._children_of == (home.space_id, not_joined):
            return
        self._children_of = (home.space_id, not_joined)
        space_id = home.space_id
        self._runner.run(
            self._spaces.hierarchy(space_id),
            lambda children: self._children_loaded(space_id, children),
            lambda error: log.info(
                "Could not read the rooms of %s: %s", space_id, error
            ),
            key="hierarchy",
        )

    def _children_loaded(self, space_id: str, children: list) -> None:
        if space_id != self._space_id or self.home is None:
            return
        self._children = {child.room_id: child for child in children}
        self._fill_rooms(self.home)

    def reload(self) -> None:
        """Re-read the shown space's home from the cache."""
        if self._space_id is None:
            return
        home = self._spaces.space_home(self._space_id)
        self.home = home
        if home is None:
            self._show_missing()
            return
        self._fill(home)

    def _show_missing(self) -> None:
        self.name_label.setText("")
        self.details_label.setText("")
        self.topic_label.hide()
        for button in (self.invite_button, self.requests_button):
            button.hide()
        self.message_label.setText(NOT_CACHED)
        self.message_label.show()

    def _fill(self, home) -> None:
        self.message_label.hide()
        name = space_name(home.name)
        self.name_label.setText(name)
        self._show_picture()
        parts = [
            JOIN_RULE_TEXT.get(home.join_rule or "", "Private space"),
            count_label(home.member_count, "member", "members"),
            ROLE_TEXT.get(home.own_role, ""),
        ]
        self.details_label.setText(" · ".join(part for part in parts if part))
        topic = clean_name(home.topic)
        self.topic_label.setText(topic)
        self.topic_label.setVisible(bool(topic))

        moderator = home.own_role in MODERATOR_ROLES
        self.invite_button.setVisible(moderator)
        count = home.join_request_count
        knock = home.join_rule in ("knock", "knock_restricted")
        self.requests_button.setVisible(moderator and (knock or count > 0))
        self.requests_button.setText(
            f"Join requests ({count:,})" if count else "Join requests"
        )

        self._fill_pins(home, moderator)
        self._fill_rooms(home)
        self._load_children(home)
        self._fill_files(home)
        self.members_heading.setText(f"People ({len(home.members):,})")
        self.members.set_members(home.members, home.own_role)
        self.members.setVisible(bool(home.members))
        self.no_members_label.setVisible(not home.members)

    def _show_picture(self) -> None:
        home = self.home
        if home is None:
            return
        image = self._pictures.image(
            space_name(home.name),
            home.space_id,
            home.avatar_url,
            self.devicePixelRatioF(),
        )
        self.tile.setPixmap(QPixmap.fromImage(image))

    def _fill_pins(self, home, moderator: bool) -> None:
        links = []
        for pin in home.pinned:
            title = clean_name(pin.title, fallback="Pinned item")
            where = board_name(pin.room_name)
            text = f"📌 {title} · {where}"
            link = LinkButton(text)
            if pin.pinned_by:
                by = clean_name(pin.pinned_by_name, fallback=pin.pinned_by)
                link.setToolTip(f"{text}\nPinned by {by}")
            link.clicked.connect(
                lambda _checked=False, p=pin: self.pin_requested.emit(
                    p.room_id, p.event_id, p.kind
                )
            )
            links.append(link)
        empty = NO_PINS_MODERATOR if moderator else NO_PINS
        _replace(self.pins_box, links, empty)

    def _fill_rooms(self, home) -> None:
        rows: list[QWidget] = []
        for room in [*home.boards, *home.files_areas]:
            kind = "files area" if room.kind == "files" else "discussion board"
            if room.membership == "join":
                rows.append(self._room_link(room, kind))
                continue
            child = self._children.get(room.room_id)
            if child is not None and child.room_type == "m.space":
                # A linked space is no board, and the sidebar lists it once joined.
                continue
            name = room.name or (child.name if child is not None else None)
            if name is None and room.membership is None:
                # Neither the cache nor the server's hierarchy describes this
                # room: it may not exist, or its server may be out of reach.
                continue
            rows.append(self._room_not_joined(room, kind, name, child))
        _replace(self.rooms_box, rows, NO_ROOMS)

    def _room_link(self, room, kind: str) -> LinkButton:
        text = f"{board_name(room.name)} · {kind}"
        topic = clean_name(room.topic)
        link = LinkButton(text)
        if topic:
            link.setToolTip(f"{text}\n{topic}")
        link.clicked.connect(
            lambda _checked=False, room_id=room.room_id: self.room_requested.emit(
                room_id
            )
        )
        return link

    def _room_not_joined(self, room, kind: str, name: str | None, child) -> QWidget:
        """Return a row naming a room not joined, with Join if the user may join it."""
        shown_name = board_name(name)
        label = plain_label(f"{shown_name} · {kind} · {NOT_JOINED}", "settingsNote")
        label.setProperty("notJoined", True)
        joinable = child is not None and child.joinable and room.membership != "ban"
        label.setToolTip(NOT_JOINED_JOINABLE_TIP if joinable else NOT_JOINED_TIP)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(label)
        if joinable:
            join = LinkButton("Join")
            join.setProperty("joinRoom", True)
            # The style's padding comes on top of LinkButton's width for its
            # text, so the word would be elided at its preferred width.
            padding = 2 * join.fontMetrics().averageCharWidth() + 8
            join.setMinimumWidth(join.sizeHint().width() + padding)
            join.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            join.clicked.connect(
                lambda _checked=False, room_id=room.room_id: (
                    self.join_room_requested.emit(room_id, shown_name)
                )
            )
            layout.addWidget(join)
        layout.addStretch(1)
        return row

    def _fill_files(self, home) -> None:
        links = []
        for file in home.recent_files:
            sender = clean_name(file.sender_name, fallback=file.sender)
            text = f"{clean_name(file.name, fallback='file')} · {sender} · "
            text += relative_time(file.ts)
            link = LinkButton(text)
            link.clicked.connect(
                lambda _checked=False, f=file: self.file_requested.emit(
                    f.room_id, f.event_id
                )
            )
            links.append(link)
        _replace(self.files_box, links, NO_FILES)

    def link_texts(self, section: str) -> list[str]:
        """Return the texts of a section's links: "pins", "rooms" or "files"."""
        box = {"pins": self.pins_box, "rooms": self.rooms_box, "files": self.files_box}[
            section
        ]
        texts = []
        for index in range(box.count()):
            widget = box.itemAt(index).widget()
            if isinstance(widget, LinkButton):
                texts.append(widget.full_text)
        return texts

    def room_texts(self) -> list[str]:
        """Return the texts of the rooms section, links and rooms not joined alike.

        A room that can be joined ends with " [Join]".
        """
        texts = []
        for index in range(self.rooms_box.count()):
            widget = self.rooms_box.itemAt(index).widget()
            if isinstance(widget, LinkButton):
                texts.append(widget.full_text)
                continue
            if widget is None:
                continue
            for label in widget.findChildren(QLabel):
                if label.property("notJoined"):
                    join = self._join_button(widget)
                    texts.append(label.text() + (" [Join]" if join else ""))
        return texts

    def click_join(self, name_start: str) -> None:
        """Click Join on the row of the room whose name starts with name_start."""
        for index in range(self.rooms_box.count()):
            widget = self.rooms_box.itemAt(index).widget()
            if widget is None or isinstance(widget, LinkButton):
                continue
            labels = [
                label
                for label in widget.findChildren(QLabel)
                if label.property("notJoined")
            ]
            join = self._join_button(widget)
            if labels and join and labels[0].text().startswith(name_start):
                join.click()
                return
        raise LookupError(f"No room to join starts with {name_start!r}")

    @staticmethod
    def _join_button(row: QWidget) -> LinkButton | None:
        for button in row.findChildren(LinkButton):
            if button.property("joinRoom"):
                return button
        return None

    def click_link(self, section: str, row: int) -> None:
        """Click a section's link number row, as the user would."""
        box = {"pins": self.pins_box, "rooms": self.rooms_box, "files": self.files_box}[
            section
        ]
        links = [
            box.itemAt(index).widget()
            for index in range(box.count())
            if isinstance(box.itemAt(index).widget(), LinkButton)
        ]
        links[row].click()


def _replace(box: QVBoxLayout, widgets: list[QWidget], empty_text: str) -> None:
    """Put widgets in box in place of what it held, or empty_text if none."""
    while box.count():
        item = box.takeAt(0)
        widget = item.widget()
        if widget is not None:
            widget.deleteLater()
    if not widgets:
        label = plain_label(empty_text, "settingsNote")
        label.setWordWrap(True)
        box.addWidget(label)
        return
    for widget in widgets:
        box.addWidget(widget)
