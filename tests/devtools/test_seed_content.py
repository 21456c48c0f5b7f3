"""The demo's content files: people, spaces and discussions."""

import re

from app.namespace import DISCUSSION_KINDS
from devtools.seed import DEMO_USER
from devtools.seed_content import load_content

PROFILE_FIELDS = (
    "name",
    "title",
    "department",
    "location",
    "pronouns",
    "bio",
    "skills",
    "ask_me_about",
)
SCRIPTS = {
    "Japanese": r"[\u3040-\u30ff\u4e00-\u9fff]",  # kana and kanji
    "Arabic": r"[\u0600-\u06ff]",
    "Greek": r"[\u0370-\u03ff]",
    "Cyrillic": r"[\u0400-\u04ff]",
}


def test_content_has_enough_people_with_full_profiles():
    people = load_content().people

    assert len(people) >= 12
    assert DEMO_USER in {person.localpart for person in people}
    for person in people:
        for field in PROFILE_FIELDS:
            assert getattr(person, field), (person.localpart, field)


def test_content_has_names_in_other_scripts():
    names = " ".join(person.name for person in load_content().people)

    for script in ("Japanese", "Arabic", "Greek", "Cyrillic"):
        assert re.search(SCRIPTS[script], names), script


def test_content_boards_have_fifteen_discussions():
    for space in load_content().spaces:
        assert len(space.discussions) >= 15, space.key
        assert {d.kind for d in space.discussions} == set(DISCUSSION_KINDS)
        assert any(d.accepted is not None for d in space.discussions), space.key


def test_content_has_discussions_in_other_scripts():
    titles = " ".join(d.title for s in load_content().spaces for d in s.discussions)

    for script, pattern in SCRIPTS.items():
        assert re.search(pattern, titles), script


def test_content_spaces_cover_membership_cases():
    spaces = {space.key: space for space in load_content().spaces}

    private = [s for s in spaces.values() if s.join_rule == "invite"]
    outside = [s for s in spaces.values() if DEMO_USER not in s.members]
    assert len(spaces) >= 4
    assert private and all(DEMO_USER in s.members for s in private)
    assert outside and all(s.join_rule == "public" for s in outside)
