"""A file deleted elsewhere leaves the files area at the next sync."""

from app.file_transfers import FileTransfers
from app.policy import NO_POLICY
from tests.ui.builders import ME
from ui.files_view import FilesView

SPACE = "!guild:x"
FILES = "!files:x"
ANA = "@ana:example.org"


def test_file_deleted_by_other_client_leaves_list(
    qtbot, qasync_loop, cache, store, app_session
):
    cache.space(SPACE, "Guild")
    cache.board(FILES, "Documents", SPACE, kind="files")
    kept = cache.file(FILES, "Plan.pdf", 1200, sender=ANA)
    mistake = cache.file(FILES, "Salaries.xlsx", 900, sender=ANA)
    app_session.files = FileTransfers(None, store, ME, NO_POLICY, app_session.announce)
    app_session.announce(cache.commit())
    view = FilesView(store)
    view.set_session(app_session)
    app_session.add_changes_listener(view.apply_changes)
    qtbot.addWidget(view)
    view.set_room(FILES)
    assert view.model.rowCount() == 2

    # The sender deletes the file from another client; the sync brings it.
    cache.redact(FILES, mistake, sender=ANA)
    app_session.announce(cache.commit())

    qtbot.waitUntil(lambda: view.model.rowCount() == 1)
    assert view.select_file(kept)
    assert not view.select_file(mistake)
