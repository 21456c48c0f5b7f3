"""Editing the user's own profile through the outbox.

ProfileEditor checks what the edit dialog submits, then queues one outbox
item per changed field (app.store.profile_store describes the items), so an
edit made offline is sent once, in order, when the server is reachable, and
survives a restart. A new picture waits in a file in the cache folder until
it is uploaded. own_profile shows the cached profile with the unsent changes
applied. The outbox worker sends the items with send_profile_item.

Text is stored and sent as typed: only leading and trailing whitespace and
control characters are removed, and HTML is never interpreted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app import compose, paths
from app import namespace as ns
from app import text as app_text
from app.errors import CommonplaceError
from app.matrix.errors import RequestFailed
from app.records import Changes
from app.store import profile_store
from app.store.outbox_store import AVATAR, PROFILE, ClaimedItem, NewItem
from app.store.profile_store import AVATAR_URL_KEY, DISPLAY_NAME_KEY, LIST_KEYS
from app.sync.translate import (
    MAX_PROFILE_LIST,
    MAX_PROFILE_LIST_ITEM,
    MAX_PROFILE_TEXT,
)

if TYPE_CHECKING:
    import sqlite3

    from app.outbox import Outbox
    from app.store import Store

log = logging.getLogger(__name__)

# Synapse 1.163 rejects a longer display name (MAX_DISPLAYNAME_LEN in
# synapse/handlers/profile.py, counted in code points before it strips it).
MAX_DISPLAY_NAME_LENGTH = 256
# Synapse 1.163 rejects a change that makes the profile larger than this with
# M_PROFILE_TOO_LARGE (MAX_PROFILE_SIZE in synapse/storage/databases/main/
# profile.py); profile_size repeats its measure.
MAX_PROFILE_BYTES = 65_536
# The edit dialog crops and scales the picture, so a larger one is a bug.
MAX_AVATAR_BYTES = 1024 * 1024
# Accepted picture types: file name extension and the signature the data
# must start with.
AVATAR_TYPES = {
    "image/png": ("png", b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": ("jpg", b"\xff\xd8\xff"),
}
# Seconds a picture file without an outbox item is kept before it is deleted,
# so that a file another process has written but not yet queued survives.
ORPHAN_FILE_SECONDS = 3600

# Label of each profile key in the outbox views and messages.
FIELD_LABELS = {
    DISPLAY_NAME_KEY: "Name",
    ns.PROFILE_TITLE: "Job title",
    ns.PROFILE_DEPARTMENT: "Department",
    ns.PROFILE_LOCATION: "Location",
    ns.PROFILE_PRONOUNS: "Pronouns",
    ns.PROFILE_SKILLS: "Skills",
    ns.PROFILE_ASK_ME_ABOUT: "Ask me about",
    ns.PROFILE_BIO: "About",
    AVATAR_URL_KEY: "Profile picture",
}
# ProfileFields attribute of each key, in the order the dialog shows them.
FIELD_KEYS = {
    "display_name": DISPLAY_NAME_KEY,
    **ns.PROFILE_TEXT_FIELDS,
    **ns.PROFILE_LIST_FIELDS,
}


@dataclass(frozen=True, slots=True)
class ProfileFields:
    """The editable part of a profile, as the edit dialog shows and submits it.

    An empty string or tuple is an unset field.
    """

    display_name: str
    title: str
    department: str
    location: str
    pronouns: str
    skills: tuple[str, ...]
    ask_me_about: tuple[str, ...]
    bio: str


class ProfileRejected(CommonplaceError):
    """Rejection of a profile before queueing: message names what to fix.

    field is the ProfileFields attribute at fault, or None for the whole
    profile or the picture.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class AvatarFileMissing(CommonplaceError):
    """The file of a queued picture is gone, so the picture cannot be sent."""


# -- Reading ------------------------------------------------------------------


def own_profile(
    conn: sqlite3.Connection, user_id: str
) -> tuple[ProfileFields, str | None, bool]:
    """Return the cached profile with the unsent changes applied.

    The result is (fields, avatar, has_pending). avatar is the mxc:// URI of
    the picture, or the path of a picture file still waiting to be sent
    (is_local_avatar distinguishes the two), or None. has_pending is true while
    any change is queued, sending or failed.
    """
    values = profile_store.cached_values(conn, user_id)
    pending = profile_store.pending_items(conn, user_id)
    avatar = values[AVATAR_URL_KEY]
    for item in pending:
        if item.action == AVATAR:
            picture = item.content.get("file")
            avatar = str(avatar_folder(conn) / picture) if picture else None
        else:
            values[item.key] = item.content.get(item.key)
    fields = {}
    for name, key in FIELD_KEYS.items():
        value = values.get(key)
        if key in LIST_KEYS:
            fields[name] = tuple(value or ())
        else:
            fields[name] = value or ""
    if not fields["display_name"]:
        # Synapse sets the localpart as the name of a new account.
        fields["display_name"] = user_id[1:].split(":", 1)[0]
    return ProfileFields(**fields), avatar, bool(pending)


def is_local_avatar(avatar: str | None) -> bool:
    """Return whether own_profile's avatar is a file waiting to be sent."""
    return bool(avatar) and not avatar.startswith("mxc://")


def avatar_folder(conn: sqlite3.Connection) -> Path:
    """Return the folder of the cache's waiting picture files.

    Each cache file has its own folder under the cache folder, named by a
    hash of its path, so that one account never deletes another's files.
    """
    database = conn.execute("PRAGMA database_list").fetchone()[2]
    digest = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:16]
    return paths.cache_dir() / "outbox" / digest


# -- Checking -----------------------------------------------------------------


def clean_text(value: str) -> str:
    """Remove control characters other than line breaks and tabs, then strip the ends.

    Everything else stays as typed, HTML and invisible characters included.
    """
    value = _INNER_CONTROL.sub("", value)
    start, end = 0, len(value)
    while start < end and _strippable(value[start]):
        start += 1
    while end > start and _strippable(value[end - 1]):
        end -= 1
    return value[start:end]


# C0 and C1 control characters except tab and line feed; escape sequences
# and bells mean nothing in a profile.
_INNER_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _strippable(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) == "Cc"


def _checked_text(name: str, value: str, limit: int) -> str:
    text = clean_text(value)
    if len(text) > limit:
        label = FIELD_LABELS[FIELD_KEYS[name]]
        raise ProfileRejected(
            f"{label} is {len(text):,} characters long. Shorten it to at most "
            f"{limit:,} characters.",
            name,
        )
    return text


def _checked_list(name: str, values: tuple[str, ...]) -> tuple[str, ...]:
    label = FIELD_LABELS[FIELD_KEYS[name]]
    items = []
    for value in values:
        text = clean_text(value)
        if not text or text in items:
            continue
        if len(text) > MAX_PROFILE_LIST_ITEM:
            raise ProfileRejected(
                f"The entry “{text[:40]}…” in {label} is {len(text):,} characters "
                f"long. Shorten it to at most {MAX_PROFILE_LIST_ITEM} characters.",
                name,
            )
        items.append(text)
    if len(items) > MAX_PROFILE_LIST:
        raise ProfileRejected(
            f"{label} has {len(items)} entries. Remove some to keep at most "
            f"{MAX_PROFILE_LIST}.",
            name,
        )
    return tuple(items)


def checked_fields(fields: ProfileFields) -> ProfileFields:
    """Return fields cleaned as they will be sent; raise ProfileRejected.

    The limits are those of the reader (app.sync.translate), so that every
    value sent reads back unchanged. Empty and repeated list entries are
    dropped.
    """
    display_name = clean_text(fields.display_name)
    # A name of invisible characters only would show as an empty line.
    if not app_text.clean_name(display_name):
        raise ProfileRejected("Enter a name: your profile needs one.", "display_name")
    if len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise ProfileRejected(
            f"The name is {len(display_name):,} characters long. Shorten it to at "
            f"most {MAX_DISPLAY_NAME_LENGTH} characters.",
            "display_name",
        )
    return ProfileFields(
        display_name=display_name,
        title=_checked_text("title", fields.title, MAX_PROFILE_TEXT),
        department=_checked_text("department", fields.department, MAX_PROFILE_TEXT),
        location=_checked_text("location", fields.location, MAX_PROFILE_TEXT),
        pronouns=_checked_text("pronouns", fields.pronouns, MAX_PROFILE_TEXT),
        skills=_checked_list("skills", tuple(fields.skills)),
        ask_me_about=_checked_list("ask_me_about", tuple(fields.ask_me_about)),
        bio=_checked_text("bio", fields.bio, MAX_PROFILE_TEXT),
    )


def _server_json(value) -> bytes:
    # PostgreSQL prints jsonb with ", " and ": " and non-ASCII as UTF-8, like
    # json.dumps with these options.
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _canonical_json(value) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


def profile_size(profile: dict, key: str) -> int:
    """Return the size in bytes Synapse 1.163 checks when key is set to profile[key].

    profile maps keys to values, without unset fields. This repeats
    _check_profile_size in synapse/storage/databases/main/profile.py as it runs
    on PostgreSQL, which counts bytes and prints the stored fields with
    spaces. On SQLite it counts characters of compact JSON, never more.
    """
    others = {
        name: value
        for name, value in profile.items()
        if name not in (DISPLAY_NAME_KEY, AVATAR_URL_KEY, key)
    }
    # Synapse discounts the braces of the stored fields and adds one for a
    # comma; 6 is the quotes, colon and comma around a name and its value.
    total = len(_server_json(others)) - 1
    for name in (DISPLAY_NAME_KEY, AVATAR_URL_KEY):
        if name != key and profile.get(name):
            total += len(profile[name].encode("utf-8")) + len(name) + 6
    return total + len(_canonical_json({key: profile[key]}))


def _as_profile(fields: ProfileFields, avatar_url: str | None) -> dict:
    profile = {}
    for name, key in FIELD_KEYS.items():
        value = getattr(fields, name)
        if value:
            profile[key] = list(value) if key in LIST_KEYS else value
    if avatar_url:
        profile[AVATAR_URL_KEY] = avatar_url
    return profile


def _check_size(profile: dict, key: str) -> None:
    # NOTE: fields that other clients set under other keys are not cached, so
    # they are not counted. The server's M_PROFILE_TOO_LARGE catches those.
    size = profile_size(profile, key)
    if size <= MAX_PROFILE_BYTES:
        return
    largest = max(
        (name for name in profile if name != AVATAR_URL_KEY),
        key=lambda name: len(_canonical_json(profile[name])),
    )
    field = next(name for name, value in FIELD_KEYS.items() if value == largest)
    raise ProfileRejected(
        f"Your profile would take {size:,} bytes on the server, more than its "
        f"limit of {MAX_PROFILE_BYTES:,} bytes. Shorten it, starting with "
        f"{FIELD_LABELS[largest]}, the largest part.",
        field,
    )


# -- Queueing -----------------------------------------------------------------


class ProfileEditor:
    """Queues changes of user_id's own profile in outbox.

    The methods write to the cache and return without waiting for the
    network. The outbox's on_changes receives the returned Changes, and its
    on_queued wakes the worker.
    NOTE: they wait for the cache's writer thread, so a long sync batch that
    is being written delays them.
    """

    def __init__(self, outbox: Outbox, user_id: str):
        self.outbox = outbox
        self.user_id = user_id

    @property
    def _store(self) -> Store:
        return self.outbox.store

    def save(self, fields: ProfileFields) -> Changes:
        """Check fields, then queue one item per field that differs from own_profile().

        Raises ProfileRejected, and queues nothing, when a field or the whole
        profile is over a limit. Items that make the profile smaller are sent
        first, so the profile stays under the server's limit after each one.
        """
        new = checked_fields(fields)
        current, avatar, _pending = own_profile(self._store.reader(), self.user_id)
        if is_local_avatar(avatar):
            # The upload's URI is unknown, so one of the usual length is counted.
            server = self.user_id.split(":", 1)[1]
            avatar = f"mxc://{server}/{'x' * 24}"
        profile = _as_profile(current, avatar)
        changed = [
            key
            for name, key in FIELD_KEYS.items()
            if getattr(new, name) != getattr(current, name)
        ]
        final = _as_profile(new, avatar)

        def growth(key: str) -> int:
            before = len(_canonical_json(profile[key])) if key in profile else 0
            after = len(_canonical_json(final[key])) if key in final else 0
            return after - before

        changed.sort(key=growth)
        items = []
        for key in changed:
            if key in final:
                profile[key] = final[key]
                _check_size(profile, key)
            else:
                profile.pop(key, None)
            items.append(self._profile_item(key, final.get(key)))
        return self._queue(items)

    def set_avatar(self, image: bytes, mimetype: str) -> Changes:
        """Queue a new picture, which the UI has already cropped and scaled.

        Raises ProfileRejected unless image is a PNG or JPEG of at most
        MAX_AVATAR_BYTES. The image waits in a file until it is uploaded.
        """
        if mimetype not in AVATAR_TYPES:
            raise ProfileRejected(
                f"A profile picture must be a PNG or JPEG image, not {mimetype}. "
                "Choose another picture."
            )
        extension, signature = AVATAR_TYPES[mimetype]
        if not image.startswith(signature):
            raise ProfileRejected(
                f"The picture is not a valid {extension.upper()} image. Choose "
                "another picture."
            )
        if len(image) > MAX_AVATAR_BYTES:
            raise ProfileRejected(
                f"The picture takes {len(image):,} bytes, more than the "
                f"{MAX_AVATAR_BYTES:,} allowed. Choose a smaller picture."
            )
        folder = avatar_folder(self._store.reader())
        remove_unused_files(self._store.reader(), folder)
        client_id = compose.new_client_id()
        name = f"{client_id}.{extension}"
        _write_file(folder, name, image)
        content = {"file": name, "mimetype": mimetype, "size": len(image)}
        title = f"New picture ({extension.upper()}, {len(image) / 1024:,.0f} KB)"
        item = self._new_item(AVATAR, AVATAR_URL_KEY, content, title, client_id)
        try:
            return self._queue([item])
        except BaseException:
            (folder / name).unlink(missing_ok=True)
            raise

    def remove_avatar(self) -> Changes:
        """Queue the removal of the picture; nothing is queued without one."""
        item = self._new_item(AVATAR, AVATAR_URL_KEY, {}, "Picture removed")
        return self._queue([item])

    def _profile_item(self, key: str, value) -> NewItem:
        label = FIELD_LABELS[key]
        if value is None:
            return self._new_item(PROFILE, key, {}, f"{label} removed")
        summary = ", ".join(value) if key in LIST_KEYS else value
        lines = summary.splitlines() or [""]
        return self._new_item(PROFILE, key, {key: value}, f"{label}: {lines[0]}")

    def _new_item(
        self,
        action: str,
        key: str,
        content: dict,
        title: str,
        client_id: str | None = None,
    ) -> NewItem:
        return NewItem(
            client_id or compose.new_client_id(),
            compose.new_transaction_id(),
            self.user_id,
            self.user_id,
            action,
            key,
            content,
            target_id=key,
            title=title[:200],
        )

    def _queue(self, items: list[NewItem]) -> Changes:
        if not items:
            return Changes()
        queued = self._store.write_blocking(profile_store.queue_items, items)
        folder = avatar_folder(self._store.reader())
        for name in queued.removed_files:
            (folder / name).unlink(missing_ok=True)
        if queued.item_ids:
            log.info(
                "Queued profile changes %s as items %s",
                [item.event_type for item in items],
                queued.item_ids,
            )
        changes = queued.changes
        if changes:
            self.outbox.on_changes(changes)
        if queued.item_ids:
            self.outbox.on_queued()
        return changes


# -- Picture files ------------------------------------------------------------


def _write_file(folder: Path, name: str, data: bytes) -> None:
    """Write data to folder/name atomically, readable by the user only."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = folder / f"{name}.part"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, folder / name)


def remove_unused_files(
    conn: sqlite3.Connection, folder: Path | None = None, now: float | None = None
) -> list[str]:
    """Delete picture files that no unsent avatar item needs; return their names.

    Files younger than ORPHAN_FILE_SECONDS stay, because another process may
    be about to queue them.
    """
    folder = folder or avatar_folder(conn)
    if not folder.is_dir():
        return []
    in_use = profile_store.avatar_files_in_use(conn)
    cutoff = (time.time() if now is None else now) - ORPHAN_FILE_SECONDS
    removed = []
    for path in folder.iterdir():
        name = path.name.removesuffix(".part")
        if name in in_use:
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path.name)
        except FileNotFoundError:
            continue
    if removed:
        log.info("Deleted %d unused profile picture files", len(removed))
    return removed


def delete_sent_file(store: Store, item: ClaimedItem) -> None:
    """Delete the picture file of a sent avatar item."""
    picture = item.content.get("file") if item.action == AVATAR else None
    if picture:
        (avatar_folder(store.reader()) / picture).unlink(missing_ok=True)


# -- Sending ------------------------------------------------------------------


async def send_profile_item(
    client,
    store: Store,
    item: ClaimedItem,
    *,
    max_attempts: int | None = None,
    on_retry=None,
) -> None:
    """Send one profile or avatar item of the user whose id is item.room_id.

    A set field is sent with PUT. A removed custom field is sent with DELETE,
    or set to an empty value on a server without DELETE. Raises the network
    layer's errors, and AvatarFileMissing when a picture's file is gone.
    """
    retry = {"max_attempts": max_attempts, "on_retry": on_retry}
    user_id = item.room_id
    if item.action == AVATAR:
        avatar_url = item.content.get(AVATAR_URL_KEY)
        if item.content.get("file") and not avatar_url:
            avatar_url = await _upload(client, store, item, retry)
        await client.set_profile_field(
            user_id, AVATAR_URL_KEY, avatar_url or "", **retry
        )
        return
    key = item.event_type
    if key in item.content:
        await client.set_profile_field(user_id, key, item.content[key], **retry)
        return
    try:
        await client.delete_profile_field(user_id, key, **retry)
    except RequestFailed as error:
        if error.errcode != "M_UNRECOGNIZED" and error.status != 405:
            raise
        log.info("The server cannot delete profile fields; emptying %s", key)
        empty = [] if key in LIST_KEYS else ""
        await client.set_profile_field(user_id, key, empty, **retry)


async def _upload(client, store: Store, item: ClaimedItem, retry: dict) -> str:
    path = avatar_folder(store.reader()) / item.content["file"]
    try:
        image = path.read_bytes()
    except FileNotFoundError:
        raise AvatarFileMissing(
            "The new profile picture is no longer on this computer, so it "
            "cannot be sent. Discard this change and choose the picture again."
        ) from None
    avatar_url = await client.upload_media(
        image, item.content["mimetype"], path.name, **retry
    )
    await store.write(profile_store.record_upload, item.id, avatar_url)
    log.info("Uploaded the picture of item %d as %s", item.id, avatar_url)
    return avatar_url
