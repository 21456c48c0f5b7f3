"""The main window: spaces on the left, discussions in the middle, reading on the right.

It only assembles the panes and routes the session's change and status
signals to them; each pane reads the cache through its own models.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import (
    QByteArray,
    QItemSelectionModel,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import paths
from app.follows import apply_choice, save_choice
from app.policy import NO_POLICY
from app.records import Changes
from app.store import outbox_queries
from app.store.queries import (
    DIRECT_SPACE_ID,
    UNGROUPED_SPACE_ID,
    get_room,
    list_space_rooms,
)
from app.store.search import SearchHit
from app.store.writes import LAST_SYNC_KEY, get_meta
from app.sync import SyncState, SyncStatus
from app.text import clean_name
from ui.composer import DiscussionComposer
from ui.direct_actions import DirectActions
from ui.discussion_pane import INVITED, DiscussionPane
from ui.drafts_view import DraftsDialog
from ui.home_view import HomeEntry, HomeView
from ui.notifications import NotificationsController
from ui.outbox_actions import OutboxActions
from ui.outbox_view import OutboxDialog, OutboxIndicator, outbox_counts
from ui.people_view import DIRECTORY_TAB, EXPERT_TAB, PeopleWindow
from ui.profile_dialog import ProfileDialog
from ui.profile_editor import ProfileEditorDialog
from ui.resources import app_icon
from ui.search_dialog import SearchDialog
from ui.session_events import SessionEvents
from ui.settings_dialog import SettingsDialog
from ui.space_controller import SpaceController
from ui.space_home import SpaceHomeView
from ui.space_pane import SpacePane
from ui.status_bar import StatusIndicator
from ui.tasks import TaskRunner
from ui.thread_view import ThreadView
from ui.tray import TrayController

log = logging.getLogger(__name__)

# Relative times in the discussion list are repainted this often (ms).
RELATIVE_TIME_REFRESH_MS = 60_000

# How long the status bar shows why an action on a post failed (ms).
ACTION_MESSAGE_MS = 15_000

# Pages of discussions read, at most, to find a search result in a long board.
MAX_PAGES_TO_FIND = 40

# Headings and sentences of the reading pane while no discussion is open.
NOTHING_OPEN_HEADING = "No discussion open"
CHOOSE_DISCUSSION = "Choose a discussion in the list to read it and its replies here."
CHOOSE_BOARD = "Choose a board above the list to read its discussions."
ENCRYPTED_HEADING = "Encrypted board"
ENCRYPTED_NEXT_STEP = (
    "To read it, open the board in a Matrix client that supports end-to-end encryption."
)


class MainWindow(QMainWindow):
    """The window of one signed-in session.

    Emits sign_out_requested(delete_cache), sign_in_requested() from the
    status bar when the session has ended, and closed() after it closes.
    """

    sign_out_requested = Signal(bool)
    sign_in_requested = Signal()
    closed = Signal()

    def __init__(self, app_session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.app_session = app_session
        self.store = app_session.store
        self.setWindowTitle("Commonplace")
        self.setWindowIcon(app_icon())
        self._profiles: dict[str, ProfileDialog] = {}
        self._settings_dialog: SettingsDialog | None = None
        # Open composers by draft key, so reopening one raises it.
        self._composers: dict[tuple[str, str], DiscussionComposer] = {}
        self._drafts_dialog: DraftsDialog | None = None
        self._outbox_dialog: OutboxDialog | None = None
        self._search_dialog: SearchDialog | None = None
        self._people_window: PeopleWindow | None = None
        self._sync_state = SyncState.SYNCING
        self._profile_editor: ProfileEditorDialog | None = None

        self.space_pane = SpacePane(
            self.store, thumbnails=getattr(app_session, "thumbnails", None)
        )
        self.discussion_pane = DiscussionPane(self.store)
        self.discussion_pane.set_session(app_session)
        self.discussion_pane.discussions.set_user_id(app_session.user_id)
        self.outbox_actions = OutboxActions(app_session.outbox, self)
        self.direct_actions = DirectActions(app_session, self)
        policy = getattr(app_session, "policy", NO_POLICY)
        self.thread_view = ThreadView(
            self.store,
            app_session.user_id,
            getattr(app_session, "thumbnails", None),
            actions=self.outbox_actions,
            external_links_allowed=not policy.disable_external_links,
            read_state=getattr(app_session, "read_state", None),
        )
        self.space_controller = SpaceController(self, app_session)
        self.space_home: SpaceHomeView | None = None
        # The reading pane: the open discussion, or the space's home while
        # none is open.
        self.reading_pane = QStackedWidget()
        self.reading_pane.setObjectName("readingPane")
        self.reading_pane.addWidget(self.thread_view)
        if self.space_controller.available():
            self.thread_view.moderation = self.space_controller
            self.discussion_pane.files_view.moderation = self.space_controller
            self.space_home = SpaceHomeView(
                app_session.spaces,
                app_session.user_id,
                getattr(app_session, "thumbnails", None),
            )
            self.reading_pane.addWidget(self.space_home)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.home_view = HomeView(
            self.store, app_session.user_id, getattr(app_session, "thumbnails", None)
        )
        self.home_entry = HomeEntry()
        self.splitter.addWidget(self._sidebar())
        self.splitter.addWidget(self.discussion_pane)
        self.splitter.addWidget(self.reading_pane)
        # Home takes the place of the discussion list and the reading pane.
        self.splitter.addWidget(self.home_view)
        self.home_view.hide()
        # The splitter's sizes while the discussion panes were last shown.
        self._pane_sizes: list[int] | None = None
        self.space_pane.setMinimumWidth(170)
        self.discussion_pane.setMinimumWidth(280)
        self.reading_pane.setMinimumWidth(320)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 3)
        self.setCentralWidget(self.splitter)

        self.status_indicator = StatusIndicator()
        self.statusBar().addWidget(self.status_indicator, 1)
        self.outbox_indicator = OutboxIndicator()
        self.outbox_indicator.clicked.connect(self.show_outbox)
        self.statusBar().addPermanentWidget(self.outbox_indicator)
        self.statusBar().setSizeGripEnabled(False)
        self._build_menu()

        self.space_pane.space_selected.connect(self._space_selected)
        self.space_pane.mark_read_requested.connect(self.mark_space_read)
        self.discussion_pane.discussion_opened.connect(self._show_discussion)
        self.discussion_pane.board_changed.connect(self._board_changed)
        self.thread_view.person_activated.connect(self.show_profile)
        self.status_indicator.sign_in_requested.connect(self.sign_in_requested)
        self.discussion_pane.new_discussion_requested.connect(self.show_composer)
        self.discussion_pane.retry_requested.connect(self.outbox_actions.retry_post)
        self.discussion_pane.discard_requested.connect(self.outbox_actions.discard_post)
        self.discussion_pane.files_shown.connect(self._set_files_shown)
        self.discussion_pane.status_message.connect(self._show_action_failure)
        self.outbox_actions.action_failed.connect(self._show_action_failure)
        self.direct_actions.room_ready.connect(self._direct_room_ready)
        self.direct_actions.failed.connect(self._direct_room_failed)
        self.thread_view.edit_discussion_requested.connect(self.edit_discussion)
        self.home_entry.clicked.connect(lambda: self.show_home(True))
        self.home_view.item_activated.connect(self.open_activity_item)
        self.space_pane.space_selected.connect(lambda _room_id: self.show_home(False))
        # Clicking the space that is still current leaves Home too.
        self.space_pane.view.clicked.connect(lambda _index: self.show_home(False))
        self.thread_view.status_message.connect(self._show_action_failure)
        self._follow_tasks = TaskRunner(self)
        self.thread_view.follow_toggled.connect(self.set_following)
        self._connect_spaces()

        self.events = SessionEvents(app_session, self)
        self.events.cache_changed.connect(self.apply_changes)
        self.events.status_changed.connect(self.set_status)
        self.events.outbox_status_changed.connect(self._outbox_status)
        self.notifications = NotificationsController(self, app_session)
        self.tray = TrayController(self, self.notifications)
        self._update_outbox_indicator()

        last_sync = get_meta(self.store.reader(), LAST_SYNC_KEY)
        self._cached_sync_time = float(last_sync) if last_sync else None
        self.space_pane.set_synced_once(self._cached_sync_time is not None)
        initial = getattr(app_session, "last_status", None) or SyncStatus(
            SyncState.SYNCING
        )
        self.set_status(initial)

        self._clock = QTimer(self, interval=RELATIVE_TIME_REFRESH_MS)
        self._clock.timeout.connect(self.discussion_pane.list_view.viewport().update)
        self._clock.start()

        self._restore_geometry()
        self.space_pane.select_first()
        if self.space_pane.selected_space() is None:
            self._space_selected(None)

    # -- Menu ----------------------------------------------------------------

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&Commonplace")
        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.triggered.connect(self.show_settings)
        menu.addAction(self.settings_action)
        drafts_action = QAction("&Drafts…", self)
        drafts_action.triggered.connect(self.show_drafts)
        menu.addAction(drafts_action)
        outbox_action = QAction("&Outbox…", self)
        outbox_action.triggered.connect(self.show_outbox)
        menu.addAction(outbox_action)
        profile = QAction("My &profile", self)
        profile.triggered.connect(lambda: self.show_profile(self.app_session.user_id))
        menu.addAction(profile)
        menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)

        go_menu = self.menuBar().addMenu("&Go")
        self.home_action = QAction("&Home", self)
        self.home_action.setShortcut(QKeySequence("Ctrl+1"))
        self.home_action.setToolTip("Show the activity across your spaces")
        self.home_action.triggered.connect(lambda: self.show_home(True))
        go_menu.addAction(self.home_action)
        self.mark_read_action = QAction("&Mark all as read", self)
        self.mark_read_action.setShortcut(QKeySequence("Shift+Esc"))
        self.mark_read_action.setToolTip("Mark everything in the chosen space read")
        self.mark_read_action.triggered.connect(
            lambda: self.mark_space_read(self.space_pane.selected_space())
        )
        go_menu.addAction(self.mark_read_action)
        self.search_action = QAction("&Search…", self)
        self.search_action.setShortcuts(
            [QKeySequence("Ctrl+K"), QKeySequence(QKeySequence.StandardKey.Find)]
        )
        self.search_action.setToolTip("Search posts, files, people and spaces")
        # These work from the People window and profiles too, not only here.
        self.search_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.search_action.triggered.connect(self.show_search)
        go_menu.addAction(self.search_action)
        self.people_action = QAction("&People…", self)
        self.people_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.people_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.people_action.triggered.connect(lambda: self.show_people(DIRECTORY_TAB))
        go_menu.addAction(self.people_action)
        self.expert_action = QAction("Find an &expert…", self)
        self.expert_action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.expert_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.expert_action.triggered.connect(lambda: self.show_people(EXPERT_TAB))
        go_menu.addAction(self.expert_action)
        go_menu.addSeparator()
        self.space_home_action = QAction("Space &home", self)
        self.space_home_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        self.space_home_action.setToolTip("Show the chosen space's home page")
        self.space_home_action.triggered.connect(lambda: self.show_space_home())
        go_menu.addAction(self.space_home_action)
        self.browse_spaces_action = QAction("&Browse spaces…", self)
        self.browse_spaces_action.setShortcut(QKeySequence("Ctrl+Shift+B"))
        self.browse_spaces_action.setToolTip("Find and join the server's public spaces")
        self.browse_spaces_action.triggered.connect(self.space_controller.show_browser)
        go_menu.addAction(self.browse_spaces_action)
        self.create_space_action = QAction("&Create space…", self)
        self.create_space_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.create_space_action.triggered.connect(self.space_controller.show_create)
        go_menu.addAction(self.create_space_action)
        available = self.space_controller.available()
        for action in (
            self.space_home_action,
            self.browse_spaces_action,
            self.create_space_action,
        ):
            action.setEnabled(available)

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Commonplace", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Commonplace",
            "Commonplace: group spaces, discussions and people of your "
            "organisation, on its Matrix server. The cache keeps them readable "
            "offline.",
        )

    # -- Routing -------------------------------------------------------------

    def mark_space_read(self, space_id: str | None) -> None:
        """Mark every room of a space read on the server, now or once online."""
        read_state = getattr(self.app_session, "read_state", None)
        if read_state is None or space_id is None:
            return
        read_state.space_read_requested(space_id)
        if self._sync_state == SyncState.ONLINE:
            message = "Marked as read. The unread counts change after the next sync."
        else:
            # The status bar's own offline text is hidden while this shows.
            message = (
                "Offline: marked as read on this computer; the server is told "
                "when the connection returns."
            )
        self.statusBar().showMessage(message, ACTION_MESSAGE_MS)

    def _space_selected(self, room_id: str | None) -> None:
        space = self.space_pane.model.space(room_id) if room_id is not None else None
        self.discussion_pane.set_space(space)
        if space is not None and space.membership != "join":
            # An invitation has no boards, so no board change clears the
            # reading pane of the previous space's discussion or home.
            self.thread_view.show_placeholder("")
            self._update_thread_placeholder()
        if space is not None and space.membership == "invite":
            inviter = self.space_pane.model.inviter_name(space.room_id)
            if inviter:
                self.discussion_pane.invitation_label.setText(
                    INVITED.replace("You are invited", f"{inviter} invited you", 1)
                )

    def _board_changed(self) -> None:
        # Called before the pane fills its list, so the text is chosen later.
        QTimer.singleShot(0, self._update_thread_placeholder)
        self.thread_view.show_placeholder("")

    def _update_thread_placeholder(self) -> None:
        if self.thread_view.current_discussion() is not None:
            return
        heading, text = self._placeholder_text()
        self.thread_view.show_placeholder(text, heading)
        # A files area hides the reading pane, and the home must not replace it.
        files = self.discussion_pane.showing_files()
        if heading != ENCRYPTED_HEADING and not files and self._home_space():
            self.show_space_home()
        else:
            self.reading_pane.setCurrentWidget(self.thread_view)

    def _show_discussion(self, event_id: str) -> None:
        """Open a discussion in the reading pane, in place of the space home."""
        self.reading_pane.setCurrentWidget(self.thread_view)
        self.thread_view.show_discussion(event_id)

    def _home_space(self) -> str | None:
        """Return the selected space if it has a home page to show, else None."""
        space_id = self.space_pane.selected_space()
        if self.space_home is None or space_id in (
            None,
            UNGROUPED_SPACE_ID,
            DIRECT_SPACE_ID,
        ):
            return None
        space = self.space_pane.model.space(space_id)
        if space is None or space.membership != "join":
            return None
        return space_id

    def show_space_home(self, space_id: str | None = None) -> bool:
        """Show a space's home page in the reading pane; False if it has none.

        Without space_id, the selected space's. The open discussion closes,
        and the discussion list keeps no selection.
        """
        if space_id is not None and space_id != self.space_pane.selected_space():
            self.space_pane.select_space(space_id)
        space_id = self._home_space()
        if space_id is None or self.space_home is None:
            return False
        self.show_home(False)
        self._leave_files_area()
        if self.thread_view.current_discussion() is not None:
            self.thread_view.show_placeholder("")
            selection = self.discussion_pane.list_view.selectionModel()
            selection.clearSelection()
            selection.clearCurrentIndex()
        if self.space_home.space_id() != space_id or not self.space_home.isVisible():
            self.space_home.show_space(space_id)
        self.reading_pane.setCurrentWidget(self.space_home)
        return True

    def _leave_files_area(self) -> None:
        """Bring back the reading pane that a shown files area hides.

        The middle pane switches to the space's first board, or to all of
        them. A space with no joined board keeps its files area in the middle
        pane, beside the reading pane.
        """
        pane = self.discussion_pane
        if not pane.showing_files():
            return
        first = pane.boards.entry(0)
        if first is not None and first.kind == "board" and first.joined:
            pane.choose_board(first.entry_id)
        self._set_files_shown(False)

    def _connect_spaces(self) -> None:
        controller = self.space_controller
        pane = self.space_pane
        pane.browse_requested.connect(controller.show_browser)
        pane.create_requested.connect(controller.show_create)
        pane.home_requested.connect(self.show_space_home)
        pane.leave_requested.connect(controller.leave)
        pane.invitation_answered.connect(controller.answer_invitation)
        pane.add_button.setEnabled(controller.available())
        self.discussion_pane.invitation_answered.connect(controller.answer_invitation)
        self.thread_view.pin_requested.connect(controller.set_pinned)
        self.discussion_pane.files_view.pin_requested.connect(controller.set_pinned)
        self.discussion_pane.files_view.remove_requested.connect(controller.remove_file)
        self.thread_view.remove_requested.connect(controller.remove_post)
        # Clicking the space that is already selected goes back to its home.
        pane.view.clicked.connect(lambda _index: self.show_space_home())
        home = self.space_home
        if home is None:
            return
        home.person_activated.connect(self.show_profile)
        home.room_requested.connect(self._open_space_room)
        home.pin_requested.connect(self._open_pinned)
        home.file_requested.connect(self._open_file)
        home.leave_requested.connect(controller.leave)
        home.invite_requested.connect(controller.show_invite)
        home.requests_requested.connect(controller.show_requests)
        home.role_change_requested.connect(controller.change_role)
        home.remove_member_requested.connect(controller.remove_member)
        home.join_room_requested.connect(controller.join_room)

    def _open_space_room(self, room_id: str) -> None:
        self.discussion_pane.choose_board(room_id)
        self.discussion_pane.list_view.setFocus()

    def _open_pinned(self, room_id: str, event_id: str, kind: str) -> None:
        if kind == "file":
            self._open_file(room_id, event_id)
        else:
            self.open_discussion(room_id, event_id)

    def _placeholder_text(self) -> tuple[str, str]:
        """Return the heading and sentence for the reading pane with nothing open.

        The middle pane's own sentence (no boards, no discussions, an
        invitation) is enough on its own, so the reading pane stays empty then.
        """
        entry = self.discussion_pane.current_entry()
        if entry is None or not entry.joined:
            return "", ""
        if entry.encrypted:
            return ENCRYPTED_HEADING, ENCRYPTED_NEXT_STEP
        if self.discussion_pane.message() is not None:
            return "", ""
        if entry.kind == "files":
            return "", CHOOSE_BOARD
        return NOTHING_OPEN_HEADING, CHOOSE_DISCUSSION

    def apply_changes(self, changes: Changes) -> None:
        if changes.spaces:
            self.space_pane.reload()
        selected = self.space_pane.selected_space()
        space = self.space_pane.model.space(selected) if selected is not None else None
        self.discussion_pane.apply_changes(changes, space)
        self.thread_view.apply_changes(changes)
        self.home_view.apply_changes(changes)
        self._apply_space_changes(changes)
        if self.home_entry.isChecked():
            # Re-reading the spaces selects one again; Home stays the only
            # highlighted entry.
            self.space_pane.view.clearSelection()
        if changes.outbox:
            self._update_outbox_indicator()
            if self._outbox_dialog is not None:
                self._outbox_dialog.reload()
        if changes.drafts and self._drafts_dialog is not None:
            self._drafts_dialog.apply_changes(changes)
        for dialog in list(self._profiles.values()):
            dialog.apply_changes(changes)
        if self._people_window is not None:
            self._people_window.apply_changes(changes)

    def _apply_space_changes(self, changes: Changes) -> None:
        self.space_controller.apply_changes(changes)
        home = self.space_home
        if home is None or self.reading_pane.currentWidget() is not home:
            return
        shown = home.space_id()
        if self._home_space() != shown:
            self._update_thread_placeholder()
            return
        rooms = {shown, *self._space_room_ids(shown)}
        members = (
            {member.user_id for member in home.home.members} if home.home else set()
        )
        if (
            changes.spaces
            or changes.rooms & rooms
            or changes.administration & rooms
            or changes.people & members
        ):
            home.reload()

    def _space_room_ids(self, space_id: str | None) -> list[str]:
        if space_id is None:
            return []
        return [
            room.room_id for room in list_space_rooms(self.store.reader(), space_id)
        ]

    # -- Home ------------------------------------------------------------------

    def _sidebar(self) -> QWidget:
        """Return the left pane: the Home entry above the space list."""
        sidebar = QWidget()
        sidebar.setObjectName("spacePane")
        sidebar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.home_entry)
        layout.addWidget(self.space_pane, 1)
        return sidebar

    def show_home(self, shown: bool = True) -> None:
        """Show the activity stream in place of the discussions, or hide it.

        Home gets the width of both panes it replaces, and they get their
        widths back when it is hidden.
        """
        if shown and not self.home_view.is_loaded():
            self.home_view.load()
        self.home_entry.setChecked(shown)
        if shown:
            self.space_pane.view.clearSelection()
        else:
            current = self.space_pane.view.currentIndex()
            if current.isValid():
                self.space_pane.view.selectionModel().select(
                    current, QItemSelectionModel.SelectionFlag.ClearAndSelect
                )
        if shown == self.home_view.isVisibleTo(self):
            return
        sizes = self.splitter.sizes()
        if shown:
            self._pane_sizes = sizes
        self.discussion_pane.setVisible(not shown)
        self.reading_pane.setVisible(not shown)
        self.home_view.setVisible(shown)
        if shown:
            self.splitter.setSizes([sizes[0], 0, 0, sum(sizes) - sizes[0]])
            self.home_view.list_view.setFocus()
        elif self._pane_sizes is not None:
            self.splitter.setSizes([*self._pane_sizes[:3], 0])

    def open_activity_item(self, item) -> None:
        """Open what a stream item is about: a post, a file or a person."""
        if item.kind in ("join", "profile"):
            self.show_profile(item.actor)
            return
        self.show_home(False)
        if item.discussion_id is not None:
            self._open_post(
                item.room_id, item.discussion_id, item.post_id or item.discussion_id
            )
        else:
            self._open_file(item.room_id, item.target_id)

    def set_status(self, status: SyncStatus) -> None:
        self._sync_state = status.state
        if status.last_sync_finished is None and self._cached_sync_time is not None:
            status = SyncStatus(
                status.state, self._cached_sync_time, status.retry_in, status.message
            )
        elif status.last_sync_finished is not None:
            self._cached_sync_time = status.last_sync_finished
            self.space_pane.set_synced_once(True)
        self.status_indicator.set_status(status)

    def _outbox_status(self, status) -> None:
        self.outbox_indicator.set_counts(status.queued, status.failed, status.message)

    def _update_outbox_indicator(self) -> None:
        waiting, failed = outbox_counts(self.app_session.outbox.list_items())
        self.outbox_indicator.set_counts(waiting, failed)

    # -- Dialogs -------------------------------------------------------------

    def show_outbox(self) -> OutboxDialog:
        if self._outbox_dialog is None:
            self._outbox_dialog = OutboxDialog(self.outbox_actions, self)
        self._outbox_dialog.reload()
        self._outbox_dialog.show()
        self._outbox_dialog.raise_()
        return self._outbox_dialog

    def show_drafts(self) -> DraftsDialog:
        if self._drafts_dialog is None:
            self._drafts_dialog = DraftsDialog(self.store, self)
            self._drafts_dialog.open_requested.connect(self.open_draft)
        self._drafts_dialog.show()
        self._drafts_dialog.raise_()
        return self._drafts_dialog

    def open_draft(self, draft) -> None:
        """Open the composer that draft belongs to; the composer restores it."""
        if draft.composer == "discussion":
            self.show_composer(draft.target_id)
            return
        post = outbox_queries.find_post(self.store.reader(), draft.target_id)
        if post is None:
            self._show_action_failure("The post of this draft is not in the cache.")
            return
        if draft.composer == "edit" and not post.is_reply:
            self.edit_discussion(post.post_id)
            return
        if not self.discussion_pane.select_discussion(post.root_id):
            self._show_discussion(post.root_id)
        if draft.composer == "edit":
            self.thread_view.reply_box.start_edit(post.post_id, post.body)
        self.thread_view.reply_box.editor.setFocus()

    def show_search(self) -> SearchDialog:
        if self._search_dialog is None:
            self._search_dialog = SearchDialog(
                self.store, self, getattr(self.app_session, "thumbnails", None)
            )
            self._search_dialog.hit_chosen.connect(self.open_search_hit)
        self._search_dialog.start()
        return self._search_dialog

    def open_search_hit(self, hit: SearchHit) -> None:
        """Show what a search result points to, where the user would find it."""
        if hit.kind == "person":
            self.show_profile(hit.ref)
        elif hit.kind == "space":
            if not self.space_pane.select_space(hit.ref):
                self._show_action_failure("This space is no longer in your list.")
        elif hit.kind == "file":
            self._open_file(hit.room_id, hit.ref)
        elif hit.discussion_id is not None:
            self.open_discussion(hit.room_id, hit.discussion_id)
            if hit.kind == "reply":
                self.thread_view.scroll_to_post(hit.ref)

    def open_discussion(self, room_id: str | None, event_id: str) -> None:
        """Select the discussion's space and board, then open it from the list.

        A discussion the list cannot show still opens in the reading pane.
        """
        if room_id is not None:
            self._show_room(room_id)
        pane = self.discussion_pane
        if pane.discussions.row_of(event_id) is None and room_id is not None:
            pane.choose_board(room_id)
        model = pane.discussions
        for _ in range(MAX_PAGES_TO_FIND):
            if model.row_of(event_id) is not None or not model.canFetchMore():
                break
            model.fetchMore()
        if pane.select_discussion(event_id):
            pane.list_view.scrollTo(
                pane.list_view.currentIndex(),
                QAbstractItemView.ScrollHint.PositionAtCenter,
            )
        else:
            self._show_discussion(event_id)

    def open_direct_room(self, room_id: str) -> bool:
        """Select the Direct messages entry and, in it, the direct room room_id.

        The cache is re-read first, because a room just created or accepted is
        cached before any sync announces it. Returns False, with a status bar
        message, when the room is not a cached direct room.
        """
        self.apply_changes(Changes(rooms={room_id}, spaces=True))
        if not self.space_pane.select_space(DIRECT_SPACE_ID):
            self._show_action_failure("This conversation is not in the cache yet.")
            return False
        if not self.discussion_pane.choose_board(room_id):
            self._show_action_failure("This conversation is not in the cache yet.")
            return False
        # The profile that asked for it may be in front; the conversation is here.
        self.raise_()
        self.activateWindow()
        return True

    def _open_file(self, room_id: str | None, event_id: str) -> None:
        """Open the files area of room_id with the file event_id selected."""
        if room_id is None or not self._show_room(room_id):
            self._show_action_failure("The room of this file is not in your spaces.")
            return
        pane = self.discussion_pane
        pane.choose_board(room_id)
        entry = pane.current_entry()
        if entry is None or entry.kind != "files":
            return
        if not pane.select_file(event_id):
            self._show_action_failure("This file is no longer in its files area.")

    def _set_files_shown(self, shown: bool) -> None:
        """Hide the reading pane while a files area, with its own preview, shows."""
        if self.home_view.isVisibleTo(self):
            return
        self.splitter.widget(2).setVisible(not shown)

    def _show_room(self, room_id: str) -> bool:
        """Select the space that room_id belongs to; return False if none does."""
        conn = self.store.reader()
        model = self.space_pane.model
        spaces = [model.room_id_at(row) for row in range(model.rowCount())]
        # The selected space first, so a room in two spaces keeps the one in view.
        selected = self.space_pane.selected_space()
        if selected in spaces:
            spaces.remove(selected)
            spaces.insert(0, selected)
        for space_id in spaces:
            if space_id is None:
                continue
            room_ids = [room.room_id for room in list_space_rooms(conn, space_id)]
            if room_id in room_ids:
                if space_id != selected:
                    self.space_pane.select_space(space_id)
                return True
        return False

    def show_profile(self, user_id: str) -> ProfileDialog:
        dialog = self._profiles.get(user_id)
        if dialog is None:
            dialog = ProfileDialog(
                self.store,
                user_id,
                getattr(self.app_session, "thumbnails", None),
                self,
                own_user_id=self.app_session.user_id,
                profiles=getattr(self.app_session, "profiles", None),
            )
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(lambda: self._profiles.pop(user_id, None))
            dialog.discussion_requested.connect(self._open_post)
            dialog.file_requested.connect(self._open_file)
            dialog.space_requested.connect(self.space_pane.select_space)
            dialog.edit_requested.connect(self.show_profile_editor)
            dialog.message_requested.connect(self.message_person)
            self._profiles[user_id] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_people(self, mode: int = DIRECTORY_TAB) -> PeopleWindow:
        if self._people_window is None:
            session = self.app_session
            self._people_window = PeopleWindow(
                self.store,
                session.user_id,
                getattr(session, "thumbnails", None),
                getattr(session, "search_user_directory", None),
                self,
            )
            self._people_window.person_activated.connect(self.show_profile)
        self._people_window.start(mode)
        return self._people_window

    def show_profile_editor(self) -> ProfileEditorDialog:
        if self._profile_editor is None:
            editor = ProfileEditorDialog(
                self.store,
                self.app_session.outbox,
                self.app_session.user_id,
                getattr(self.app_session, "thumbnails", None),
                self,
                uploads_allowed=not getattr(
                    self.app_session, "policy", NO_POLICY
                ).disable_uploads,
            )
            editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            editor.destroyed.connect(lambda: setattr(self, "_profile_editor", None))
            self._profile_editor = editor
        self._profile_editor.show()
        self._profile_editor.raise_()
        self._profile_editor.activateWindow()
        return self._profile_editor

    def message_person(self, user_id: str) -> None:
        """Open the direct conversation with user_id, starting one if needed."""
        self.direct_actions.message(user_id)

    def _direct_room_ready(self, room_id: str) -> None:
        self.statusBar().clearMessage()
        for dialog in list(self._profiles.values()):
            dialog.message_finished()
        self.open_direct_room(room_id)

    def _direct_room_failed(self, message: str) -> None:
        # The profile that made the request covers the status bar, so it shows the message too.
        self._show_action_failure(message)
        for dialog in list(self._profiles.values()):
            dialog.message_finished(message)

    def _open_post(self, room_id: str, discussion_id: str, event_id: str) -> None:
        self.open_discussion(room_id, discussion_id)
        if event_id != discussion_id:
            self.thread_view.scroll_to_post(event_id)

    def edit_discussion(self, post_id: str, failed_item_id: int = 0) -> None:
        """Open the composer on the user's discussion post_id.

        With failed_item_id, the composer revises that failed item instead of
        queueing a new edit.
        """
        post = outbox_queries.find_post(self.store.reader(), post_id)
        if post is None:
            self._show_action_failure("This discussion is no longer in the cache.")
            return
        self.show_composer(post.room_id, post, failed_item_id or None)

    def show_composer(
        self, room_id: str, post=None, failed_item_id: int | None = None
    ) -> DiscussionComposer:
        """Open the composer of a new discussion in room_id, or of an edit of post."""
        key = ("edit", post.post_id) if post is not None else ("discussion", room_id)
        composer = self._composers.get(key)
        if composer is None:
            room = get_room(self.store.reader(), room_id)
            composer = DiscussionComposer(
                self.store,
                self.app_session.outbox,
                room_id,
                room_name=clean_name(room.name if room else None),
                post=post,
                failed_item_id=failed_item_id,
                parent=self,
            )
            composer.posted.connect(self._posted)
            composer.finished.connect(
                lambda result: self._composer_finished(key, result)
            )
            self._composers[key] = composer
        composer.show()
        composer.raise_()
        composer.activateWindow()
        return composer

    def _composer_finished(self, key: tuple[str, str], result: int) -> None:
        # A closed composer stays, hidden, until its text is queued: its last
        # draft save may still be running, and reopening shows it again.
        if result == DiscussionComposer.DialogCode.Accepted:
            composer = self._composers.pop(key, None)
            if composer is not None:
                composer.deleteLater()

    def _posted(self, post_id: str) -> None:
        self.discussion_pane.select_discussion(post_id)

    def set_following(self, discussion_id: str, following: bool) -> None:
        """Follow or unfollow a discussion, here at once and then on the server."""
        self._follow_tasks.run(
            self._set_following(discussion_id, following),
            on_failure=self._follow_failed,
            key=("follow", discussion_id),
        )

    async def _set_following(self, discussion_id: str, following: bool) -> None:
        self.events.cache_changed.emit(
            await apply_choice(self.store, discussion_id, following)
        )
        client = getattr(self.app_session, "client", None)
        if client is None:
            return
        changes = await save_choice(
            client, self.store, self.app_session.user_id, discussion_id, following
        )
        self.events.cache_changed.emit(changes)

    def _follow_failed(self, error: BaseException) -> None:
        log.warning("Saving a follow on the server failed: %s", error)
        self._show_action_failure(
            f"Following applies on this computer only: saving it on the server "
            f"failed ({error}). Choose it again once you are online."
        )

    def _show_action_failure(self, message: str) -> None:
        self.statusBar().showMessage(message, ACTION_MESSAGE_MS)

    def show_settings(self) -> SettingsDialog:
        if self._settings_dialog is None:
            dialog = SettingsDialog(self.app_session, self)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.sign_out_requested.connect(self.sign_out_requested)
            dialog.destroyed.connect(self._settings_closed)
            self._settings_dialog = dialog
        self._settings_dialog.show()
        self._settings_dialog.raise_()
        return self._settings_dialog

    def _settings_closed(self) -> None:
        self._settings_dialog = None

    # -- Window state --------------------------------------------------------

    @staticmethod
    def _window_settings() -> QSettings:
        # Kept beside settings.json, so COMMONPLACE_HOME moves it too.
        path = paths.config_dir() / "window.ini"
        return QSettings(str(path), QSettings.Format.IniFormat)

    def _restore_geometry(self) -> None:
        settings = self._window_settings()
        geometry = settings.value("mainWindow/geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            splitter = settings.value("mainWindow/splitter")
            if isinstance(splitter, QByteArray):
                self.splitter.restoreState(splitter)
            return
        self.resize(1280, 800)
        self.splitter.setSizes([240, 420, 620])

    def _save_geometry(self) -> None:
        settings = self._window_settings()
        settings.setValue("mainWindow/geometry", self.saveGeometry())
        settings.setValue("mainWindow/splitter", self.splitter.saveState())

    def closeEvent(self, event: QCloseEvent) -> None:
        # The splitter's sizes are saved for the discussion panes.
        self.show_home(False)
        self._save_geometry()
        self.events.disconnect_session()
        self.thread_view.stop()
        for dialog in list(self._profiles.values()):
            dialog.close()
        if self._search_dialog is not None:
            self._search_dialog.close()
        super().closeEvent(event)
        self.closed.emit()
