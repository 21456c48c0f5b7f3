"""The space dialogs, space home and moderator links, in each of their states.

FakeSpaces replaces app.spaces.Spaces at the UI's boundary, so these
tests can hold an action busy, fail it as offline or as a server error, and
count the requests; the end-to-end tests against Synapse are in
test_space_synapse.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from app.matrix.errors import ConnectionFailed, RequestFailed
from app.space_records import PinnedEvents
from app.spaces import (
    MAX_NAME_LENGTH,
    DirectoryEntry,
    DirectoryPage,
    PinnedItem,
    RecentFile,
    SpaceActionError,
    SpaceChild,
    SpaceHome,
    SpaceMember,
    SpaceRoom,
)
from tests.ui.builders import ME
from ui.create_space_dialog import CreateSpaceDialog
from ui.discussion_pane import INVITED
from ui.main_window import MainWindow
from ui.space_browser import (
    NO_MATCH,
    NO_ROOMS,
    NO_ROOMS_JOINED,
    NO_SPACES,
    OFFLINE,
    SEARCH_DELAY_MS,
    SpaceBrowserDialog,
)
from ui.space_home import SpaceHomeView
from ui.space_members import JoinRequestsDialog

GUILD = "!guild:example.org"
BOARD = "!board:example.org"
FILES = "!files:example.org"
ANA = "@ana:example.org"
BEN = "@ben:example.org"


def entry(room_id: str, name: str, join_rule: str = "public", membership=None):
    return DirectoryEntry(
        room_id=room_id,
        name=name,
        topic=f"About {name}",
        avatar_url=None,
        member_count=12,
        join_rule=join_rule,
        alias=None,
        membership=membership,
    )


def child(room_id: str, name: str) -> SpaceChild:
    return SpaceChild(
        room_id=room_id,
        name=name,
        topic=None,
        avatar_url=None,
        member_count=3,
        join_rule="restricted",
        room_type=None,
        joinable=True,
        membership=None,
    )


class FakeSpaces:
    """Spaces with canned results; ``gate`` blocks actions until it is set."""

    def __init__(self):
        self.pages: dict[tuple[str, str | None], DirectoryPage] = {}
        self.browse_error: BaseException | None = None
        self.action_error: BaseException | None = None
        self.calls: list[tuple] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.children: list[SpaceChild] = []
        self.home: SpaceHome | None = None
        self.requests: list = []
        self.roles: dict[str, str] = {}
        self.pins: list[PinnedItem] = []
        self.created_id = GUILD

    async def browse(self, term: str = "", since: str | None = None):
        self.calls.append(("browse", term, since))
        if self.browse_error is not None:
            raise self.browse_error
        return self.pages.get((term, since), DirectoryPage([], None))

    async def hierarchy(self, space_id: str):
        self.calls.append(("hierarchy", space_id))
        return self.children

    async def _action(self, *call):
        self.calls.append(call)
        await self.gate.wait()
        if self.action_error is not None:
            raise self.action_error

    async def join(self, room_id: str) -> str:
        await self._action("join", room_id)
        return room_id

    async def knock(self, room_id: str, reason: str = "") -> None:
        await self._action("knock", room_id, reason)

    async def accept_invite(self, room_id: str) -> str:
        await self._action("accept_invite", room_id)
        return room_id

    async def decline_invite(self, room_id: str) -> None:
        await self._action("decline_invite", room_id)

    async def create(self, name, topic="", avatar_path=None, visibility="invite"):
        await self._action("create", name, topic, avatar_path, visibility)
        return self.created_id

    async def approve_request(self, space_id, user_id):
        await self._action("approve", space_id, user_id)

    async def refuse_request(self, space_id, user_id, reason=""):
        await self._action("refuse", space_id, user_id, reason)

    async def pin(self, room_id, event_id):
        await self._action("pin", room_id, event_id)

    async def unpin(self, room_id, event_id):
        await self._action("unpin", room_id, event_id)

    def join_requests(self, space_id):
        return self.requests

    def space_home(self, space_id):
        return self.home

    def role(self, room_id, user_id):
        return self.roles.get(room_id, "member")

    def pinned(self, space_id):
        return self.pins


@pytest.fixture
def spaces() -> FakeSpaces:
    return FakeSpaces()


@pytest.fixture
def browser(qtbot, qasync_loop, spaces):
    def make() -> SpaceBrowserDialog:
        dialog = SpaceBrowserDialog(spaces)
        qtbot.addWidget(dialog)
        dialog.start()
        return dialog

    return make


def listed_names(dialog) -> list[str]:
    model = dialog.model
    return [model.index(row).data() for row in range(model.rowCount())]


# -- Browse spaces -----------------------------------------------------------


def test_browser_lists_directory_spaces(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage(
        [entry(GUILD, "Data Guild"), entry("!ux:x", "UX", membership="join")], None
    )
    dialog = browser()

    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2)
    assert listed_names(dialog) == ["Data Guild", "UX"]
    assert dialog.message() is None


def test_browser_empty_directory_says_so(qtbot, browser):
    dialog = browser()

    qtbot.waitUntil(lambda: dialog.message() == NO_SPACES)
    assert not dialog.retry_button.isVisibleTo(dialog)


def test_browser_search_waits_for_typing_pause(qtbot, browser, spaces):
    spaces.pages[("data", None)] = DirectoryPage([entry(GUILD, "Data Guild")], None)
    dialog = browser()
    qtbot.waitUntil(lambda: dialog.message() == NO_SPACES)

    for text in ("d", "da", "dat", "data"):
        dialog.search_edit.setText(text)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=SEARCH_DELAY_MS * 10)

    searches = [call for call in spaces.calls if call[0] == "browse"]
    assert searches == [("browse", "", None), ("browse", "data", None)]


def test_browser_no_match_names_term(qtbot, browser):
    dialog = browser()
    dialog.search_edit.setText("zebra")
    dialog.search_now()

    qtbot.waitUntil(lambda: dialog.message() == NO_MATCH.format(term="zebra"))


def offline_error() -> SpaceActionError:
    """Return the error Spaces raises without a connection, with its cause."""
    error = SpaceActionError("Commonplace is offline. Browsing needs a connection.")
    error.__cause__ = ConnectionFailed("connection refused")
    return error


@pytest.mark.parametrize(
    "error", [ConnectionFailed("connection refused"), offline_error()]
)
def test_browser_offline_offers_retry(qtbot, browser, spaces, error):
    spaces.browse_error = error
    dialog = browser()

    qtbot.waitUntil(lambda: dialog.message() == OFFLINE)
    assert dialog.retry_button.isVisibleTo(dialog)

    spaces.browse_error = None
    spaces.pages[("", None)] = DirectoryPage([entry(GUILD, "Data Guild")], None)
    dialog.retry_button.click()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    assert dialog.message() is None


def test_browser_server_error_is_shown(qtbot, browser, spaces):
    spaces.browse_error = RequestFailed("Internal error", status=400)
    dialog = browser()

    qtbot.waitUntil(
        lambda: dialog.message() is not None and "failed" in dialog.message()
    )
    assert "Internal error" in dialog.message()
    assert dialog.retry_button.isVisibleTo(dialog)


def test_browser_loads_next_page_at_end(qtbot, browser, spaces):
    first = [entry(f"!s{n}:x", f"Space {n:02}") for n in range(20)]
    spaces.pages[("", None)] = DirectoryPage(first, "page2")
    spaces.pages[("", "page2")] = DirectoryPage([entry("!last:x", "Last space")], None)
    dialog = browser()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 20)

    dialog.list_view.scrollToBottom()
    dialog.list_view.setCurrentIndex(dialog.model.index(19))
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 21)

    assert listed_names(dialog)[-1] == "Last space"
    assert ("browse", "", "page2") in spaces.calls
    assert not dialog.model.canFetchMore()


def test_browser_previews_rooms_then_joins(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage([entry(GUILD, "Data Guild")], None)
    spaces.children = [child(GUILD, "Data Guild"), child(BOARD, "Discussions")]
    spaces.gate.clear()
    dialog = browser()
    preview = dialog.preview
    qtbot.waitUntil(lambda: preview.rooms_list.count() == 1)
    assert "Discussions" in preview.rooms_list.item(0).text()
    assert preview.action_button.text() == "Join"

    with qtbot.waitSignal(dialog.joined) as joined:
        preview.action_button.click()
        assert preview.action_button.text() == "Joining…"
        assert not preview.action_button.isEnabled()
        spaces.gate.set()

    assert joined.args == [GUILD]
    assert preview.action_button.text() == "Open space"
    assert dialog.model.membership(dialog.model.entry(0)) == "join"


def test_browser_preview_without_rooms(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage([entry(GUILD, "Data Guild")], None)
    dialog = browser()

    qtbot.waitUntil(lambda: dialog.preview.rooms_message.text() == NO_ROOMS)


def test_browser_joined_space_without_rooms(qtbot, browser, spaces):
    joined = entry(GUILD, "Data Guild", membership="join")
    spaces.pages[("", None)] = DirectoryPage([joined], None)
    dialog = browser()

    qtbot.waitUntil(lambda: dialog.preview.rooms_message.text() == NO_ROOMS_JOINED)
    assert "only to its members" not in dialog.preview.rooms_message.text()


def test_browser_lists_rooms_after_join(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage([entry(GUILD, "Data Guild")], None)
    dialog = browser()
    preview = dialog.preview
    qtbot.waitUntil(lambda: preview.rooms_message.text() == NO_ROOMS)
    # Rooms restricted to members show in the hierarchy once the user joins.
    spaces.children = [child(BOARD, "Discussions")]

    with qtbot.waitSignal(dialog.joined):
        preview.action_button.click()

    qtbot.waitUntil(lambda: preview.rooms_list.count() == 1)
    assert "Discussions" in preview.rooms_list.item(0).text()
    assert preview.rooms_list.isVisibleTo(preview)


def test_browser_shows_refusal_reason(qtbot, browser, spaces):
    from app.spaces import JoinRefusal

    refused = replace(
        entry(GUILD, "Data Guild", join_rule="knock", membership="leave"),
        refusal=JoinRefusal(banned=False, reason="Members only", moderator_id=ANA),
    )
    spaces.pages[("", None)] = DirectoryPage([refused], None)
    dialog = browser()
    preview = dialog.preview

    qtbot.waitUntil(lambda: preview.entry() is not None)
    note = preview.refusal_label
    assert note.isVisibleTo(preview)
    assert "refused your request" in note.text()
    assert "“Members only”" in note.text()
    assert ANA in note.text()
    assert preview.knock_message.isVisibleTo(preview)
    assert preview.action_button.text() == "Ask to join"
    assert preview.action_button.isEnabled()


def test_browser_shows_ban(qtbot, browser, spaces):
    from app.spaces import JoinRefusal

    banned = replace(
        entry(GUILD, "Data Guild", join_rule="knock", membership="leave"),
        refusal=JoinRefusal(banned=True, reason=None, moderator_id=None),
    )
    spaces.pages[("", None)] = DirectoryPage([banned], None)
    dialog = browser()
    preview = dialog.preview

    qtbot.waitUntil(lambda: preview.entry() is not None)
    assert "banned" in preview.refusal_label.text()
    assert preview.refusal_label.isVisibleTo(preview)
    assert not preview.knock_message.isVisibleTo(preview)
    assert preview.action_button.text() == "Banned"
    assert not preview.action_button.isEnabled()


def test_browser_left_on_own_shows_no_refusal(qtbot, browser, spaces):
    left = entry(GUILD, "Data Guild", join_rule="knock", membership="leave")
    spaces.pages[("", None)] = DirectoryPage([left], None)
    dialog = browser()
    preview = dialog.preview

    qtbot.waitUntil(lambda: preview.entry() is not None)
    assert not preview.refusal_label.isVisibleTo(preview)
    assert preview.knock_message.isVisibleTo(preview)


def test_browser_knock_sends_message(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage(
        [entry(GUILD, "Data Guild", join_rule="knock")], None
    )
    dialog = browser()
    preview = dialog.preview
    qtbot.waitUntil(lambda: preview.action_button.text() == "Ask to join")
    assert preview.knock_message.isVisibleTo(dialog)

    preview.knock_message.setText("  I lead the data team  ")
    preview.action_button.click()

    qtbot.waitUntil(lambda: preview.action_button.text() == "Requested")
    assert ("knock", GUILD, "I lead the data team") in spaces.calls
    assert not preview.action_button.isEnabled()


def test_browser_join_failure_shown_in_place(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage([entry(GUILD, "Data Guild")], None)
    spaces.action_error = SpaceActionError(
        "Commonplace is offline. Joining Data Guild needs a connection."
    )
    dialog = browser()
    preview = dialog.preview
    qtbot.waitUntil(lambda: preview.entry() is not None)

    preview.action_button.click()

    qtbot.waitUntil(lambda: preview.error_label.isVisibleTo(dialog))
    assert "Joining Data Guild needs a connection" in preview.error_label.text()
    assert preview.action_button.text() == "Join"
    assert preview.action_button.isEnabled()


def test_browser_invite_only_cannot_join(qtbot, browser, spaces):
    spaces.pages[("", None)] = DirectoryPage(
        [entry(GUILD, "Data Guild", join_rule="invite")], None
    )
    dialog = browser()

    qtbot.waitUntil(lambda: dialog.preview.entry() is not None)
    assert dialog.preview.action_button.text() == "By invitation only"
    assert not dialog.preview.action_button.isEnabled()


# -- Create space ------------------------------------------------------------


@pytest.fixture
def create_dialog(qtbot, qasync_loop, spaces):
    dialog = CreateSpaceDialog(spaces)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_create_needs_a_name(create_dialog):
    assert not create_dialog.create_button.isEnabled()
    create_dialog.name_edit.setText("   ")
    assert not create_dialog.create_button.isEnabled()
    create_dialog.name_edit.setText("Data Guild")
    assert create_dialog.create_button.isEnabled()


def test_create_rejects_long_name_plainly(create_dialog, spaces):
    create_dialog.name_edit.setText("x" * (MAX_NAME_LENGTH + 20))
    create_dialog.create_button.click()

    assert not create_dialog.is_busy()
    assert "at most 255" in create_dialog.error_label.text()


def test_create_counts_characters_people_see(qtbot, create_dialog, spaces):
    # 200 accented letters, each an "e" and a combining accent: 400 code units.
    create_dialog.name_edit.setText("e\u0301" * 200)

    with qtbot.waitSignal(create_dialog.created):
        create_dialog.create_button.click()

    assert spaces.calls[0][1] == "\u00e9" * 200


def test_create_sends_trimmed_values(qtbot, create_dialog, spaces):
    create_dialog.name_edit.setText("  Data Guild ")
    create_dialog.topic_edit.setPlainText(" Pipelines and warehouses \n")
    create_dialog.visibility_buttons["knock"].setChecked(True)

    with qtbot.waitSignal(create_dialog.created) as created:
        create_dialog.create_button.click()

    assert created.args == [GUILD]
    assert spaces.calls == [
        ("create", "Data Guild", "Pipelines and warehouses", None, "knock")
    ]
    assert not create_dialog.isVisible()


def test_create_busy_then_error_keeps_values(qtbot, create_dialog, spaces):
    spaces.gate.clear()
    spaces.action_error = ConnectionFailed("connection refused")
    create_dialog.name_edit.setText("Data Guild")
    create_dialog.topic_edit.setPlainText("Pipelines")
    create_dialog.visibility_buttons["public"].setChecked(True)

    create_dialog.create_button.click()

    assert create_dialog.is_busy()
    assert create_dialog.create_button.text() == "Creating…"
    assert not create_dialog.create_button.isEnabled()
    assert not create_dialog.name_edit.isEnabled()
    spaces.gate.set()
    qtbot.waitUntil(lambda: not create_dialog.is_busy())
    assert create_dialog.isVisible()
    assert "offline" in create_dialog.error_label.text()
    assert create_dialog.error_label.isVisibleTo(create_dialog)
    assert create_dialog.name() == "Data Guild"
    assert create_dialog.topic() == "Pipelines"
    assert create_dialog.visibility() == "public"
    assert create_dialog.name_edit.isEnabled()


def test_create_uploads_cropped_picture(qtbot, create_dialog, spaces):
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage

    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    image.fill(QColor("teal"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    create_dialog.set_picture(bytes(data), "image/png")
    create_dialog.name_edit.setText("Data Guild")
    seen = {}

    async def create(name, topic="", avatar_path=None, visibility="invite"):
        seen["bytes"] = avatar_path.read_bytes()
        seen["path"] = avatar_path
        return GUILD

    spaces.create = create
    with qtbot.waitSignal(create_dialog.created):
        create_dialog.create_button.click()

    assert seen["bytes"] == bytes(data)
    assert not seen["path"].exists()


def test_create_busy_offers_only_close(qtbot, create_dialog, spaces):
    spaces.gate.clear()
    create_dialog.name_edit.setText("Data Guild")
    cancel = create_dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel.text() == "Cancel"

    create_dialog.create_button.click()

    assert cancel.text() == "Close"
    assert "cannot be stopped" in create_dialog.busy_label.text()
    spaces.gate.set()
    qtbot.waitUntil(lambda: not create_dialog.isVisible())


def _start_creation_then_close(qtbot, window, spaces):
    window.create_space_action.trigger()
    dialog = window.space_controller.create_dialog
    dialog.name_edit.setText("Data Guild")
    spaces.gate.clear()
    dialog.create_button.click()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not dialog.isVisible()
    spaces.gate.set()
    return dialog


def test_create_closed_keeps_selection(qtbot, qasync_loop, app_session, cache, spaces):
    cache.space("!other:x", "Other")
    cache.space(GUILD, "Data Guild")
    cache.commit()
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space("!other:x")

    dialog = _start_creation_then_close(qtbot, window, spaces)

    qtbot.waitUntil(lambda: not dialog.is_busy())
    message = window.statusBar().currentMessage()
    assert message.startswith("Created Data Guild.")
    assert window.space_pane.selected_space() == "!other:x"
    assert not dialog.isVisible()


def test_create_closed_failure_in_status_bar(qtbot, qasync_loop, app_session, spaces):
    spaces.action_error = ConnectionFailed("connection refused")
    window = window_with(qtbot, app_session, spaces)

    dialog = _start_creation_then_close(qtbot, window, spaces)

    qtbot.waitUntil(lambda: not dialog.is_busy())
    assert "offline" in window.statusBar().currentMessage()
    assert not dialog.isVisible()
    # The status bar clears itself, and part of the space may exist, so a
    # box says how to finish it.
    box = window.space_controller.failure_box
    qtbot.waitUntil(lambda: box.isVisible())
    assert "offline" in box.text()
    assert "same name" in box.text()
    box.close()


# -- Invitations -------------------------------------------------------------


def window_with(qtbot, app_session, spaces) -> MainWindow:
    app_session.spaces = spaces
    window = MainWindow(app_session)
    qtbot.addWidget(window)
    window.show()
    return window


def test_invitation_accept_selects_space(
    qtbot, qasync_loop, app_session, cache, spaces
):
    cache.space("!other:x", "Other")
    cache.space(GUILD, "Data Guild", membership="invite")
    cache.commit()
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space(GUILD)
    pane = window.discussion_pane
    assert pane.message() == INVITED
    spaces.gate.clear()

    pane.accept_button.click()

    assert not pane.accept_button.isEnabled()
    spaces.gate.set()
    qtbot.waitUntil(lambda: ("accept_invite", GUILD) in spaces.calls)
    qtbot.waitUntil(lambda: window.space_pane.selected_space() == GUILD)


def test_invitation_failure_enables_buttons(
    qtbot, qasync_loop, app_session, cache, spaces
):
    cache.space(GUILD, "Data Guild", membership="invite")
    cache.commit()
    spaces.action_error = ConnectionFailed("refused")
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space(GUILD)
    pane = window.discussion_pane

    pane.decline_button.click()

    qtbot.waitUntil(lambda: pane.decline_button.isEnabled())
    assert "offline" in window.statusBar().currentMessage()


# -- Space home --------------------------------------------------------------


def guild_home(own_role: str = "member", requests: int = 0) -> SpaceHome:
    return SpaceHome(
        space_id=GUILD,
        name="Data Guild",
        topic="Pipelines and warehouses",
        avatar_url=None,
        join_rule="knock",
        member_count=3,
        own_role=own_role,
        members=[
            SpaceMember(ME, "Mia Me", None, own_role),
            SpaceMember(ANA, "Ana Owner", None, "owner"),
            SpaceMember(BEN, "Ben Member", None, "member"),
        ],
        boards=[SpaceRoom(BOARD, "board", "Discussions", None, "join")],
        files_areas=[SpaceRoom(FILES, "files", "Files", None, "join")],
        recent_files=[
            RecentFile("$f1", FILES, "plan.pdf", BEN, "Ben Member", 1, None, 10)
        ],
        pinned=[
            PinnedItem(BOARD, "Discussions", "$d1", "discussion", "Read me", ANA, "Ana")
        ],
        join_request_count=requests,
    )


@pytest.fixture
def home_view(qtbot, qasync_loop, spaces):
    def make(home: SpaceHome) -> SpaceHomeView:
        spaces.home = home
        view = SpaceHomeView(spaces, ME)
        qtbot.addWidget(view)
        view.show_space(GUILD)
        view.show()
        return view

    return make


def test_home_shows_about_and_sections(home_view):
    view = home_view(guild_home())

    assert view.name_label.text() == "Data Guild"
    assert "3 members" in view.details_label.text()
    assert "You are a member" in view.details_label.text()
    assert view.link_texts("pins") == ["📌 Read me · Discussions"]
    assert view.link_texts("rooms") == [
        "Discussions · discussion board",
        "Files · files area",
    ]
    assert view.link_texts("files")[0].startswith("plan.pdf · Ben Member")
    assert view.members.headings() == ["Owners (1)", "Members (2)"]
    assert view.members.user_ids() == [ANA, ME, BEN]


def test_home_member_sees_no_moderator_tools(home_view):
    view = home_view(guild_home("member"))

    assert view.invite_button.isHidden()
    assert view.requests_button.isHidden()
    actions = [a.text() for a in view.members.member_menu(BEN).actions()]
    assert actions == ["View profile"]


def test_home_moderator_tools(home_view):
    view = home_view(guild_home("moderator", requests=2))

    assert not view.invite_button.isHidden()
    assert view.requests_button.text() == "Join requests (2)"
    actions = [a.text() for a in view.members.member_menu(BEN).actions() if a.text()]
    assert actions == ["View profile", "Make moderator", "Remove from space…"]
    owner_actions = [a.text() for a in view.members.member_menu(ANA).actions()]
    assert "Remove from space…" not in owner_actions


def test_home_role_change_signal(qtbot, home_view):
    view = home_view(guild_home("owner"))
    menu = view.members.member_menu(BEN)
    make = next(a for a in menu.actions() if a.text() == "Make moderator")

    with qtbot.waitSignal(view.role_change_requested) as request:
        make.trigger()

    assert request.args == [GUILD, BEN, "moderator"]


def test_home_pin_opens_target(qtbot, home_view):
    view = home_view(guild_home())

    with qtbot.waitSignal(view.pin_requested) as opened:
        view.click_link("pins", 0)

    assert opened.args == [BOARD, "$d1", "discussion"]


def test_home_member_opens_profile(qtbot, home_view):
    view = home_view(guild_home())
    item = view.members.item(view.members.count() - 1)

    with qtbot.waitSignal(view.person_activated) as activated:
        view.members.itemActivated.emit(item)

    assert activated.args == [BEN]


def test_window_shows_home_when_nothing_open(
    qtbot, qasync_loop, app_session, cache, spaces
):
    cache.space(GUILD, "Data Guild")
    cache.board(BOARD, "Discussions", GUILD)
    root = cache.discussion(BOARD, "Read me")
    cache.commit()
    spaces.home = guild_home()
    spaces.home.pinned[0] = PinnedItem(
        BOARD, "Discussions", root, "discussion", "Read me", ANA, "Ana"
    )
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space(GUILD)

    qtbot.waitUntil(lambda: window.reading_pane.currentWidget() is window.space_home)
    window.space_home.click_link("pins", 0)

    assert window.reading_pane.currentWidget() is window.thread_view
    assert window.thread_view.current_discussion() == root
    assert window.show_space_home()
    assert window.reading_pane.currentWidget() is window.space_home
    assert window.thread_view.current_discussion() is None


# -- Join requests -----------------------------------------------------------


def test_requests_dialog_empty(qtbot, qasync_loop, spaces):
    dialog = JoinRequestsDialog(spaces, GUILD, "Data Guild")
    qtbot.addWidget(dialog)

    assert dialog.empty_label.isVisibleTo(dialog)
    assert not dialog.approve_button.isEnabled()


def test_requests_dialog_approves(qtbot, qasync_loop, spaces):
    from app.spaces import JoinRequest

    spaces.requests = [JoinRequest(GUILD, BEN, "Ben", None, "Let me in", 1)]
    dialog = JoinRequestsDialog(spaces, GUILD, "Data Guild")
    qtbot.addWidget(dialog)
    assert "Let me in" in dialog.request_list.item(0).text()

    spaces.requests = []
    dialog.approve_button.click()

    qtbot.waitUntil(lambda: dialog.empty_label.isVisibleTo(dialog))
    assert ("approve", GUILD, BEN) in spaces.calls


def test_requests_refuse_asks_first(qtbot, qasync_loop, spaces, monkeypatch):
    from app.spaces import JoinRequest

    spaces.requests = [JoinRequest(GUILD, BEN, "Ben", None, "Let me in", 1)]
    dialog = JoinRequestsDialog(spaces, GUILD, "Data Guild")
    qtbot.addWidget(dialog)
    questions = []
    answers = iter([None, "Not a member of the team"])

    def ask(parent, title, question, button):
        questions.append(question)
        return next(answers)

    monkeypatch.setattr("ui.space_members.ask_reason", ask)

    dialog.refuse_button.click()

    assert "Ben" in questions[0]
    assert "Data Guild" in questions[0]
    assert not any(call[0] == "refuse" for call in spaces.calls)
    spaces.requests = []
    dialog.refuse_button.click()
    qtbot.waitUntil(lambda: dialog.empty_label.isVisibleTo(dialog))
    assert ("refuse", GUILD, BEN, "Not a member of the team") in spaces.calls


# -- Moderator links in the reading pane -------------------------------------


def moderator_links(window) -> str:
    return window.thread_view.document().toPlainText()


@pytest.mark.parametrize(
    ("role", "shown"), [("moderator", True), ("owner", True), ("member", False)]
)
def test_moderator_links_by_role(
    qtbot, qasync_loop, app_session, cache, spaces, role, shown
):
    cache.space(GUILD, "Data Guild")
    cache.board(BOARD, "Discussions", GUILD)
    root = cache.discussion(BOARD, "Read me", sender=ANA)
    cache.reply(BOARD, root, "Mine", sender=ME)
    cache.commit()
    spaces.roles[BOARD] = role
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space(GUILD)
    window.discussion_pane.select_discussion(root)

    text = moderator_links(window)
    assert ("Pin to space home" in text) is shown
    # One Remove post, for Ana's discussion: the user's own reply keeps Delete.
    assert text.count("Remove post") == (1 if shown else 0)


def test_pin_link_pins_and_shows_unpin(qtbot, qasync_loop, app_session, cache, spaces):
    cache.space(GUILD, "Data Guild")
    cache.board(BOARD, "Discussions", GUILD)
    root = cache.discussion(BOARD, "Read me", sender=ANA)
    cache.commit()
    spaces.roles[BOARD] = "moderator"
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space(GUILD)
    window.discussion_pane.select_discussion(root)

    window.thread_view.run_post_action("pin", root)
    qtbot.waitUntil(lambda: ("pin", BOARD, root) in spaces.calls)
    # The pin as the sync or Spaces.pin writes it into the cache.
    cache._batch(BOARD).items.append(PinnedEvents(BOARD, ME, (root,)))
    window.apply_changes(cache.commit())
    qtbot.waitUntil(lambda: "Unpin" in moderator_links(window))
    assert "Pin to space home" not in moderator_links(window)


def test_remove_post_asks_first(
    qtbot, qasync_loop, app_session, cache, spaces, monkeypatch
):
    cache.space(GUILD, "Data Guild")
    cache.board(BOARD, "Discussions", GUILD)
    root = cache.discussion(BOARD, "Read me", sender=ANA)
    cache.commit()
    spaces.roles[BOARD] = "moderator"
    removed = []

    async def remove_post(room_id, event_id, reason=""):
        removed.append((room_id, event_id, reason))

    spaces.remove_post = remove_post
    window = window_with(qtbot, app_session, spaces)
    window.space_pane.select_space(GUILD)
    window.discussion_pane.select_discussion(root)
    answers = iter([None, "Off topic"])
    monkeypatch.setattr("ui.space_controller.ask_reason", lambda *args: next(answers))

    window.thread_view.run_post_action("remove", root)
    qtbot.wait(50)
    assert removed == []

    window.thread_view.run_post_action("remove", root)
    qtbot.waitUntil(lambda: removed == [(BOARD, root, "Off topic")])


def test_leave_asks_for_confirmation(
    qtbot, qasync_loop, app_session, cache, spaces, monkeypatch
):
    cache.space(GUILD, "Data Guild")
    cache.commit()
    left = []

    async def leave(space_id):
        left.append(space_id)

    spaces.leave = leave
    window = window_with(qtbot, app_session, spaces)
    questions = []

    def question(parent, title, text, *args):
        questions.append(text)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", question)
    window.space_controller.leave(GUILD)
    qtbot.wait(50)

    assert left == []
    assert "Leave Data Guild?" in questions[0]
    monkeypatch.setattr(
        QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes
    )
    window.space_controller.leave(GUILD)
    qtbot.waitUntil(lambda: left == [GUILD])


def test_menu_and_sidebar_open_dialogs(qtbot, qasync_loop, app_session, spaces):
    window = window_with(qtbot, app_session, spaces)

    window.browse_spaces_action.trigger()
    assert window.space_controller.browser.isVisible()
    window.create_space_action.trigger()
    assert window.space_controller.create_dialog.isVisible()
    menu_texts = [a.text() for a in window.space_pane.add_button.menu().actions()]
    assert menu_texts == ["Browse spaces…", "Create space…"]


def test_space_actions_off_without_core(qtbot, qasync_loop, app_session):
    window = MainWindow(app_session)
    qtbot.addWidget(window)

    assert not window.browse_spaces_action.isEnabled()
    assert not window.space_pane.add_button.isEnabled()
    assert window.space_home is None
    assert window.reading_pane.currentWidget() is window.thread_view


# -- The real Spaces without a server ----------------------------------------


@pytest.fixture
def unreachable_spaces(qtbot, store, monkeypatch):
    """A real Spaces whose client points at a loopback port with no server."""
    from app.matrix import MatrixClient
    from app.matrix import http as matrix_http
    from app.spaces import Spaces
    from devtools.synapse import free_port

    async def no_sleep(seconds):
        return None

    monkeypatch.setattr(matrix_http, "_sleep", no_sleep)
    client = MatrixClient(f"http://127.0.0.1:{free_port()}", "token")
    yield Spaces(client, store, ME, lambda changes: None)
    task = asyncio.ensure_future(client.aclose())
    qtbot.waitUntil(task.done, timeout=5_000)


def test_browser_offline_with_real_core(qtbot, qasync_loop, unreachable_spaces):
    dialog = SpaceBrowserDialog(unreachable_spaces)
    qtbot.addWidget(dialog)
    dialog.start()

    qtbot.waitUntil(lambda: dialog.message() == OFFLINE, timeout=20_000)
    assert dialog.retry_button.isVisibleTo(dialog)


def test_create_offline_with_real_core(qtbot, qasync_loop, unreachable_spaces):
    dialog = CreateSpaceDialog(unreachable_spaces)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.setText("Data Guild")

    dialog.create_button.click()

    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=20_000)
    assert "offline" in dialog.error_label.text()
    assert dialog.name() == "Data Guild"


def test_member_menu_opens_from_keyboard(qtbot, home_view, monkeypatch):
    from PySide6.QtCore import Qt

    view = home_view(guild_home("owner"))
    members = view.members
    shown = []
    monkeypatch.setattr(
        type(members), "_show_menu", lambda self, position: shown.append(position)
    )
    members.setCurrentRow(members.count() - 1)
    members.setFocus()

    qtbot.keyClick(members, Qt.Key.Key_Menu)
    qtbot.keyClick(members, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)

    assert len(shown) == 2
