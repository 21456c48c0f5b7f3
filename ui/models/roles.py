"""Custom item data roles shared by the models and their delegates."""

from PySide6.QtCore import QModelIndex, Qt

_BASE = Qt.ItemDataRole.UserRole

ID_ROLE = _BASE + 1  # room id or event id of the row
UNREAD_ROLE = _BASE + 2  # int: the server's notification count
HIGHLIGHT_ROLE = _BASE + 3  # int: the server's highlight count
INVITED_ROLE = _BASE + 4  # bool: the user is invited, not joined
AUTHOR_ROLE = _BASE + 5  # str: cleaned display name of the sender
REPLY_COUNT_ROLE = _BASE + 6  # int
LAST_ACTIVITY_ROLE = _BASE + 7  # int: milliseconds since the epoch
KIND_ROLE = _BASE + 8  # str: discussion, question, announcement; or board, files
ENCRYPTED_ROLE = _BASE + 9  # bool
REDACTED_ROLE = _BASE + 10  # bool
ROOM_IDS_ROLE = _BASE + 11  # list[str]: the rooms a board entry covers
SUBTITLE_ROLE = _BASE + 12  # str: a space's topic, cleaned to one line
SEND_STATE_ROLE = _BASE + 13  # str or None: "pending" or "failed" while in the outbox
SEND_ERROR_ROLE = _BASE + 14  # str or None: why the outbox could not send it
ANSWERED_ROLE = _BASE + 15  # bool or None: a question has an accepted answer
PERSON_ROLE = _BASE + 16  # DirectoryEntry or Expert of a people list
ROLE_LINE_ROLE = _BASE + 17  # str: a person's job title and department, cleaned
REASON_ROLE = _BASE + 18  # str or None: why an expert is listed
NEW_ROLE = _BASE + 19  # bool: a discussion whose first post is unread

# The invalid index that stands for "no parent" in a list model's methods.
NO_PARENT = QModelIndex()
