import datetime

import pytest

from app.search_query import MAX_TERMS, Term, parse_query


def test_words_match_by_prefix_and_phrases_exactly():
    query = parse_query('kube "query plan"')
    assert query.terms == [Term(("kube",), True), Term(("query", "plan"), False)]
    assert query.match_expression() == '"kube"* "query plan"'


def test_unclosed_phrase_matches_by_prefix():
    assert parse_query('"query pl').terms == [Term(("query", "pl"), True)]


def test_chinese_words_become_phrases_of_characters():
    assert parse_query("学習").terms == [Term(("学", "習"), True)]


def test_fts_operators_are_plain_words():
    query = parse_query("NEAR(a b) OR c*")
    assert query.match_expression() == '"near a"* "b"* "or"* "c"*'


def test_filters_are_read_and_values_can_be_quoted():
    query = parse_query('in:"Data Guild" from:maya is:unanswered has:file sql')
    assert query.space == "Data Guild"
    assert query.person == "maya"
    assert query.questions_only and query.unanswered_only
    assert query.files_only
    assert query.terms == [Term(("sql",), True)]
    assert query.notices == []


def test_filter_names_ignore_case():
    assert parse_query("IS:Question").questions_only


def test_dates_start_in_local_time():
    query = parse_query("before:2026-03-31 after:2025-02")
    assert query.before_ms == _local_ms(2026, 3, 31)
    assert query.after_ms == _local_ms(2025, 2, 1)
    assert parse_query("after:2024").after_ms == _local_ms(2024, 1, 1)


def _local_ms(year, month, day):
    return int(datetime.datetime(year, month, day).astimezone().timestamp() * 1000)


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("is:cake", "is:cake is not a filter; use is:question or is:unanswered."),
        ("has:pdf", "has:pdf is not a filter; use has:file."),
        ("in:", 'in: needs a value, for example in:"Data Guild".'),
        (
            "before:2026-13-01",
            "before:2026-13-01 is not a date; write it as YYYY-MM-DD, "
            + "for example 2026-03-31.",
        ),
    ],
)
def test_mistakes_become_plain_notices(text, notice):
    assert parse_query(text).notices == [notice]


def test_unknown_prefixes_are_searched_as_text():
    query = parse_query("https://example.org note:this")
    assert not query.has_filters
    assert query.terms[0].tokens == ("https", "example", "org")


def test_long_input_is_cut_with_a_notice():
    query = parse_query(" ".join(f"word{number}" for number in range(100)))
    assert len(query.terms) == MAX_TERMS
    assert query.notices[-1] == f"Only the first {MAX_TERMS} words were searched."
    assert parse_query("x" * 5000).notices == [
        "The search was cut to its first 1000 characters."
    ]


def test_repeated_terms_count_once():
    assert parse_query("cache Cache CACHE cache*").terms == [Term(("cache",), True)]


def test_punctuation_alone_is_an_empty_query():
    assert parse_query("* ( ) -").is_empty


def test_whole_user_id_searches_its_localpart():
    query = parse_query("@wei:example.org deploy")

    assert [term.tokens for term in query.terms] == [("wei",), ("deploy",)]
