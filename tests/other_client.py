"""A minimal Matrix client over plain httpx, standing in for other clients.

Tests use it to write rooms and events the way any Matrix client would, so
that what Commonplace reads comes from a real server, not from its own code.
"""

import itertools
import urllib.parse

import httpx

from app import namespace as ns

_transaction_ids = itertools.count(1)


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class OtherClient:
    def __init__(self, base_url: str, access_token: str, user_id: str):
        self.user_id = user_id
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=30.0,
        )

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, f"/_matrix/client/v3{path}", **kwargs)
        if response.is_error:
            raise RuntimeError(f"{method} {path} failed: {response.text}")
        return response.json()

    def create_room(self, name: str, *, space: bool = False, invite=(), **extra) -> str:
        body = {"name": name, "preset": "public_chat", "invite": list(invite), **extra}
        if space:
            body["creation_content"] = {"type": "m.space"}
        return self.call("POST", "/createRoom", json=body)["room_id"]

    def state(self, room_id: str, event_type: str, content: dict, state_key="") -> str:
        path = f"/rooms/{_quote(room_id)}/state/{event_type}/{_quote(state_key)}"
        return self.call("PUT", path, json=content)["event_id"]

    def send(self, room_id: str, content: dict, event_type="m.room.message") -> str:
        txn = f"test{next(_transaction_ids)}"
        path = f"/rooms/{_quote(room_id)}/send/{event_type}/{txn}"
        return self.call("PUT", path, json=content)["event_id"]

    def join(self, room_id: str) -> None:
        self.call("POST", f"/join/{_quote(room_id)}", json={})

    def create_space_with_board(self, name: str, *, invite=()) -> tuple[str, str]:
        """Create a space and a linked discussion board; return both room ids."""
        server = self.user_id.split(":", 1)[1]
        space = self.create_room(name, space=True, invite=invite)
        board = self.create_room(f"{name} discussions", invite=invite)
        self.state(board, ns.ROOM_KIND_EVENT, {"kind": "board"})
        self.state(space, "m.space.child", {"via": [server]}, state_key=board)
        self.state(board, "m.space.parent", {"via": [server], "canonical": True}, space)
        return space, board

    def discussion(self, room_id: str, title: str, body: str = "", **block) -> str:
        content = {
            "msgtype": "m.text",
            "body": f"{title}\n\n{body}",
            ns.DISCUSSION_KEY: {"title": title, "kind": "discussion", **block},
        }
        return self.send(room_id, content)

    def reply(self, room_id: str, root_id: str, body: str) -> str:
        relation = {
            "rel_type": "m.thread",
            "event_id": root_id,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root_id},
        }
        content = {"msgtype": "m.text", "body": body, "m.relates_to": relation}
        return self.send(room_id, content)

    def like(self, room_id: str, target_id: str) -> str:
        relation = {
            "rel_type": "m.annotation",
            "event_id": target_id,
            "key": ns.LIKE_KEY,
        }
        return self.send(room_id, {"m.relates_to": relation}, "m.reaction")
