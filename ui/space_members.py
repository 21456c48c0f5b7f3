"""A space's member list with roles, and the moderators' dialogs.

MemberList shows the members grouped as owners, moderators and members.
InviteDialog invites people by user id, and JoinRequestsDialog lets a
moderator approve or refuse the people who asked to join.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.text import clean_name
from ui import theme
from ui.avatar_images import AvatarImages
from ui.space_actions import SpaceActions, ask_reason
from ui.text_format import person_name, relative_time
from ui.thread_html import AVATAR_SIZE as THREAD_AVATAR_SIZE
from ui.widgets import plain_label

log = logging.getLogger(__name__)

# The light selection of the app's other lists, in place of the platform's
# dark one, which hides the muted text of a selected row.
LIST_STYLE = (
    f"QListWidget::item {{ padding: 3px 2px; }}"
    f"QListWidget::item:selected {{ background: {theme.SELECTION.name()};"
    f" color: {theme.TEXT.name()}; }}"
)

# The thread's avatar size, so both share the cached thumbnails.
MEMBER_AVATAR = THREAD_AVATAR_SIZE
USER_ROLE = Qt.ItemDataRole.UserRole + 1
# The person's name as the list shows it, for sentences about them.
NAME_ROLE = Qt.ItemDataRole.UserRole + 2
ROLE_HEADINGS = (
    ("owner", "Owners"),
    ("moderator", "Moderators"),
    ("member", "Members"),
)
MODERATOR_ROLES = ("owner", "moderator")
# Rows of the member list shown before it scrolls inside the space home.
MAX_VISIBLE_MEMBERS = 12


class MemberList(QListWidget):
    """Members under role headings; emits person_activated(user id).

    role_change_requested(user id, role) and remove_requested(user id) come
    from a member's context menu, which offers them to moderators and owners
    only.
    """

    person_activated = Signal(str)
    role_change_requested = Signal(str, str)
    remove_requested = Signal(str)

    def __init__(
        self, own_user_id: str, thumbnails=None, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("memberList")
        self.setStyleSheet(LIST_STYLE)
        self._own_user_id = own_user_id
        self._own_role = "member"
        self._roles: dict[str, str] = {}
        self._members: list = []
        self.setIconSize(QSize(MEMBER_AVATAR, MEMBER_AVATAR))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        # Activation (Enter, or a double click on most platforms) opens the
        # profile, as in the People window.
        self.itemActivated.connect(self._activated)
        self._avatars = AvatarImages(thumbnails, MEMBER_AVATAR, self)
        self._avatars.changed.connect(self._refresh_icons)

    def set_members(self, members: list, own_role: str) -> None:
        """Show members (SpaceMember records), grouped by role in that order."""
        current = self.currentItem()
        current_id = current.data(USER_ROLE) if current is not None else None
        self._members = list(members)
        self._own_role = own_role
        self._roles = {member.user_id: member.role for member in members}

        self.clear()
        for role, heading in ROLE_HEADINGS:
            group = [member for member in members if member.role == role]
            if not group:
                continue
            title = QListWidgetItem(f"{heading} ({len(group):,})")
            # Enabled but not selectable, so the heading keeps the text colour.
            title.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = title.font()
            font.setBold(True)
            title.setFont(font)
            self.addItem(title)
            for member in group:
                name = person_name(member.display_name, member.user_id)
                label = f"{name} (you)" if member.user_id == self._own_user_id else name
                item = QListWidgetItem(label)
                item.setData(USER_ROLE, member.user_id)
                item.setToolTip(member.user_id)
                self.addItem(item)
                if member.user_id == current_id:
                    self.setCurrentItem(item)

        self._refresh_icons()
        rows = min(self.count(), MAX_VISIBLE_MEMBERS)
        row_height = max(self.sizeHintForRow(0), MEMBER_AVATAR + 4) if rows else 0
        self.setFixedHeight(rows * row_height + 2 * self.frameWidth() + 4)

    def _refresh_icons(self) -> None:
        ratio = self.devicePixelRatioF()
        by_id = {member.user_id: member for member in self._members}
        for row in range(self.count()):
            item = self.item(row)
            member = by_id.get(item.data(USER_ROLE))
            if member is None:
                continue
            name = person_name(member.display_name, member.user_id)
            image = self._avatars.image(name, member.user_id, member.avatar_url, ratio)
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def user_ids(self) -> list[str]:
        """Return the listed members' ids in the order shown."""
        ids = []
        for row in range(self.count()):
            user_id = self.item(row).data(USER_ROLE)
            if user_id:
                ids.append(user_id)
        return ids

    def headings(self) -> list[str]:
        return [
            self.item(row).text()
            for row in range(self.count())
            if not self.item(row).data(USER_ROLE)
        ]

    def _activated(self, item: QListWidgetItem) -> None:
        user_id = item.data(USER_ROLE)
        if user_id:
            self.person_activated.emit(user_id)

    def member_menu(self, user_id: str) -> QMenu:
        """Return the context menu of a member's row."""
        menu = QMenu(self)
        menu.addAction("View profile", lambda: self.person_activated.emit(user_id))
        role = self._roles.get(user_id, "member")
        if self._own_role in MODERATOR_ROLES and user_id != self._own_user_id:
            menu.addSeparator()
            if role == "member":
                menu.addAction(
                    "Make moderator",
                    lambda: self.role_change_requested.emit(user_id, "moderator"),
                )
            elif role == "moderator":
                menu.addAction(
                    "Remove moderator",
                    lambda: self.role_change_requested.emit(user_id, "member"),
                )
            if role != "owner":
                menu.addAction(
                    "Remove from space…", lambda: self.remove_requested.emit(user_id)
                )
        return menu

    def _show_menu(self, position: QPoint) -> None:
        item = self.itemAt(position)
        user_id = item.data(USER_ROLE) if item is not None else None
        if not user_id:
            return
        menu = self.member_menu(user_id)
        menu.exec(self.viewport().mapToGlobal(position))
        menu.deleteLater()

    def keyPressEvent(self, event) -> None:
        # The context menu key and Shift+F10 open the member's menu, so role
        # changes can be reached without a mouse.
        menu_key = event.key() == Qt.Key.Key_Menu or (
            event.key() == Qt.Key.Key_F10
            and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        item = self.currentItem()
        if menu_key and item is not None and item.data(USER_ROLE):
            rect = self.visualItemRect(item)
            self._show_menu(rect.center())
            return
        super().keyPressEvent(event)


class InviteDialog(QDialog):
    """Invite people to a space by user id; stays open to invite several."""

    invited = Signal(str)

    def __init__(self, spaces, space_id: str, space_title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Invite people to {space_title}")
        self._spaces = spaces
        self._space_id = space_id
        self.actions = SpaceActions(self)
        self.actions.done.connect(self._done)
        self.actions.failed.connect(self._failed)

        heading = plain_label(f"Invite people to {space_title}", "dialogHeading")
        heading.setWordWrap(True)
        text = plain_label(
            "Enter a Matrix user id, such as @maya:example.org. They can accept "
            "the invitation in Commonplace or another Matrix client.",
            "dialogText",
        )
        text.setWordWrap(True)
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("inviteUserId")
        self.user_edit.setPlaceholderText("@name:server")
        self.user_edit.returnPressed.connect(self.invite)
        self.invite_button = QPushButton("Invite")
        self.invite_button.setObjectName("primaryButton")
        self.invite_button.clicked.connect(self.invite)
        row = QHBoxLayout()
        row.addWidget(self.user_edit, 1)
        row.addWidget(self.invite_button)
        self.status_label = plain_label("", "settingsNote")
        self.status_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(text)
        layout.addLayout(row)
        layout.addWidget(self.status_label)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(460, 220)

    def invite(self) -> None:
        user_id = self.user_edit.text().strip()
        if not (user_id.startswith("@") and ":" in user_id):
            self._show_status(
                f"“{user_id}” is not a user id. User ids look like @name:server.",
                error=True,
            )
            return
        work = self._spaces.invite(self._space_id, user_id)
        if self.actions.run("invite", user_id, work, f"Inviting {user_id}"):
            self.invite_button.setEnabled(False)
            self._show_status(f"Inviting {user_id}…")

    def _done(self, action: str, user_id: str) -> None:
        self.invite_button.setEnabled(True)
        self.user_edit.clear()
        self._show_status(f"Invited {user_id}.")
        self.invited.emit(user_id)

    def _failed(self, action: str, message: str) -> None:
        self.invite_button.setEnabled(True)
        self._show_status(message, error=True)

    def _show_status(self, text: str, *, error: bool = False) -> None:
        self.status_label.setObjectName("formError" if error else "settingsNote")
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.setText(text)


class JoinRequestsDialog(QDialog):
    """The open join requests of a space, with Approve and Refuse for each."""

    def __init__(self, spaces, space_id: str, space_title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Join requests: {space_title}")
        self._spaces = spaces
        self._space_id = space_id
        self._space_title = space_title
        self.actions = SpaceActions(self)
        self.actions.done.connect(self._done)
        self.actions.failed.connect(self._failed)

        self.request_list = QListWidget()
        self.request_list.setObjectName("joinRequests")
        self.request_list.setWordWrap(True)
        self.request_list.setStyleSheet(LIST_STYLE)
        self.request_list.currentItemChanged.connect(self._update_buttons)
        self.empty_label = plain_label(
            "Nobody is asking to join right now.", "emptyState"
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.approve_button = QPushButton("Approve")
        self.approve_button.setObjectName("primaryButton")
        self.approve_button.clicked.connect(self.approve)
        self.refuse_button = QPushButton("Refuse")
        self.refuse_button.clicked.connect(self.refuse)
        self.status_label = plain_label("", "formError")
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.refuse_button)
        row.addWidget(self.approve_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        heading = plain_label(f"People asking to join {space_title}", "dialogHeading")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(self.request_list, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(row)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.resize(480, 400)
        self.reload()

    def reload(self) -> None:
        """Re-read the requests from the cache, keeping the chosen one chosen."""
        current = self.request_list.currentItem()
        current_id = current.data(USER_ROLE) if current is not None else None
        self.request_list.clear()
        for request in self._spaces.join_requests(self._space_id):
            name = person_name(request.display_name, request.user_id)
            lines = [f"{name}  ({request.user_id})"]
            if request.ts:
                lines[0] += f" · {relative_time(request.ts)}"
            reason = clean_name(request.reason)
            if reason:
                lines.append(f"“{reason}”")
            item = QListWidgetItem("\n".join(lines))
            item.setData(USER_ROLE, request.user_id)
            item.setData(NAME_ROLE, name)
            self.request_list.addItem(item)
            if request.user_id == current_id:
                self.request_list.setCurrentItem(item)
        if self.request_list.currentItem() is None and self.request_list.count():
            self.request_list.setCurrentRow(0)
        empty = self.request_list.count() == 0
        self.request_list.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self._update_buttons()

    def _selected_user(self) -> str | None:
        item = self.request_list.currentItem()
        return item.data(USER_ROLE) if item is not None else None

    def _update_buttons(self, *args) -> None:
        user_id = self._selected_user()
        busy = user_id is not None and (
            self.actions.is_running("approve", user_id)
            or self.actions.is_running("refuse", user_id)
        )
        for button in (self.approve_button, self.refuse_button):
            button.setEnabled(user_id is not None and not busy)

    def approve(self) -> None:
        user_id = self._selected_user()
        if user_id is None:
            return
        work = self._spaces.approve_request(self._space_id, user_id)
        self.actions.run("approve", user_id, work, f"Approving {user_id}")
        self._update_buttons()

    def refuse(self) -> None:
        """Ask to confirm with an optional reason, then refuse the chosen request."""
        user_id = self._selected_user()
        if user_id is None:
            return
        name = self.request_list.currentItem().data(NAME_ROLE) or user_id
        reason = ask_reason(
            self,
            "Refuse request",
            f"Refuse the request of {name} to join {self._space_title}? "
            "They can ask again later.",
            "Refuse",
        )
        if reason is None:
            return
        work = self._spaces.refuse_request(self._space_id, user_id, reason)
        self.actions.run("refuse", user_id, work, f"Refusing {user_id}")
        self._update_buttons()

    def _done(self, action: str, user_id: str) -> None:
        self.status_label.hide()
        self.reload()

    def _failed(self, action: str, message: str) -> None:
        self.status_label.setText(message)
        self.status_label.show()
        self._update_buttons()
