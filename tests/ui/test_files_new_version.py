"""Upload new version… is offered only where the new version would count."""

from app.file_transfers import FileTransfers
from app.policy import NO_POLICY
from tests.ui.builders import ME
from ui.files_view import FilesView

SPACE = "!guild:x"
FILES = "!files:x"
ANA = "@ana:example.org"


def test_new_version_offered_for_own_files_only(
    qtbot, qasync_loop, cache, store, app_session
):
    cache.space(SPACE, "Guild")
    cache.board(FILES, "Documents", SPACE, kind="files")
    theirs = cache.file(FILES, "Policy.pdf", 1200, sender=ANA)
    mine = cache.file(FILES, "Notes.pdf", 900, sender=ME)
    app_session.files = FileTransfers(None, store, ME, NO_POLICY, app_session.announce)
    app_session.announce(cache.commit())
    view = FilesView(store)
    view.set_session(app_session)
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.show()
    view.set_room(FILES)
    button = view.preview.new_version_button

    assert view.select_file(theirs)
    assert not button.isVisible()
    assert view.select_file(mine)
    assert button.isVisible()
