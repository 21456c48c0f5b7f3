"""The space screens against a real Synapse: browse and join, knock and approve,
invitations, creating a space, and pinning to the space home.

Each person has a real AppSession with its own cache and a running sync, as
in the app. Rooms made by "another client" come from tests.other_client.
"""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QMenu, QMessageBox

from app import namespace as ns
from app.account import Session
from app.session import AppSession
from tests.other_client import OtherClient
from ui.main_window import MainWindow
from ui.models.roles import ID_ROLE

pytestmark = pytest.mark.synapse

WAIT_MS = 30_000


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


@pytest.fixture
def open_window(qtbot, qasync_loop, synapse, tmp_path):
    """Return a factory of main windows signed in as a user, syncing."""
    sessions = []

    def make(user) -> MainWindow:
        session = Session(
            synapse.base_url, user.user_id, user.device_id, user.access_token
        )
        folder = tmp_path / user.localpart
        folder.mkdir()
        app_session = AppSession(session, store_path=folder / "cache.sqlite3")
        sessions.append(app_session)
        window = MainWindow(app_session)
        qtbot.addWidget(window)
        window.show()
        app_session.start()
        return window

    yield make
    for app_session in sessions:
        task = qasync_loop.create_task(app_session.close())
        qtbot.waitUntil(task.done, timeout=10_000)


@pytest.fixture
def other(synapse, make_user):
    """Return a factory of other clients; each is closed after the test."""
    clients = []

    def make(user) -> OtherClient:
        client = OtherClient(synapse.base_url, user.access_token, user.user_id)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def sidebar_ids(window) -> list[str]:
    model = window.space_pane.model
    return [model.index(row).data(ID_ROLE) for row in range(model.rowCount())]


def membership(window, space_id: str) -> str | None:
    space = window.space_pane.model.space(space_id)
    return space.membership if space is not None else None


def create_listed_space(client: OtherClient, name: str, join_rule: str) -> str:
    """Create a space listed in the directory with join_rule; return its id."""
    return client.create_room(
        name,
        space=True,
        visibility="public",
        initial_state=[
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {"join_rule": join_rule},
            }
        ],
    )


def png_bytes() -> bytes:
    """Return a small PNG picture, as the crop dialog makes one."""
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(QColor("teal"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def find_in_browser(qtbot, window, name: str):
    """Open Browse spaces, search for name and choose its row."""
    browser = window.space_controller.show_browser()
    browser.search_edit.setText(name)
    browser.search_now()
    qtbot.waitUntil(lambda: browser.model.rowCount() == 1, timeout=WAIT_MS)
    browser.list_view.setCurrentIndex(browser.model.index(0))
    return browser


def test_browse_then_join(qtbot, synapse, make_user, open_window, other):
    owner = make_user("owner", displayname="Olga Owner")
    reader = make_user("reader", displayname="Rita Reader")
    name = unique("Open guild")
    space_id = create_listed_space(other(owner), name, "public")
    window = open_window(reader)

    browser = find_in_browser(qtbot, window, name)
    preview = browser.preview
    assert preview.name_label.text() == name
    assert preview.action_button.text() == "Join"
    with qtbot.waitSignal(browser.joined, timeout=WAIT_MS) as joined:
        preview.action_button.click()

    assert joined.args == [space_id]
    assert preview.action_button.text() == "Open space"
    qtbot.waitUntil(lambda: membership(window, space_id) == "join", timeout=WAIT_MS)
    preview.action_button.click()
    assert window.space_pane.selected_space() == space_id
    assert not browser.isVisible()


def test_knock_then_moderator_approves(qtbot, synapse, make_user, open_window, other):
    owner = make_user("mod", displayname="Mo Moderator")
    reader = make_user("knocker", displayname="Kim Knocker")
    name = unique("Ask guild")
    space_id = create_listed_space(other(owner), name, "knock")
    moderator_window = open_window(owner)
    reader_window = open_window(reader)

    browser = find_in_browser(qtbot, reader_window, name)
    preview = browser.preview
    assert preview.action_button.text() == "Ask to join"
    preview.knock_message.setText("I run the data team")
    preview.action_button.click()
    qtbot.waitUntil(
        lambda: preview.action_button.text() == "Requested", timeout=WAIT_MS
    )
    assert preview.error_label.isHidden()

    qtbot.waitUntil(
        lambda: membership(moderator_window, space_id) == "join", timeout=WAIT_MS
    )
    moderator_window.space_pane.select_space(space_id)
    home = moderator_window.space_home
    qtbot.waitUntil(
        lambda: home.requests_button.text() == "Join requests (1)", timeout=WAIT_MS
    )
    dialog = moderator_window.space_controller.show_requests(space_id)
    assert "I run the data team" in dialog.request_list.item(0).text()
    dialog.approve_button.click()
    qtbot.waitUntil(lambda: dialog.empty_label.isVisibleTo(dialog), timeout=WAIT_MS)

    qtbot.waitUntil(
        lambda: membership(reader_window, space_id) == "invite", timeout=WAIT_MS
    )
    reader_window.space_pane.select_space(space_id)
    reader_window.discussion_pane.accept_button.click()
    qtbot.waitUntil(
        lambda: membership(reader_window, space_id) == "join", timeout=WAIT_MS
    )
    assert reader_window.space_pane.selected_space() == space_id


def test_accept_invitation_selects_space(qtbot, synapse, make_user, open_window, other):
    owner = make_user("inviter", displayname="Ines Inviter")
    reader = make_user("invitee", displayname="Ivo Invitee")
    name = unique("Invited guild")
    space_id, board_id = other(owner).create_space_with_board(
        name, invite=[reader.user_id]
    )
    window = open_window(reader)
    qtbot.waitUntil(lambda: membership(window, space_id) == "invite", timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    pane = window.discussion_pane
    assert pane.accept_button.isVisibleTo(window)
    assert pane.message().startswith("Ines Inviter invited you to this space.")
    row = window.space_pane.model.row_of(space_id)
    tooltip = window.space_pane.model.index(row).data(Qt.ItemDataRole.ToolTipRole)
    assert "Ines Inviter invited you to this space." in tooltip

    pane.accept_button.click()

    qtbot.waitUntil(lambda: membership(window, space_id) == "join", timeout=WAIT_MS)
    assert window.space_pane.selected_space() == space_id
    qtbot.waitUntil(lambda: pane.boards.row_of(board_id) is not None, timeout=WAIT_MS)


def test_create_space_selects_it(qtbot, synapse, make_user, open_window):
    user = make_user("creator", displayname="Cleo Creator")
    window = open_window(user)
    name = unique("New guild")
    dialog = window.space_controller.show_create()
    dialog.name_edit.setText(f"  {name}  ")
    dialog.topic_edit.setPlainText("Where the new guild talks")
    dialog.visibility_buttons["knock"].setChecked(True)
    dialog.set_picture(png_bytes(), "image/png")

    with qtbot.waitSignal(dialog.created, timeout=WAIT_MS) as created:
        dialog.create_button.click()
        assert dialog.is_busy()

    space_id = created.args[0]
    qtbot.waitUntil(
        lambda: window.space_pane.selected_space() == space_id, timeout=WAIT_MS
    )
    assert window.discussion_pane.title_label.text() == name
    boards = window.discussion_pane.boards
    qtbot.waitUntil(lambda: boards.rowCount() >= 2, timeout=WAIT_MS)
    kinds = {boards.entry(row).kind for row in range(boards.rowCount())}
    assert kinds == {"board", "files"}
    home = window.space_home
    qtbot.waitUntil(
        lambda: window.reading_pane.currentWidget() is home, timeout=WAIT_MS
    )
    assert "You are an owner" in home.details_label.text()
    assert home.home.avatar_url.startswith("mxc://")
    assert len(home.link_texts("rooms")) == 2


def test_pin_appears_on_space_home(qtbot, synapse, make_user, open_window, other):
    owner = make_user("pinner", displayname="Pia Pinner")
    author = make_user("poster", displayname="Paul Poster")
    space_id, board_id = other(owner).create_space_with_board(
        unique("Pin guild"), invite=[author.user_id]
    )
    poster = other(author)
    poster.join(space_id)
    poster.join(board_id)
    root = poster.discussion(board_id, "Read this first", "The house rules.")
    window = open_window(owner)
    pane = window.discussion_pane
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    qtbot.waitUntil(lambda: pane.select_discussion(root), timeout=WAIT_MS)
    text = window.thread_view.document().toPlainText
    qtbot.waitUntil(lambda: "Pin to space home" in text(), timeout=WAIT_MS)
    assert "Remove post" in text()

    window.thread_view.run_post_action("pin", root)

    qtbot.waitUntil(lambda: "Unpin" in text(), timeout=WAIT_MS)
    assert window.show_space_home()
    home = window.space_home
    qtbot.waitUntil(
        lambda: any("Read this first" in t for t in home.link_texts("pins")),
        timeout=WAIT_MS,
    )
    home.click_link("pins", 0)
    assert window.thread_view.current_discussion() == root
    assert window.reading_pane.currentWidget() is window.thread_view


def test_moderator_pins_a_file(qtbot, synapse, make_user, open_window, other):
    owner = make_user("filepinner", displayname="Fay Pinner")
    client = other(owner)
    space_id, _board_id = client.create_space_with_board(unique("File guild"))
    server = owner.user_id.split(":", 1)[1]
    files_id = client.create_room("Shared files")
    client.state(files_id, ns.ROOM_KIND_EVENT, {"kind": "files"})
    client.state(space_id, "m.space.child", {"via": [server]}, state_key=files_id)
    shared = client.send(
        files_id,
        {
            "msgtype": "m.file",
            "body": "House rules.pdf",
            "url": f"mxc://{server}/rules",
            "info": {"mimetype": "application/pdf", "size": 1200},
        },
    )
    window = open_window(owner)
    pane = window.discussion_pane
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    qtbot.waitUntil(lambda: pane.choose_board(files_id), timeout=WAIT_MS)
    files = pane.files_view
    qtbot.waitUntil(lambda: files.select_file(shared), timeout=WAIT_MS)

    menu = QMenu()
    files._add_pin_action(menu, shared)
    pin = [action for action in menu.actions() if action.text()][-1]
    assert pin.text() == "Pin to space home"
    pin.trigger()

    assert window.show_space_home()
    home = window.space_home
    qtbot.waitUntil(
        lambda: any("House rules.pdf" in t for t in home.link_texts("pins")),
        timeout=WAIT_MS,
    )
    menu = QMenu()
    files._add_pin_action(menu, shared)
    assert menu.actions()[-1].text() == "Unpin from space home"
    home.click_link("pins", 0)
    assert pane.showing_files()
    assert files.table.currentIndex().data(ID_ROLE) == shared


def _menu_texts(files, event_id: str) -> list[str]:
    menu = QMenu()
    files._add_remove_action(menu, event_id)
    return [action.text() for action in menu.actions() if action.text()]


def test_moderator_removes_a_file(
    qtbot, synapse, make_user, open_window, other, monkeypatch
):
    owner = make_user("fileremover", displayname="Flo Remover")
    member = make_user("fileposter", displayname="Pat Poster")
    owner_client = other(owner)
    space_id, _board_id = owner_client.create_space_with_board(
        unique("File guild"), invite=[member.user_id]
    )
    server = owner.user_id.split(":", 1)[1]
    files_id = owner_client.create_room("Shared files", invite=[member.user_id])
    owner_client.state(files_id, ns.ROOM_KIND_EVENT, {"kind": "files"})
    owner_client.state(space_id, "m.space.child", {"via": [server]}, state_key=files_id)
    member_client = other(member)
    member_client.join(space_id)
    member_client.join(files_id)
    content = {
        "msgtype": "m.file",
        "body": "Cheap watches.pdf",
        "url": f"mxc://{server}/spam1",
        "info": {"mimetype": "application/pdf", "size": 1200},
    }
    first = member_client.send(files_id, content)
    second = member_client.send(
        files_id,
        {**content, "url": f"mxc://{server}/spam2", ns.SUPERSEDES_KEY: first},
    )
    own = owner_client.send(
        files_id, {**content, "body": "Rules.pdf", "url": f"mxc://{server}/rules"}
    )
    window = open_window(owner)
    pane = window.discussion_pane
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    qtbot.waitUntil(lambda: pane.choose_board(files_id), timeout=WAIT_MS)
    files = pane.files_view
    qtbot.waitUntil(lambda: files.select_file(second), timeout=WAIT_MS)
    assert _menu_texts(files, second) == ["Remove file…"]
    assert _menu_texts(files, own) == ["Delete file…"]
    questions = []

    def ask(parent, title, question, button):
        questions.append(question)
        return "Spam"

    monkeypatch.setattr("ui.space_controller.ask_reason", ask)

    menu = QMenu()
    files._add_remove_action(menu, second)
    menu.actions()[-1].trigger()

    assert questions[0].startswith("Remove “Cheap watches.pdf” and its earlier version?")
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "File removed.",
        timeout=WAIT_MS,
    )
    assert files.model.row_of(second) is None
    assert files.model.row_of(first) is None
    assert files.model.row_of(own) is not None
    monkeypatch.setattr(
        QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes
    )

    menu = QMenu()
    files._add_remove_action(menu, own)
    menu.actions()[-1].trigger()

    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "File deleted.",
        timeout=WAIT_MS,
    )
    assert files.model.row_of(own) is None


def test_member_sees_no_remove_file(qtbot, synapse, make_user, open_window, other):
    owner = make_user("fileowner", displayname="Ola Owner")
    member = make_user("filereader", displayname="Rae Reader")
    owner_client = other(owner)
    space_id, _board_id = owner_client.create_space_with_board(
        unique("File guild"), invite=[member.user_id]
    )
    server = owner.user_id.split(":", 1)[1]
    files_id = owner_client.create_room("Shared files", invite=[member.user_id])
    owner_client.state(files_id, ns.ROOM_KIND_EVENT, {"kind": "files"})
    owner_client.state(space_id, "m.space.child", {"via": [server]}, state_key=files_id)
    shared = owner_client.send(
        files_id,
        {
            "msgtype": "m.file",
            "body": "Rules.pdf",
            "url": f"mxc://{server}/rules",
            "info": {"mimetype": "application/pdf", "size": 1200},
        },
    )
    member_client = other(member)
    member_client.join(space_id)
    member_client.join(files_id)
    window = open_window(member)
    pane = window.discussion_pane
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    qtbot.waitUntil(lambda: pane.choose_board(files_id), timeout=WAIT_MS)
    files = pane.files_view
    qtbot.waitUntil(lambda: files.select_file(shared), timeout=WAIT_MS)

    assert _menu_texts(files, shared) == []


@pytest.fixture
def member_space(make_user, other):
    """A space with a board, made by an owner, that a member has joined."""
    owner = make_user("owner", displayname="Olga Owner")
    member = make_user("member", displayname="Mel Member")
    space_id, board_id = other(owner).create_space_with_board(
        unique("Team guild"), invite=[member.user_id]
    )
    client = other(member)
    client.join(space_id)
    client.join(board_id)
    return owner, member, space_id, board_id


def test_member_joins_board_added_later(qtbot, open_window, member_space, other):
    owner, member, space_id, _board_id = member_space
    window = open_window(member)
    qtbot.waitUntil(lambda: membership(window, space_id) == "join", timeout=WAIT_MS)
    pane = window.discussion_pane
    window.space_pane.select_space(space_id)
    home = window.space_home
    qtbot.waitUntil(lambda: home.isVisible(), timeout=WAIT_MS)
    # Linked while the home is shown, so the home must read the rooms again.
    owner_client = other(owner)
    server = owner.user_id.split(":", 1)[1]
    later = owner_client.create_room("Later board")
    owner_client.state(later, ns.ROOM_KIND_EVENT, {"kind": "board"})
    owner_client.state(space_id, "m.space.child", {"via": [server]}, state_key=later)
    missing = f"!doesnotexist{uuid.uuid4().hex[:6]}:{server}"
    owner_client.state(space_id, "m.space.child", {"via": [server]}, state_key=missing)
    qtbot.waitUntil(
        lambda: any("Later board" in text for text in home.room_texts()),
        timeout=WAIT_MS,
    )
    assert "Later board · discussion board · not joined [Join]" in home.room_texts()
    assert not any("Unnamed" in text for text in home.room_texts())
    assert not pane.choose_board(later)

    home.click_join("Later board")

    qtbot.waitUntil(lambda: pane.choose_board(later), timeout=WAIT_MS)
    assert pane.board_for_new_discussion() == later
    assert window.statusBar().currentMessage() == "Joined Later board."


def test_leave_from_space_home(qtbot, open_window, member_space, monkeypatch):
    _owner, member, space_id, _board_id = member_space
    window = open_window(member)
    qtbot.waitUntil(lambda: membership(window, space_id) == "join", timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    home = window.space_home
    qtbot.waitUntil(lambda: window.reading_pane.currentWidget() is home)
    assert home.invite_button.isHidden()
    monkeypatch.setattr(
        QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes
    )

    home.leave_button.click()

    qtbot.waitUntil(lambda: space_id not in sidebar_ids(window), timeout=WAIT_MS)
    assert window.space_pane.selected_space() != space_id


def test_owner_makes_member_moderator(qtbot, open_window, member_space):
    owner, member, space_id, _board_id = member_space
    window = open_window(owner)
    home = window.space_home
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    qtbot.waitUntil(lambda: member.user_id in home.members.user_ids(), timeout=WAIT_MS)
    assert home.members.headings() == ["Owners (1)", "Members (1)"]
    menu = home.members.member_menu(member.user_id)
    action = next(a for a in menu.actions() if a.text() == "Make moderator")

    action.trigger()

    qtbot.waitUntil(
        lambda: home.members.headings() == ["Owners (1)", "Moderators (1)"],
        timeout=WAIT_MS,
    )
    menu = home.members.member_menu(member.user_id)
    assert "Remove moderator" in [a.text() for a in menu.actions()]


def test_moderator_removes_post(qtbot, open_window, member_space, other, monkeypatch):
    owner, member, space_id, board_id = member_space
    root = other(member).discussion(board_id, "Buy cheap watches", "Spam.")
    window = open_window(owner)
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    window.space_pane.select_space(space_id)
    pane = window.discussion_pane
    qtbot.waitUntil(lambda: pane.select_discussion(root), timeout=WAIT_MS)
    text = window.thread_view.document().toPlainText
    qtbot.waitUntil(lambda: "Remove post" in text(), timeout=WAIT_MS)
    monkeypatch.setattr("ui.space_controller.ask_reason", lambda *args: "Spam")

    window.thread_view.run_post_action("remove", root)

    qtbot.waitUntil(lambda: "This discussion was deleted." in text(), timeout=WAIT_MS)
    assert "Remove post" not in text()
    assert not window.thread_view.reply_box.isVisible()


def test_moderator_invites_by_user_id(qtbot, open_window, member_space, make_user):
    owner, _member, space_id, _board_id = member_space
    guest = make_user("guest", displayname="Gus Guest")
    window = open_window(owner)
    guest_window = open_window(guest)
    qtbot.waitUntil(lambda: space_id in sidebar_ids(window), timeout=WAIT_MS)
    dialog = window.space_controller.show_invite(space_id)
    dialog.user_edit.setText("not a user id")
    dialog.invite_button.click()
    assert "is not a user id" in dialog.status_label.text()

    dialog.user_edit.setText(guest.user_id)
    with qtbot.waitSignal(dialog.invited, timeout=WAIT_MS):
        dialog.invite_button.click()

    assert dialog.status_label.text() == f"Invited {guest.user_id}."
    qtbot.waitUntil(
        lambda: membership(guest_window, space_id) == "invite", timeout=WAIT_MS
    )


def test_moderator_refuses_request(qtbot, make_user, open_window, other, monkeypatch):
    owner = make_user("mod", displayname="Mo Moderator")
    knocker = make_user("knocker", displayname="Kim Knocker")
    name = unique("Closed guild")
    space_id = create_listed_space(other(owner), name, "knock")
    other(knocker).call(
        "POST", f"/knock/{space_id}", json={"reason": "Please let me in"}
    )
    window = open_window(owner)
    qtbot.waitUntil(lambda: membership(window, space_id) == "join", timeout=WAIT_MS)
    spaces = window.space_controller.spaces
    qtbot.waitUntil(lambda: len(spaces.join_requests(space_id)) == 1, timeout=WAIT_MS)
    dialog = window.space_controller.show_requests(space_id)
    assert "Kim Knocker" in dialog.request_list.item(0).text()
    monkeypatch.setattr("ui.space_members.ask_reason", lambda *args: "Full")

    dialog.refuse_button.click()

    qtbot.waitUntil(lambda: dialog.empty_label.isVisibleTo(dialog), timeout=WAIT_MS)
    assert dialog.status_label.isHidden()
    assert spaces.join_requests(space_id) == []
