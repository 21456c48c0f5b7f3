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
    QVBoxLayout,
    QWidget,
)

from app.text import clean_name
from ui.avatar_images import AvatarImages
from ui.space_members import MODERATOR_ROLES, MemberList
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
    "first post."
)
NO_FILES = "No files have been shared yet."
NO_ROOMS = "This space has no boards or files areas yet."
NOT_JOINED = "not joined"
NOT_JOINED_TIP = (
    "You are not in this room. A moderator of the space can invite you to it."
)
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
    role_change_requested(space id, user id, role) and
    remove_member_requested(space id, user id).
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

    def __init__(self, spaces, own_user_id: str, thumbnails=None, parent=None):
        super().__init__(parent)
        self.setObjectName("spaceHome")
        self._spaces = spaces
        self._own_user_id = own_user_id
        self._space_id: str | None = None
        self.home = None

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
        self._space_id = space_id
        self.reload()

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
        self._fill_files(home)
        self.members_heading.setText(f"Members ({len(home.members):,})")
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
            if room.membership != "join" and not (room.membership or room.name):
                # The cache has never seen this linked room: it may not exist,
                # be on a server out of reach, or be a space, so it is no board.
                continue
            kind = "files area" if room.kind == "files" else "discussion board"
            text = f"{board_name(room.name)} · {kind}"
            topic = clean_name(room.topic)
            if room.membership != "join":
                # Only joined rooms can be opened, so this one is plain text.
                label = plain_label(f"{text} · {NOT_JOINED}", "settingsNote")
                label.setProperty("notJoined", True)
                label.setToolTip(NOT_JOINED_TIP)
                rows.append(label)
                continue
            link = LinkButton(text)
            if topic:
                link.setToolTip(f"{text}\n{topic}")
            link.clicked.connect(
                lambda _checked=False, room_id=room.room_id: self.room_requested.emit(
                    room_id
                )
            )
            rows.append(link)
        _replace(self.rooms_box, rows, NO_ROOMS)

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
        """Return the texts of the rooms section, links and rooms not joined alike."""
        texts = []
        for index in range(self.rooms_box.count()):
            widget = self.rooms_box.itemAt(index).widget()
            if isinstance(widget, LinkButton):
                texts.append(widget.full_text)
            elif widget is not None and widget.property("notJoined"):
                texts.append(widget.text())
        return texts

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
