"""Builders of the event content that Commonplace sends, and the checks before.

Pure functions: no I/O, no clock. The formats are described in
docs/formats.md. Every builder takes the item's client id, which the outbox
generates once, so that the event can be found on the server again.

    ContentRejected         the text cannot be sent as it is; message explains why
    ├── EmptyPost           nothing to send (no title, or blank text)
    ├── InvalidPost         a field is out of range (title too long, bad tag)
    └── PostTooLarge        over the server's event size limit
"""

import html
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from app import namespace as ns
from app.errors import CommonplaceError
from app.render import markdown_to_html

# Synapse 1.163 rejects an event whose canonical JSON, with the fields the
# server adds, is over 65,536 bytes (MAX_PDU_SIZE in synapse/api/constants.py).
# CONTENT_ALLOWANCE leaves room for those fields: ids, hashes, signatures and
# up to 10 previous events (582 bytes measured on a test server with one).
# tests/app/test_compose_synapse.py checks that content of MAX_CONTENT_BYTES
# is still accepted.
MAX_EVENT_BYTES = 65_536
CONTENT_ALLOWANCE = 3_072
MAX_CONTENT_BYTES = MAX_EVENT_BYTES - CONTENT_ALLOWANCE

MAX_TITLE_LENGTH = 300
MAX_TAGS = 20
MAX_TAG_LENGTH = 50

HTML_FORMAT = "org.matrix.custom.html"

# A Matrix user id in running text: @localpart:server, with an optional port.
_MENTION = re.compile(
    r"(?<![\w@/])@[a-z0-9._=\-/+]+:[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*(?::\d{1,5})?",
    re.IGNORECASE,
)


class ContentRejected(CommonplaceError):
    """The text was not queued; ``message`` explains what to change."""


class EmptyPost(ContentRejected):
    pass


class InvalidPost(ContentRejected):
    pass


class PostTooLarge(ContentRejected):
    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


@dataclass(frozen=True, slots=True)
class Built:
    """Content to send, with the fields the reader shows while it is pending."""

    content: dict
    body: str
    formatted_body: str | None
    title: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] | None = None


def new_client_id() -> str:
    return str(uuid.uuid4())


def new_transaction_id() -> str:
    """Return a transaction id for PUT .../send/{eventType}/{txnId}."""
    return f"cp{uuid.uuid4().hex}"


def find_mentions(text: str) -> list[str]:
    """Return the Matrix user ids written in text, in order, without repeats."""
    found = (match.group(0).rstrip(".") for match in _MENTION.finditer(text))
    return list(dict.fromkeys(found))


def _mentions(text: str, extra: Iterable[str]) -> dict:
    users = list(dict.fromkeys([*extra, *find_mentions(text)]))
    return {"user_ids": users}


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Return tags trimmed and without repeats; raises InvalidPost when out of range."""
    cleaned = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    if len(cleaned) > MAX_TAGS:
        raise InvalidPost(
            f"A post can have at most {MAX_TAGS} tags, not {len(cleaned)}. "
            "Remove some tags."
        )
    for tag in cleaned:
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidPost(
                f"The tag '{tag[:20]}…' is longer than {MAX_TAG_LENGTH} characters. "
                "Shorten it."
            )
    return tuple(cleaned)


def _check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise EmptyPost("The discussion has no title. Add a title, then post it.")
    if len(title) > MAX_TITLE_LENGTH:
        raise InvalidPost(
            f"The title is {len(title)} characters long; the limit is "
            f"{MAX_TITLE_LENGTH}. Shorten it and move the details into the text."
        )
    return title


def _check_kind(kind: str) -> str:
    if kind not in ns.DISCUSSION_KINDS:
        raise InvalidPost(
            f"'{kind}' is not a kind of discussion; use one of "
            f"{', '.join(ns.DISCUSSION_KINDS)}."
        )
    return kind


def content_size(content: dict) -> int:
    """Return the size in bytes of content as the server encodes it."""
    encoded = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return len(encoded.encode("utf-8"))


def check_size(content: dict) -> None:
    """Raise PostTooLarge when content would make an event over the server's limit."""
    size = content_size(content)
    if size > MAX_CONTENT_BYTES:
        raise PostTooLarge(
            f"The post is too long to send: it is {size / 1024:.0f} KB and the "
            f"limit is {MAX_CONTENT_BYTES / 1024:.0f} KB. Shorten it, split it "
            "into several replies, or share the text as a file.",
            size,
        )


def _discussion_fields(
    title: str, body: str, kind: str, tags: Iterable[str], mentions: Iterable[str]
) -> tuple[dict, str, str, str, tuple[str, ...]]:
    title = _check_title(title)
    kind = _check_kind(kind)
    tags = normalise_tags(tags)
    body = body.strip("\n")
    plain = f"{title}\n\n{body}" if body.strip() else title
    formatted = f"<h3>{html.escape(title)}</h3>" + markdown_to_html(body)
    content = {
        "msgtype": "m.text",
        "body": plain,
        "format": HTML_FORMAT,
        "formatted_body": formatted,
        ns.DISCUSSION_KEY: {"title": title, "kind": kind, "tags": list(tags)},
        "m.mentions": _mentions(f"{title}\n{body}", mentions),
    }
    return content, title, body, kind, tags


def discussion_content(
    title: str,
    body: str,
    *,
    kind: str = "discussion",
    tags: Iterable[str] = (),
    client_id: str,
    mentions: Iterable[str] = (),
) -> Built:
    """Build a new discussion, question or announcement; body is Markdown."""
    content, title, body, kind, tags = _discussion_fields(
        title, body, kind, tags, mentions
    )
    content[ns.CLIENT_ID_KEY] = client_id
    check_size(content)
    return Built(content, body, content["formatted_body"], title, kind, tags)


def _reply_fields(body: str, mentions: Iterable[str]) -> dict:
    body = body.strip("\n")
    if not body.strip():
        raise EmptyPost("The reply is empty. Write something, then send it.")
    content = {"msgtype": "m.text", "body": body}
    formatted = markdown_to_html(body)
    if formatted != f"<p>{html.escape(body, quote=False)}</p>\n":
        # Plain text needs no HTML copy, which would double the event's size.
        content["format"] = HTML_FORMAT
        content["formatted_body"] = formatted
    content["m.mentions"] = _mentions(body, mentions)
    return content


def reply_content(
    root_id: str,
    body: str,
    *,
    in_reply_to: str,
    quoting: bool = False,
    client_id: str,
    mentions: Iterable[str] = (),
) -> Built:
    """Build a reply in the thread of root_id.

    in_reply_to is the latest event of the thread, or the quoted reply when
    quoting is true, which clients without threads then show as the target.
    """
    content = _reply_fields(body, mentions)
    content["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": root_id,
        "is_falling_back": not quoting,
        "m.in_reply_to": {"event_id": in_reply_to},
    }
    content[ns.CLIENT_ID_KEY] = client_id
    check_size(content)
    return Built(content, content["body"], content.get("formatted_body"))


def like_content(target_id: str, *, client_id: str) -> dict:
    return {
        "m.relates_to": {
            "rel_type": "m.annotation",
            "event_id": target_id,
            "key": ns.LIKE_KEY,
        },
        ns.CLIENT_ID_KEY: client_id,
    }


def redaction_content(*, client_id: str, reason: str | None = None) -> dict:
    """Build the body of PUT .../redact/{eventId}/{txnId} (unlike or delete)."""
    content = {ns.CLIENT_ID_KEY: client_id}
    if reason:
        content["reason"] = reason
    return content


def _edit_envelope(
    original_id: str, new_content: dict, client_id: str, previous_mentions
) -> dict:
    # Top-level m.mentions names only people not mentioned before, so an
    # edit does not notify everyone again.
    previous = set(previous_mentions)
    new_users = new_content["m.mentions"]["user_ids"]
    content = {"msgtype": "m.text", "body": f"* {new_content['body']}"}
    if "formatted_body" in new_content:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = f"* {new_content['formatted_body']}"
    content |= {
        "m.new_content": new_content,
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_id},
        "m.mentions": {"user_ids": [u for u in new_users if u not in previous]},
        ns.CLIENT_ID_KEY: client_id,
    }
    check_size(content)
    return content


def edit_discussion_content(
    original_id: str,
    title: str,
    body: str,
    *,
    kind: str,
    tags: Iterable[str],
    client_id: str,
    previous_mentions: Iterable[str] = (),
    mentions: Iterable[str] = (),
) -> Built:
    """Build an edit that replaces a discussion's title, kind, tags and text."""
    new_content, title, body, kind, tags = _discussion_fields(
        title, body, kind, tags, mentions
    )
    content = _edit_envelope(original_id, new_content, client_id, previous_mentions)
    return Built(content, body, new_content["formatted_body"], title, kind, tags)


def edit_reply_content(
    original_id: str,
    body: str,
    *,
    client_id: str,
    previous_mentions: Iterable[str] = (),
    mentions: Iterable[str] = (),
) -> Built:
    """Build an edit that replaces a reply's text."""
    new_content = _reply_fields(body, mentions)
    content = _edit_envelope(original_id, new_content, client_id, previous_mentions)
    return Built(content, new_content["body"], new_content.get("formatted_body"))


def accepted_answer_content(reply_id: str | None, *, client_id: str) -> dict:
    """Build the accepted-answer state content; None clears the answer.

    The clearing content is empty, as the format defines, so it carries no
    client id; the outbox matches it by the event id that the send returns.
    """
    if reply_id is None:
        return {}
    return {"event_id": reply_id, ns.CLIENT_ID_KEY: client_id}
