"""Space names as Spaces.create sends them: cleaned, checked and counted."""

import asyncio

import pytest

from app.spaces import MAX_NAME_LENGTH, SpaceActionError, checked_space_name
from tests.app.test_spaces_synapse import commonplace, other, quote

pytestmark = pytest.mark.synapse

__all__ = []


@pytest.mark.parametrize(
    "typed, sent",
    [
        ("Ctrl\x07\x1b[31mred\x00?\nnewline", "Ctrl[31mred? newline"),
        ("\u202eevil\u202c name", "evil name"),
        ("zero\u200bwidth", "zerowidth"),
        ("e\u0301cole", "\u00e9cole"),
        ("  Data\tGuild  ", "Data Guild"),
        ("\U0001f469\u200d\U0001f4bb Coders", "\U0001f469\u200d\U0001f4bb Coders"),
    ],
)
def test_name_cleaned(typed, sent):
    assert checked_space_name(typed) == sent


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "\u200b\u200b\u200b", "\u202e\u202c", "\x07\x1b", "\u3164", "\u0301"],
)
def test_name_without_visible_characters_rejected(typed):
    with pytest.raises(SpaceActionError) as failure:
        checked_space_name(typed)
    assert "at least one visible letter" in failure.value.message


def test_name_length_counts_perceived_characters():
    decomposed = "e\u0301" * MAX_NAME_LENGTH
    thumbs = "\U0001f44d\U0001f3fd" * MAX_NAME_LENGTH
    assert checked_space_name(decomposed) == "\u00e9" * MAX_NAME_LENGTH
    assert checked_space_name(thumbs) == thumbs
    with pytest.raises(SpaceActionError) as failure:
        checked_space_name("e\u0301" * (MAX_NAME_LENGTH + 1))
    assert failure.value.message == (
        f"The name is {MAX_NAME_LENGTH + 1} characters long; a space name can have "
        f"at most {MAX_NAME_LENGTH}. Choose a shorter one."
    )


def test_create_sends_cleaned_name_and_topic(synapse, make_user, tmp_path):
    owner = make_user("owner")

    async def scenario():
        async with commonplace(synapse.base_url, owner, tmp_path) as creator:
            with pytest.raises(SpaceActionError):
                await creator.spaces.create("\u200b\u200b\u200b")
            return await creator.spaces.create(
                "Bell\x07 \u202eReading\nRoom",
                topic="Books\x1b[0m\n\u2066and more\u2069",
                visibility="invite",
            )

    space_id = asyncio.run(scenario())

    client = other(synapse, owner)
    try:
        name = client.call("GET", f"/rooms/{quote(space_id)}/state/m.room.name/")
        topic = client.call("GET", f"/rooms/{quote(space_id)}/state/m.room.topic/")
        joined = client.call("GET", "/joined_rooms")["joined_rooms"]
    finally:
        client.close()
    assert name == {"name": "Bell Reading Room"}
    assert topic["topic"] == "Books[0m\nand more"
    # The rejected name made no room: only the space and its two rooms exist.
    assert len(joined) == 3


def test_name_of_stacked_accents_rejected():
    stacked = "q" + "\u0301\u0302\u0303" * 400
    with pytest.raises(SpaceActionError) as failure:
        checked_space_name(stacked)
    assert failure.value.message == (
        "The name has 1201 Unicode code points, more than the 1000 a space name "
        "can have. Remove some accents or emoji."
    )
