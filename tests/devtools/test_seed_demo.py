"""The demo seed against a real Synapse, checked through the client-server API."""

from urllib.parse import quote

import httpx
import pytest

from app.namespace import (
    ACCEPTED_ANSWER_EVENT,
    DISCUSSION_KEY,
    DISCUSSION_KINDS,
    LIKE_KEY,
    PROFILE_LIST_FIELDS,
    PROFILE_TEXT_FIELDS,
    ROOM_KIND_EVENT,
    SUPERSEDES_KEY,
)
from devtools.seed import DEMO_PASSWORD, DEMO_USER, is_seeded, seed_demo_sync
from devtools.seed_content import load_content
from devtools.synapse import unique_localpart

pytestmark = pytest.mark.synapse


class Client:
    """Client-server requests as one signed-in user."""

    def __init__(self, base_url: str, token: str):
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )

    def get(self, path: str, **params) -> dict:
        response = self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self, room_id: str, event_type: str, key: str = "") -> dict:
        path = f"/_matrix/client/v3/rooms/{room_id}/state/{event_type}/{quote(key)}"
        return self.get(path)

    def download(self, mxc_url: str) -> httpx.Response:
        server_and_id = mxc_url.removeprefix("mxc://")
        return self.http.get(f"/_matrix/client/v1/media/download/{server_and_id}")

    def timeline(self, room_id: str) -> list[dict]:
        path = f"/_matrix/client/v3/rooms/{room_id}/messages"
        return self.get(path, dir="f", limit=1000)["chunk"]


class Seeded:
    """A seeded organisation, and clients signed in as its people."""

    def __init__(self, synapse, result, prefix):
        self.synapse = synapse
        self.result = result
        self.prefix = prefix
        self.spaces = {space.key: space for space in load_content().spaces}
        self._clients = {}

    def client(self, localpart: str = DEMO_USER) -> Client:
        if localpart not in self._clients:
            login = self.synapse.login(self.prefix + localpart, DEMO_PASSWORD)
            self._clients[localpart] = Client(self.synapse.base_url, login[1])
        return self._clients[localpart]

    def owner(self, space_key: str) -> Client:
        """A client signed in as the space's owner, who is always a member."""
        return self.client(self.spaces[space_key].owner)

    def close(self):
        for client in self._clients.values():
            client.http.close()


@pytest.fixture(scope="module")
def seeded(synapse):
    """A small demo organisation, under a prefix of its own, on the shared server."""
    prefix = unique_localpart("seed") + "-"
    result = seed_demo_sync(
        synapse.base_url, synapse.register, scale=0.15, prefix=prefix
    )
    organisation = Seeded(synapse, result, prefix)
    yield organisation
    organisation.close()


def test_seed_reports_what_it_made(seeded):
    result = seeded.result

    assert result.created
    assert len(result.user_ids) == len(load_content().people)
    assert set(result.spaces) == set(seeded.spaces)
    assert result.discussions == 4 * 2
    assert result.replies > 0
    assert result.likes > 0
    assert result.files == sum(len(s.files) for s in seeded.spaces.values())


def test_seed_twice_changes_nothing(synapse, seeded):
    again = seed_demo_sync(synapse.base_url, synapse.register, prefix=seeded.prefix)

    assert is_seeded(synapse.base_url, synapse.server_name, seeded.prefix)
    assert not again.created
    assert again.demo_user_id == seeded.result.demo_user_id
    assert not is_seeded(synapse.base_url, synapse.server_name, "unknown-")


def test_profiles_have_extended_fields(seeded):
    client = seeded.client()

    for person in load_content().people:
        user_id = seeded.result.user_ids[person.localpart]
        profile = client.get(f"/_matrix/client/v3/profile/{quote(user_id)}")
        assert profile["displayname"] == person.name
        assert profile["avatar_url"].startswith("mxc://")
        for name, key in PROFILE_TEXT_FIELDS.items():
            assert profile[key] == getattr(person, name), key
        for name, key in PROFILE_LIST_FIELDS.items():
            assert profile[key] == getattr(person, name), key


def test_avatar_is_png(seeded):
    client = seeded.client()
    user_id = quote(seeded.result.user_ids["tanaka.misaki"])
    avatar = client.get(f"/_matrix/client/v3/profile/{user_id}/avatar_url")

    response = client.download(avatar["avatar_url"])

    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")


def test_spaces_are_spaces_with_join_rules(seeded):
    for key, rooms in seeded.result.spaces.items():
        client = seeded.owner(key)
        create = client.state(rooms.space_id, "m.room.create")
        join_rules = client.state(rooms.space_id, "m.room.join_rules")
        assert create["type"] == "m.space"
        assert join_rules["join_rule"] == seeded.spaces[key].join_rule


def test_demo_user_membership(seeded):
    joined = set(seeded.client().get("/_matrix/client/v3/joined_rooms")["joined_rooms"])

    for key, rooms in seeded.result.spaces.items():
        member = DEMO_USER in seeded.spaces[key].members
        for room_id in (rooms.space_id, rooms.board_id, rooms.files_id):
            assert (room_id in joined) == member, (key, room_id)


def test_child_rooms_are_linked_both_ways(seeded, synapse):
    via = [synapse.server_name]

    for key, rooms in seeded.result.spaces.items():
        client = seeded.owner(key)
        for room_id, kind in ((rooms.board_id, "board"), (rooms.files_id, "files")):
            child = client.state(rooms.space_id, "m.space.child", room_id)
            parent = client.state(room_id, "m.space.parent", rooms.space_id)
            assert child["via"] == via
            assert parent == {"via": via, "canonical": True}
            assert client.state(room_id, ROOM_KIND_EVENT) == {"kind": kind}


def test_child_rooms_follow_space_join_rule(seeded):
    # Public spaces have public rooms, so people see them before joining;
    # private spaces restrict theirs to members.
    rules = {}
    for key, rooms in seeded.result.spaces.items():
        client = seeded.owner(key)
        public = seeded.spaces[key].join_rule == "public"
        rules[public] = True
        for room_id in (rooms.board_id, rooms.files_id):
            join_rules = client.state(room_id, "m.room.join_rules")
            if public:
                assert join_rules == {"join_rule": "public"}
            else:
                assert join_rules["join_rule"] == "restricted"
                assert join_rules["allow"] == [
                    {"type": "m.room_membership", "room_id": rooms.space_id}
                ]
    assert rules == {True: True, False: True}


def _board_events(seeded, key):
    """Return the roots, the replies and the reactions on a space's board."""
    events = seeded.owner(key).timeline(seeded.result.spaces[key].board_id)
    messages = [e for e in events if e["type"] == "m.room.message"]
    roots = [e for e in messages if "m.relates_to" not in e["content"]]
    replies = [e for e in messages if "m.relates_to" in e["content"]]
    reactions = [e for e in events if e["type"] == "m.reaction"]
    return roots, replies, reactions


def _files(seeded, key):
    events = seeded.owner(key).timeline(seeded.result.spaces[key].files_id)
    return [e for e in events if e["type"] == "m.room.message"]


def test_discussions_have_documented_shape(seeded):
    for key in seeded.spaces:
        roots, _, _ = _board_events(seeded, key)

        assert len(roots) == 2, key
        for root in roots:
            content = root["content"]
            block = content[DISCUSSION_KEY]
            assert content["msgtype"] == "m.text"
            assert content["body"].startswith(block["title"] + "\n\n")
            assert content["format"] == "org.matrix.custom.html"
            assert content["formatted_body"].startswith("<h3>")
            assert block["kind"] in DISCUSSION_KINDS
            assert block["tags"]
            assert all(isinstance(tag, str) for tag in block["tags"])


def test_replies_are_in_threads_with_fallback(seeded):
    roots, replies, _ = _board_events(seeded, "data-guild")
    root_ids = {root["event_id"] for root in roots}
    known_ids = root_ids | {reply["event_id"] for reply in replies}

    assert replies
    for reply in replies:
        relation = reply["content"]["m.relates_to"]
        assert relation["rel_type"] == "m.thread"
        assert relation["event_id"] in root_ids
        assert relation["m.in_reply_to"]["event_id"] in known_ids
        assert isinstance(relation["is_falling_back"], bool)
        assert not reply["content"]["body"].startswith("> ")
    fallbacks = [r["content"]["m.relates_to"]["is_falling_back"] for r in replies]
    assert True in fallbacks
    assert False in fallbacks


def test_replies_come_from_several_members(seeded):
    senders = set()

    for key in seeded.spaces:
        _, replies, _ = _board_events(seeded, key)
        senders |= {reply["sender"] for reply in replies}

    assert len(senders) >= 4


def test_likes_are_thumbs_up_annotations(seeded):
    for key in seeded.spaces:
        roots, replies, reactions = _board_events(seeded, key)
        targets = {event["event_id"] for event in roots + replies}

        assert reactions, key
        for reaction in reactions:
            relation = reaction["content"]["m.relates_to"]
            assert relation["rel_type"] == "m.annotation"
            assert relation["key"] == LIKE_KEY
            assert relation["event_id"] in targets


def test_accepted_answer_names_a_reply(seeded):
    roots, replies, _ = _board_events(seeded, "data-guild")
    question = next(
        r for r in roots if r["content"][DISCUSSION_KEY]["kind"] == "question"
    )
    board_id = seeded.result.spaces["data-guild"].board_id

    accepted = seeded.owner("data-guild").state(
        board_id, ACCEPTED_ANSWER_EVENT, question["event_id"]
    )

    answer = next(r for r in replies if r["event_id"] == accepted["event_id"])
    assert answer["content"]["m.relates_to"]["event_id"] == question["event_id"]


def test_files_have_documented_shape(seeded):
    msgtypes = set()

    for key in seeded.spaces:
        files = _files(seeded, key)
        assert files, key
        for event in files:
            content = event["content"]
            msgtypes.add(content["msgtype"])
            assert content["msgtype"] in ("m.file", "m.image")
            assert content["filename"] == content["body"]
            assert content["url"].startswith("mxc://")
            assert content["info"]["mimetype"]
            assert content["info"]["size"] > 0
            if content["msgtype"] == "m.image":
                assert content["info"]["w"] > 0
                assert content["info"]["h"] > 0

    assert msgtypes == {"m.file", "m.image"}


def test_file_size_matches_download(seeded):
    client = seeded.client()

    for event in _files(seeded, "onboarding-hub"):
        content = event["content"]
        response = client.download(content["url"])
        assert response.status_code == 200
        assert len(response.content) == content["info"]["size"]
        if content["filename"].endswith(".pdf"):
            assert response.content.startswith(b"%PDF")


def test_new_file_version_names_superseded_event(seeded):
    files = _files(seeded, "onboarding-hub")

    versions = [e for e in files if SUPERSEDES_KEY in e["content"]]

    assert len(versions) == 1
    superseded = versions[0]["content"][SUPERSEDES_KEY]
    original = next(e for e in files if e["event_id"] == superseded)
    assert original["content"]["filename"] == versions[0]["content"]["filename"]
