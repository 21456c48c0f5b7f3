"""Every item model passes QAbstractItemModelTester, also while it changes."""

import asyncio

from PySide6.QtCore import Qt

from tests.ui.builders import BASE_TS
from ui.models.boards import ALL_BOARDS_ID, BoardListModel
from ui.models.discussions import PAGE_SIZE, DiscussionListModel
from ui.models.files import FileListModel
from ui.models.roles import ID_ROLE, INVITED_ROLE, SEND_STATE_ROLE, UNREAD_ROLE
from ui.models.spaces import SpaceListModel


def _space_with_boards(cache):
    cache.space("!space:x", "Learning")
    cache.board("!general:x", "General", "!space:x")
    cache.board("!help:x", "Help desk", "!space:x")
    cache.board("!files:x", "Documents", "!space:x", kind="files")


def test_space_list_model_passes_tester(qtmodeltester, cache, store):
    cache.space("!a:x", "Alpha", unread=2)
    cache.space("!b:x", "Beta", membership="invite")
    cache.commit()
    model = SpaceListModel(store)
    qtmodeltester.check(model)

    cache.space("!c:x", "Gamma")
    cache.commit()
    model.reload()
    qtmodeltester.check(model)
    assert [model.index(row).data() for row in range(3)] == ["Alpha", "Gamma", "Beta"]
    assert model.index(0).data(UNREAD_ROLE) == 2
    assert model.index(2).data(INVITED_ROLE) is True


def test_discussion_model_passes_tester_while_paging(qtmodeltester, cache, store):
    _space_with_boards(cache)
    for number in range(PAGE_SIZE + 20):
        cache.discussion("!general:x", f"Topic {number}", ts=BASE_TS + number)
    cache.commit()
    model = DiscussionListModel(store)
    model.set_rooms(["!general:x"])

    assert model.rowCount() == PAGE_SIZE
    assert model.index(0).data() == f"Topic {PAGE_SIZE + 19}"
    assert model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == PAGE_SIZE + 20
    assert not model.canFetchMore()
    assert model.index(PAGE_SIZE + 19).data() == "Topic 0"

    # The tester itself calls fetchMore, so it is attached after the checks.
    qtmodeltester.check(model)
    model.set_rooms(["!general:x", "!help:x"])
    qtmodeltester.check(model)


def test_discussion_model_moves_rows_on_new_reply(qtmodeltester, cache, store):
    _space_with_boards(cache)
    ids = [cache.discussion("!general:x", f"Topic {n}") for n in range(5)]
    cache.commit()
    model = DiscussionListModel(store)
    model.set_rooms(["!general:x", "!help:x"])
    qtmodeltester.check(model)
    from PySide6.QtCore import QPersistentModelIndex

    oldest = QPersistentModelIndex(model.index(4))
    assert oldest.data(ID_ROLE) == ids[0]

    cache.reply("!general:x", ids[0], "Bumps the oldest topic")
    new_id = cache.discussion("!help:x", "A brand new question")
    changes = cache.commit()
    model.apply_changes(changes)
    qtmodeltester.check(model)

    order = [model.index(row).data(ID_ROLE) for row in range(model.rowCount())]
    assert order[0] == new_id
    assert order[1] == ids[0]
    assert oldest.row() == 1
    assert model.rowCount() == 6


def test_board_model_lists_all_boards_first(qtmodeltester, cache, store):
    _space_with_boards(cache)
    cache.board("!locked:x", "Locked", "!space:x", encrypted=True)
    cache.commit()
    model = BoardListModel(store)
    qtmodeltester.check(model)
    model.set_space("!space:x")
    qtmodeltester.check(model)

    labels = [model.index(row).data() for row in range(model.rowCount())]
    assert labels[0] == "All boards"
    assert model.index(0).data(ID_ROLE) == ALL_BOARDS_ID
    assert "Files: Documents" in labels
    all_boards = model.entry(0)
    assert "!locked:x" not in all_boards.room_ids
    assert set(all_boards.room_ids) == {"!general:x", "!help:x"}


def test_file_model_passes_tester(qtmodeltester, cache, store):
    _space_with_boards(cache)
    cache.file("!files:x", "Onboarding checklist.pdf", 48213, sender="@ana:example.org")
    cache.commit()
    model = FileListModel(store)
    qtmodeltester.check(model)
    model.set_room("!files:x")
    qtmodeltester.check(model)

    assert model.rowCount() == 1
    assert model.index(0, 0).data() == "Onboarding checklist.pdf"
    assert model.index(0, 1).data() == "47.1 KB"
    assert model.headerData(2, Qt.Orientation.Horizontal) == "Shared by"


def test_board_model_labels_without_space_name(qtmodeltester, cache, store):
    cache.space("!g:x", "Data Guild")
    cache.board("!talk:x", "Data Guild discussions", "!g:x")
    cache.board("!help:x", "Data Guild: help desk", "!g:x")
    cache.board("!guild:x", "Data Guild", "!g:x")
    cache.board("!other:x", "Data Guilders", "!g:x")
    cache.board("!files:x", "data guild shared docs", "!g:x", kind="files")
    cache.commit()
    model = BoardListModel(store)
    model.set_space("!g:x")
    qtmodeltester.check(model)

    labels = {model.entry(row).entry_id: model.entry(row).label for row in range(6)}
    assert labels["!talk:x"] == "Discussions"
    assert labels["!help:x"] == "Help desk"
    assert labels["!guild:x"] == "Data Guild"
    assert labels["!other:x"] == "Data Guilders"
    assert labels["!files:x"] == "Files: Shared docs"
    row = model.row_of("!talk:x")
    assert model.index(row).data(Qt.ItemDataRole.ToolTipRole) == (
        "Data Guild discussions"
    )


def test_file_model_short_date_full_tooltip(cache, store):
    from ui.text_format import clock_time, full_time

    _space_with_boards(cache)
    cache.file("!files:x", "Plan.pdf", 1000, sender="@ana:example.org")
    cache.commit()
    model = FileListModel(store)
    model.set_room("!files:x")

    date = model.index(0, 3)
    assert date.data() == clock_time(BASE_TS / 1000)
    assert date.data(Qt.ItemDataRole.ToolTipRole) == full_time(BASE_TS)


def test_file_model_out_of_range_date(qtmodeltester, cache, store):
    _space_with_boards(cache)
    cache.file("!files:x", "Plan.pdf", 1000, sender="@ana:example.org", ts=10**15)
    cache.commit()
    model = FileListModel(store)
    model.set_room("!files:x")
    qtmodeltester.check(model)

    date = model.index(0, 3)
    assert date.data() == "unknown date"
    assert date.data(Qt.ItemDataRole.ToolTipRole) == "unknown date"


def test_discussion_model_tester_with_pending_rows(
    qtmodeltester, qtbot, qasync_loop, cache, store, app_session
):
    _space_with_boards(cache)
    cache.member("!general:x", "@me:example.org", "Me")
    cache.discussion("!general:x", "Stored topic")
    cache.commit()
    model = DiscussionListModel(store)
    model.set_rooms(["!general:x"])
    qtmodeltester.check(model)
    app_session.add_changes_listener(model.apply_changes)

    task = asyncio.ensure_future(
        app_session.outbox.queue_discussion("!general:x", "Pending topic", "Text")
    )
    qtbot.waitUntil(task.done, timeout=3000)
    assert model.rowCount() == 2
    assert model.index(0).data() == "Pending topic"
    assert model.index(0).data(SEND_STATE_ROLE) == "pending"
    assert model.index(1).data(SEND_STATE_ROLE) is None
