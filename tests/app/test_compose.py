"""Content builders: formats, sanitising, mentions and the checks before queueing."""

import json
import re

import pytest

from app import compose
from app import namespace as ns
from app.sync.translate import translate_timeline_event

CLIENT_ID = "0b5c1f1e-5a8e-4d7b-9a59-2f0a4b5e7c11"


def as_event(content, event_type="m.room.message"):
    return {
        "event_id": "$sent",
        "sender": "@ann:test",
        "type": event_type,
        "origin_server_ts": 1_700_000_000_000,
        "content": content,
    }


def test_discussion_content_follows_format():
    built = compose.discussion_content(
        "  Window   functions? ",
        "How do I **rank** rows?",
        kind="question",
        tags=["sql", " postgres ", "sql", ""],
        client_id=CLIENT_ID,
    )
    content = built.content
    assert content["msgtype"] == "m.text"
    assert content["body"] == "Window functions?\n\nHow do I **rank** rows?"
    assert content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"] == (
        "<h3>Window functions?</h3><p>How do I <strong>rank</strong> rows?</p>\n"
    )
    assert content[ns.DISCUSSION_KEY] == {
        "title": "Window functions?",
        "kind": "question",
        "tags": ["sql", "postgres"],
    }
    assert content[ns.CLIENT_ID_KEY] == CLIENT_ID
    assert content["m.mentions"] == {"user_ids": []}
    assert (built.title, built.kind, built.tags) == (
        "Window functions?",
        "question",
        ("sql", "postgres"),
    )


def test_discussion_content_reads_back_unchanged():
    built = compose.discussion_content(
        "Title", "Body text", kind="announcement", tags=["x"], client_id=CLIENT_ID
    )
    raw, discussion = translate_timeline_event("!room:test", as_event(built.content))
    assert discussion.title == "Title"
    assert discussion.kind == "announcement"
    assert discussion.tags == ("x",)
    assert discussion.body == "Body text"
    assert raw.client_id == CLIENT_ID


def test_title_escaped_in_formatted_body():
    built = compose.discussion_content("<b>Bold</b> & co", "", client_id=CLIENT_ID)
    assert (
        built.content["formatted_body"] == "<h3>&lt;b&gt;Bold&lt;/b&gt; &amp; co</h3>"
    )
    assert built.content["body"] == "<b>Bold</b> & co"


def test_raw_html_and_javascript_links_sanitised():
    body = (
        "<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) and [ok](https://example.org) and "
        '<a href="javascript:alert(4)">raw</a> and <JAVASCRIPT:alert(5)>'
    )
    built = compose.reply_content(
        "$root", body, in_reply_to="$root", client_id=CLIENT_ID
    )
    formatted = built.content["formatted_body"]
    assert "<script" not in formatted
    assert "<img" not in formatted
    assert not re.search(r"<a [^>]*javascript", formatted, re.IGNORECASE)
    assert formatted.count("<a ") == 1
    assert "&lt;script&gt;" in formatted
    assert 'href="https://example.org"' in formatted
    # The Markdown source stays as typed in the plain body.
    assert built.content["body"] == body


def test_mentions_found_in_text():
    built = compose.reply_content(
        "$root",
        "Ask @bob:example.org. Also @carol:example.org:8448 and me@mail.test",
        in_reply_to="$root",
        client_id=CLIENT_ID,
        mentions=["@dave:example.org"],
    )
    assert built.content["m.mentions"] == {
        "user_ids": [
            "@dave:example.org",
            "@bob:example.org",
            "@carol:example.org:8448",
        ]
    }


def test_reply_follows_thread_fallback():
    built = compose.reply_content(
        "$root", "Thanks", in_reply_to="$latest", client_id=CLIENT_ID
    )
    assert built.content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": "$root",
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$latest"},
    }
    assert built.content[ns.CLIENT_ID_KEY] == CLIENT_ID


def test_quoting_reply_is_not_falling_back():
    built = compose.reply_content(
        "$root", "Agreed", in_reply_to="$quoted", quoting=True, client_id=CLIENT_ID
    )
    relation = built.content["m.relates_to"]
    assert relation["is_falling_back"] is False
    assert relation["m.in_reply_to"] == {"event_id": "$quoted"}
    assert not built.content["body"].startswith("> ")


def test_like_is_thumbs_up_annotation():
    content = compose.like_content("$post", client_id=CLIENT_ID)
    assert content["m.relates_to"] == {
        "rel_type": "m.annotation",
        "event_id": "$post",
        "key": "👍",
    }
    assert content[ns.CLIENT_ID_KEY] == CLIENT_ID


def test_redaction_carries_client_id_and_reason():
    content = compose.redaction_content(client_id=CLIENT_ID, reason="Posted twice")
    assert content == {ns.CLIENT_ID_KEY: CLIENT_ID, "reason": "Posted twice"}


def test_discussion_edit_replaces_block():
    built = compose.edit_discussion_content(
        "$original",
        "New title",
        "New **text** for @bob:test",
        kind="question",
        tags=["a"],
        client_id=CLIENT_ID,
        previous_mentions=["@bob:test"],
        mentions=["@carol:test"],
    )
    content = built.content
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$original"}
    assert content["body"] == "* New title\n\nNew **text** for @bob:test"
    new = content["m.new_content"]
    assert new[ns.DISCUSSION_KEY] == {
        "title": "New title",
        "kind": "question",
        "tags": ["a"],
    }
    assert ns.CLIENT_ID_KEY not in new
    assert "m.relates_to" not in new
    assert new["m.mentions"] == {"user_ids": ["@carol:test", "@bob:test"]}
    # Only people not mentioned before are notified by the edit.
    assert content["m.mentions"] == {"user_ids": ["@carol:test"]}

    _raw, edit = translate_timeline_event("!room:test", as_event(content))
    assert (edit.target_id, edit.title, edit.kind, edit.tags) == (
        "$original",
        "New title",
        "question",
        ("a",),
    )
    assert edit.body == "New **text** for @bob:test"


def test_reply_edit_has_star_fallback():
    built = compose.edit_reply_content("$reply", "Fixed *typo*", client_id=CLIENT_ID)
    assert built.content["body"] == "* Fixed *typo*"
    assert built.content["m.new_content"]["body"] == "Fixed *typo*"
    assert built.content["formatted_body"] == "* <p>Fixed <em>typo</em></p>\n"


def test_plain_text_has_no_html_copy():
    built = compose.reply_content(
        "$root", "Just text, 1 < 2", in_reply_to="$root", client_id=CLIENT_ID
    )
    assert "formatted_body" not in built.content
    assert "format" not in built.content
    edit = compose.edit_reply_content("$reply", "Plain", client_id=CLIENT_ID)
    assert "formatted_body" not in edit.content
    assert "formatted_body" not in edit.content["m.new_content"]


def test_accepted_answer_content_sets_and_clears():
    assert compose.accepted_answer_content("$reply", client_id=CLIENT_ID) == {
        "event_id": "$reply",
        ns.CLIENT_ID_KEY: CLIENT_ID,
    }
    assert compose.accepted_answer_content(None, client_id=CLIENT_ID) == {}


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_discussion_without_title_rejected(title):
    with pytest.raises(compose.EmptyPost) as rejected:
        compose.discussion_content(title, "Some text", client_id=CLIENT_ID)
    assert "title" in rejected.value.message


@pytest.mark.parametrize("body", ["", "  ", "\n\n"])
def test_empty_reply_rejected(body):
    with pytest.raises(compose.EmptyPost) as rejected:
        compose.reply_content("$root", body, in_reply_to="$root", client_id=CLIENT_ID)
    assert "empty" in rejected.value.message


def test_too_many_or_long_tags_rejected():
    with pytest.raises(compose.InvalidPost):
        compose.normalise_tags([f"t{n}" for n in range(21)])
    with pytest.raises(compose.InvalidPost):
        compose.normalise_tags(["x" * 51])
    assert compose.normalise_tags([f"t{n}" for n in range(20)])[-1] == "t19"


def test_unknown_kind_and_long_title_rejected():
    with pytest.raises(compose.InvalidPost):
        compose.discussion_content("T", "", kind="poll", client_id=CLIENT_ID)
    with pytest.raises(compose.InvalidPost):
        compose.discussion_content("x" * 301, "", client_id=CLIENT_ID)


def test_content_over_limit_rejected_with_advice():
    body = "é" * (compose.MAX_CONTENT_BYTES // 2)
    with pytest.raises(compose.PostTooLarge) as rejected:
        compose.reply_content("$root", body, in_reply_to="$root", client_id=CLIENT_ID)
    message = rejected.value.message
    assert "too long" in message
    assert "Shorten it" in message
    assert rejected.value.size > compose.MAX_CONTENT_BYTES


def test_content_size_counts_utf8_bytes():
    content = {"body": "👍"}
    assert compose.content_size(content) == len('{"body":""}') + 4
    assert compose.content_size(content) == len(
        json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    )


def test_edit_size_counts_both_copies():
    # An edit carries the text twice (fallback and m.new_content), so plain
    # text that fits in a reply can be too large as an edit.
    body = "a" * (compose.MAX_CONTENT_BYTES * 2 // 3)
    compose.reply_content("$root", body, in_reply_to="$root", client_id=CLIENT_ID)
    with pytest.raises(compose.PostTooLarge):
        compose.edit_reply_content("$reply", body, client_id=CLIENT_ID)


def test_ids_are_unique():
    assert compose.new_client_id() != compose.new_client_id()
    first = compose.new_transaction_id()
    assert first != compose.new_transaction_id()
    assert first.isalnum()
