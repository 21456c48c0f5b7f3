"""The main window's space actions: browsing, creating, invitations and moderation.

SpaceController owns the space dialogs and runs every space action of the
main window through one SpaceActions runner, so the window itself only
routes signals here. Progress and failures go to the status bar, except
where a dialog that asked shows them in place.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox

from app.policy import NO_POLICY
from app.records import Changes
from app.store.file_versions import file_history
from app.store.queries import get_person, get_room
from app.store.space_queries import pinned_event_ids
from app.text import clean_name
from ui.create_space_dialog import CreateSpaceDialog
from ui.space_actions import SpaceActions, ask_reason
from ui.space_browser import SpaceBrowserDialog
from ui.space_members import MODERATOR_ROLES, InviteDialog, JoinRequestsDialog
from ui.text_format import person_name, space_name

log = logging.getLogger(__name__)

# How long the status bar shows the outcome of a space action (ms).
MESSAGE_MS = 15_000
UNFINISHED_CREATION_HINT = (
    "If the space appears in your list without its board and files area, "
    "choose Create space… again with the same name and the same choice of who "
    "can join: Commonplace finishes it rather than making a second one."
)


class SpaceController(QObject):
    """Space actions of one main window; window is ui.main_window.MainWindow."""

    def __init__(self, window, app_session):
        super().__init__(window)
        self.window = window
        self.spaces = getattr(app_session, "spaces", None)
        self._user_id = app_session.user_id
        self._policy = getattr(app_session, "policy", NO_POLICY)
        self.actions = SpaceActions(self)
        self.actions.done.connect(self._done)
        self.actions.failed.connect(self._failed)
        self.browser: SpaceBrowserDialog | None = None
        self.create_dialog: CreateSpaceDialog | None = None
        # The last report of a creation that failed after its dialog closed.
        self.failure_box: QMessageBox | None = None
        self.invite_dialog: InviteDialog | None = None
        self.requests_dialog: JoinRequestsDialog | None = None
        # A space joined or created that the cache may not list yet; it is
        # selected as soon as it is.
        self._select_when_cached: str | None = None
        # Names of rooms being joined, for the message when the join is done.
        self._room_names: dict[str, str] = {}

    def available(self) -> bool:
        return self.spaces is not None

    def _name(self, space_id: str) -> str:
        room = get_room(self.window.store.reader(), space_id)
        space = self.window.space_pane.model.space(space_id)
        if space is not None:
            name = space.name
        elif room is not None:
            name = room.name
        else:
            name = None
        return space_name(name)

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, MESSAGE_MS)

    # -- Dialogs ----------------------------------------------------------

    def show_browser(self) -> SpaceBrowserDialog | None:
        if self.spaces is None:
            return None
        if self.browser is None:
            self.browser = SpaceBrowserDialog(self.spaces, self.window)
            self.browser.joined.connect(self._joined_from_browser)
            self.browser.open_requested.connect(self.select_space)
        self.browser.start()
        return self.browser

    def show_create(self) -> CreateSpaceDialog | None:
        if self.spaces is None:
            return None
        if self.create_dialog is None or not self.create_dialog.isVisible():
            dialog = CreateSpaceDialog(
                self.spaces,
                self.window,
                uploads_allowed=not self._policy.disable_uploads,
            )
            dialog.created.connect(self._created)
            dialog.created_in_background.connect(self._created_in_background)
            dialog.failed_in_background.connect(self._creation_failed_in_background)
            self.create_dialog = dialog
        self.create_dialog.show()
        self.create_dialog.raise_()
        self.create_dialog.activateWindow()
        return self.create_dialog

    def show_invite(self, space_id: str) -> InviteDialog | None:
        if self.spaces is None or not space_id:
            return None
        if self.invite_dialog is not None:
            self.invite_dialog.close()
            self.invite_dialog.deleteLater()
        self.invite_dialog = InviteDialog(
            self.spaces, space_id, self._name(space_id), self.window
        )
        self.invite_dialog.show()
        return self.invite_dialog

    def show_requests(self, space_id: str) -> JoinRequestsDialog | None:
        if self.spaces is None or not space_id:
            return None
        if self.requests_dialog is not None:
            self.requests_dialog.close()
            self.requests_dialog.deleteLater()
        self.requests_dialog = JoinRequestsDialog(
            self.spaces, space_id, self._name(space_id), self.window
        )
        self.requests_dialog.show()
        return self.requests_dialog

    # -- Joining, invitations and leaving ---------------------------------

    def select_space(self, space_id: str) -> bool:
        """Select space_id in the sidebar, now or once the cache lists it."""
        self.window.apply_changes(Changes(spaces=True))
        if self.window.space_pane.select_space(space_id):
            self._select_when_cached = None
            self.window.show_home(False)
            return True
        self._select_when_cached = space_id
        return False

    def _joined_from_browser(self, space_id: str) -> None:
        self._message(f"Joined {self._name(space_id)}.")
        self.window.apply_changes(Changes(spaces=True))

    def _created(self, space_id: str) -> None:
        self._message(f"Created {self._name(space_id)}.")
        self.select_space(space_id)

    def _created_in_background(self, space_id: str) -> None:
        """Announce a space whose Create dialog was closed, leaving the selection."""
        self.window.apply_changes(Changes(spaces=True))
        self._message(f"Created {self._name(space_id)}. It is in your list of spaces.")

    def _creation_failed_in_background(self, message: str) -> None:
        """Report a creation that failed after its dialog was closed.

        A box rather than the status bar alone: part of the space may exist
        on the server, and only creating it again finishes it.
        """
        self._message(message)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Space not created",
            f"{message}\n\n{UNFINISHED_CREATION_HINT}",
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.failure_box = box

    def answer_invitation(self, space_id: str, accepted: bool) -> None:
        if self.spaces is None:
            return
        name = self._name(space_id)
        if accepted:
            work = self.spaces.accept_invite(space_id)
            what = f"Accepting the invitation to {name}"
            self._message(f"Joining {name}…")
        else:
            work = self.spaces.decline_invite(space_id)
            what = f"Declining the invitation to {name}"
        self.actions.run("accept" if accepted else "decline", space_id, work, what)

    def join_room(self, room_id: str, name: str) -> None:
        """Join one room of a space, such as a board added after the user joined."""
        if self.spaces is None or not room_id:
            return
        self._room_names[room_id] = name
        self._message(f"Joining {name}…")
        self.actions.run(
            "join_room", room_id, self.spaces.join(room_id), f"Joining {name}"
        )

    def leave(self, space_id: str) -> None:
        """Ask to confirm, then leave space_id and its rooms."""
        if self.spaces is None or not space_id:
            return
        name = self._name(space_id)
        space = self.window.space_pane.model.space(space_id)
        public = space is not None and space.join_rule == "public"
        back = (
            "You can join it again from Browse spaces."
            if public
            else "To come back, you need a new invitation or an approved request."
        )
        answer = QMessageBox.question(
            self.window,
            "Leave space",
            f"Leave {name}? Its boards and files leave your list. {back}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.actions.run(
            "leave", space_id, self.spaces.leave(space_id), f"Leaving {name}"
        )

    # -- Moderation -------------------------------------------------------

    def change_role(self, space_id: str, user_id: str, role: str) -> None:
        if self.spaces is None:
            return
        name = self._person(user_id)
        what = (
            f"Making {name} a moderator"
            if role == "moderator"
            else f"Changing the role of {name}"
        )
        self.actions.run(
            f"role:{role}",
            f"{space_id} {user_id}",
            self.spaces.set_role(space_id, user_id, role),
            what,
        )

    def remove_member(self, space_id: str, user_id: str) -> None:
        if self.spaces is None:
            return
        name = self._person(user_id)
        reason = ask_reason(
            self.window,
            "Remove from space",
            f"Remove {name} from {self._name(space_id)}? They can come back only "
            "if the space lets them join again.",
            "Remove",
        )
        if reason is None:
            return
        work = self.spaces.remove_member(space_id, user_id, reason)
        self.actions.run(
            "remove_member", f"{space_id} {user_id}", work, f"Removing {name}"
        )

    def set_pinned(self, room_id: str, event_id: str, pinned: bool) -> None:
        if self.spaces is None:
            return
        if pinned:
            work = self.spaces.pin(room_id, event_id)
            self.actions.run("pin", f"{room_id} {event_id}", work, "Pinning")
        else:
            work = self.spaces.unpin(room_id, event_id)
            self.actions.run("unpin", f"{room_id} {event_id}", work, "Unpinning")

    def remove_post(self, room_id: str, event_id: str, is_root: bool) -> None:
        if self.spaces is None:
            return
        what = "discussion and its replies" if is_root else "reply"
        reason = ask_reason(
            self.window,
            "Remove post",
            f"Remove this {what}? Everyone will see that a moderator removed it, "
            "and this cannot be undone.",
            "Remove post",
        )
        if reason is None:
            return
        work = self.spaces.remove_post(room_id, event_id, reason)
        self.actions.run(
            "remove_post", f"{room_id} {event_id}", work, "Removing the post"
        )

    def remove_file(self, room_id: str, event_ids: list, own: bool) -> None:
        """Ask to confirm, then delete every version (event_ids, newest first) of a file.

        own is True for the user's own file, which needs no moderator.
        """
        if self.spaces is None or not event_ids:
            return
        what = self._file_description(event_ids)
        if own:
            answer = QMessageBox.question(
                self.window,
                "Delete file",
                f"Delete {what}? Other people will no longer see it, and this "
                "cannot be undone.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            reason = ""
        else:
            reason = ask_reason(
                self.window,
                "Remove file",
                f"Remove {what}? Everyone will see that a moderator removed it, "
                "and this cannot be undone.",
                "Remove file",
            )
            if reason is None:
                return
        action = "delete_file" if own else "remove_file"
        self.actions.run(
            action,
            f"{room_id} {event_ids[0]}",
            self._remove_versions(room_id, list(event_ids), reason),
            "Deleting the file" if own else "Removing the file",
        )

    def _file_description(self, event_ids: list) -> str:
        """Return "“Plan.pdf”", with its earlier versions when there are any."""
        history = file_history(self.window.store.reader(), event_ids[0])
        name = clean_name(history[0].name if history else "", fallback="this file")
        quoted = f"“{name}”" if history else name
        earlier = len(event_ids) - 1
        if earlier == 1:
            return f"{quoted} and its earlier version"
        if earlier > 1:
            return f"{quoted} and its {earlier} earlier versions"
        return quoted

    async def _remove_versions(
        self, room_id: str, event_ids: list[str], reason: str
    ) -> None:
        # Oldest first: a removal cut short keeps the file listed as it was,
        # not with an older version in its place, and removing it again
        # finishes the rest.
        for event_id in reversed(event_ids):
            await self.spaces.remove_post(room_id, event_id, reason)

    def _person(self, user_id: str) -> str:
        person = get_person(self.window.store.reader(), user_id)
        return person_name(person.display_name if person else None, user_id)

    # -- Moderation state for the reading pane ----------------------------

    def own_user_id(self) -> str:
        return self._user_id

    def can_moderate(self, room_id: str) -> bool:
        if self.spaces is None:
            return False
        return self.spaces.role(room_id, self._user_id) in MODERATOR_ROLES

    def is_pinned(self, room_id: str, event_id: str) -> bool:
        if self.spaces is None:
            return False
        return event_id in pinned_event_ids(self.window.store.reader(), room_id)

    # -- Results ----------------------------------------------------------

    def _done(self, action: str, target: str) -> None:
        room_id = target.split(" ")[0]
        if action == "accept":
            self.window.statusBar().clearMessage()
            self.select_space(room_id)
        elif action == "decline":
            self._message("Invitation declined.")
            self.window.apply_changes(Changes(spaces=True))
        elif action == "join_room":
            name = self._room_names.pop(room_id, "the room")
            self._message(f"Joined {name}.")
            self.window.apply_changes(Changes(spaces=True, rooms={room_id}))
            if self.window.space_home is not None:
                self.window.space_home.reload_rooms()
        elif action == "leave":
            self._message("You left the space.")
            self.window.apply_changes(Changes(spaces=True))
        elif action == "pin":
            self._message("Pinned to the space home.")
        elif action == "unpin":
            self._message("Unpinned.")
        elif action == "remove_post":
            self._message("Post removed.")
        elif action in ("remove_file", "delete_file"):
            removed = "removed" if action == "remove_file" else "deleted"
            self._message(f"File {removed}.")
            # Re-read at once: the sync that brings the redaction may be a
            # long poll away.
            self.window.apply_changes(Changes(rooms={room_id}))
        elif action == "remove_member":
            self._message("Removed from the space.")
        elif action.startswith("role:"):
            self._message("Role changed.")
        self.window.apply_changes(Changes(administration={room_id}))

    def _failed(self, action: str, message: str) -> None:
        if action in ("accept", "decline"):
            self.window.discussion_pane.set_invitation_busy(False)
        self._message(message)

    def apply_changes(self, changes: Changes) -> None:
        """Select a space waiting to be cached, and refresh open dialogs."""
        pending = self._select_when_cached
        selected = (
            pending is not None
            and changes.spaces
            and self.window.space_pane.select_space(pending)
        )
        if selected:
            self._select_when_cached = None
            self.window.show_home(False)
        dialog = self.requests_dialog
        visible = dialog is not None and dialog.isVisible()
        if visible and (changes.spaces or changes.administration):
            dialog.reload()
