"""Names of Commonplace's custom event types, content keys and profile fields.

Every custom name starts with ``NAMESPACE``, reverse-DNS as the Matrix spec asks
for non-standard identifiers. docs/formats.md describes the content of each.
"""

NAMESPACE = "app.commonplace"

# Content block of a thread root that makes it a discussion, question or
# announcement: {"title": str, "kind": str, "tags": [str]}.
DISCUSSION_KEY = f"{NAMESPACE}.discussion"
DISCUSSION_KINDS = ("discussion", "question", "announcement")

# Content key carrying the id that the sending client gave an item before the
# server assigned an event id, so a resent item can be found on the server.
CLIENT_ID_KEY = f"{NAMESPACE}.client_id"

# State event (state key "") that tells what a child room of a space is for:
# {"kind": "board" | "files"}. A room without it is shown as a board.
ROOM_KIND_EVENT = f"{NAMESPACE}.room"
ROOM_KINDS = ("board", "files")

# Content key of an m.file or m.image event naming the event id of the file
# version it replaces.
SUPERSEDES_KEY = f"{NAMESPACE}.supersedes"

# State event keyed by a question's event id: {"event_id": accepted reply}.
ACCEPTED_ANSWER_EVENT = f"{NAMESPACE}.accepted_answer"

# Extended profile fields, stored with PUT /_matrix/client/v3/profile/{userId}/{key}.
PROFILE_TITLE = f"{NAMESPACE}.title"
PROFILE_DEPARTMENT = f"{NAMESPACE}.department"
PROFILE_LOCATION = f"{NAMESPACE}.location"
PROFILE_PRONOUNS = f"{NAMESPACE}.pronouns"
PROFILE_SKILLS = f"{NAMESPACE}.skills"  # list of strings
PROFILE_ASK_ME_ABOUT = f"{NAMESPACE}.ask_me_about"  # list of strings
PROFILE_BIO = f"{NAMESPACE}.bio"

PROFILE_TEXT_FIELDS = {
    "title": PROFILE_TITLE,
    "department": PROFILE_DEPARTMENT,
    "location": PROFILE_LOCATION,
    "pronouns": PROFILE_PRONOUNS,
    "bio": PROFILE_BIO,
}
PROFILE_LIST_FIELDS = {
    "skills": PROFILE_SKILLS,
    "ask_me_about": PROFILE_ASK_ME_ABOUT,
}

# Reaction key counted as a like; other keys are shown as plain reactions.
LIKE_KEY = "👍"
