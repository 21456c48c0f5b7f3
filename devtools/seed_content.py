"""The demo organisation's people, spaces, discussions and files.

The texts live in TOML files under ``devtools/demo_data``: ``people.toml``,
``spaces.toml`` and one file of discussions per space, named after the space's
key. ``load_content()`` reads and checks them, so that a typo in an author's
name fails here rather than halfway through seeding a server.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from app.namespace import DISCUSSION_KINDS

DATA_DIR = Path(__file__).resolve().parent / "demo_data"


class ContentError(ValueError):
    """A demo data file is invalid: a missing field or an unknown name."""


@dataclass(frozen=True)
class Person:
    localpart: str
    name: str
    color: str
    title: str
    department: str
    location: str
    pronouns: str
    skills: list[str]
    ask_me_about: list[str]
    bio: str
    initials: str | None = None


@dataclass(frozen=True)
class Reply:
    body: str
    author: str | None = None  # None: picked from the space's members
    quote: int | None = None  # index of an earlier reply that this one quotes


@dataclass(frozen=True)
class Discussion:
    title: str
    kind: str
    tags: list[str]
    author: str
    body: str
    replies: list[Reply] = field(default_factory=list)
    accepted: int | None = None  # index of the reply accepted as the answer


@dataclass(frozen=True)
class DemoFile:
    """A file in a files area: text, a PDF typeset from Markdown, or a PNG."""

    name: str
    author: str
    text: str = ""  # the content of .md and .csv files, the source of a .pdf
    steps: list[str] = field(default_factory=list)  # PNG flow diagram
    colors: list[str] = field(default_factory=list)  # PNG colour swatches
    supersedes: str | None = None  # name of the file this one is a version of


@dataclass(frozen=True)
class Space:
    key: str  # localpart of the space's alias, and the name of its data file
    name: str
    topic: str
    join_rule: str  # "public" or "invite"
    owner: str
    members: list[str]  # localparts, the owner included
    color: str
    discussions: list[Discussion]
    files: list[DemoFile]


@dataclass(frozen=True)
class Content:
    people: list[Person]
    spaces: list[Space]


def _read(name: str) -> dict:
    path = DATA_DIR / name
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ContentError(f"Cannot read {path}: {error}") from error


def _build(cls: type, raw: dict, where: str):
    try:
        return cls(**raw)
    except TypeError as error:
        raise ContentError(f"{where}: {error}") from error


def _load_discussions(space_key: str) -> list[Discussion]:
    discussions = []
    for index, raw in enumerate(_read(f"{space_key}.toml").get("discussion", [])):
        where = f"{space_key}.toml, discussion {index + 1}"
        replies = [
            _build(Reply, reply, f"{where}, reply {number + 1}")
            for number, reply in enumerate(raw.pop("reply", []))
        ]
        discussions.append(_build(Discussion, {**raw, "replies": replies}, where))
    return discussions


def _load_space(raw: dict) -> Space:
    key = raw.get("key", "?")
    files = [
        _build(DemoFile, item, f"spaces.toml, {key}, file {number + 1}")
        for number, item in enumerate(raw.pop("file", []))
    ]
    return _build(
        Space,
        {**raw, "files": files, "discussions": _load_discussions(key)},
        f"spaces.toml, space {key}",
    )


def load_content() -> Content:
    """Read the demo data files and check that every name in them is known."""
    people = [
        _build(Person, raw, f"people.toml, person {number + 1}")
        for number, raw in enumerate(_read("people.toml").get("person", []))
    ]
    spaces = [_load_space(raw) for raw in _read("spaces.toml").get("space", [])]
    content = Content(people, spaces)
    check_content(content)
    return content


def check_content(content: Content) -> None:
    """Raise ContentError for an unknown person, kind or reply index."""
    known = {person.localpart for person in content.people}
    for space in content.spaces:
        members = set(space.members)
        if not members <= known:
            raise ContentError(f"{space.key}: unknown members {members - known}")
        if space.owner not in members:
            raise ContentError(f"{space.key}: owner {space.owner} is not a member")
        if space.join_rule not in ("public", "invite"):
            raise ContentError(f"{space.key}: invalid join_rule {space.join_rule}")
        for discussion in space.discussions:
            _check_discussion(space, discussion)
        for item in space.files:
            if item.author not in members:
                raise ContentError(f"{item.name}: {item.author} is not a member")


def _check_discussion(space: Space, discussion: Discussion) -> None:
    where = f"{space.key}: {discussion.title!r}"
    if discussion.kind not in DISCUSSION_KINDS:
        raise ContentError(f"{where}: invalid kind {discussion.kind!r}")
    if discussion.author not in space.members:
        raise ContentError(f"{where}: author {discussion.author} is not a member")
    for number, reply in enumerate(discussion.replies):
        if reply.author is not None and reply.author not in space.members:
            raise ContentError(f"{where}: reply author {reply.author} not a member")
        if reply.quote is not None and not 0 <= reply.quote < number:
            raise ContentError(f"{where}: reply {number} quotes a later reply")
    accepted = discussion.accepted
    if accepted is not None and not 0 <= accepted < len(discussion.replies):
        raise ContentError(f"{where}: accepted reply {accepted} does not exist")
