"""Break opportunities in long words of the thread view's HTML."""

import re

import pytest

from ui.thread_html import BREAK_INTERVAL, LONG_RUN, SOFT_BREAK, break_long_runs


def _longest_unbroken(markup: str) -> int:
    """Return the length of the longest run without a space in markup's text."""
    text = re.sub(r'<(?:[^>"]|"[^"]*")*>', " ", markup)
    return max(len(run) for run in re.split(rf"[\s{SOFT_BREAK}]+", text))


def test_break_long_runs_leaves_short_words():
    markup = "<p>" + " ".join(["word"] * 500) + "</p>"
    assert break_long_runs(markup) == markup


def test_break_long_runs_leaves_run_at_limit():
    markup = f"<p>{'a' * LONG_RUN}</p>"
    assert break_long_runs(markup) == markup


def test_break_long_runs_breaks_every_interval():
    word = "a" * 1000

    result = break_long_runs(f"<p>{word}</p>")

    pieces = result[3:-4].split(SOFT_BREAK)
    assert "".join(pieces) == word
    assert {len(piece) for piece in pieces[:-1]} == {BREAK_INTERVAL}
    assert len(pieces[-1]) == len(word) % BREAK_INTERVAL


def test_break_long_runs_keeps_attributes():
    url = "https://example.org/" + "x" * 300
    markup = f'<p><a href="{url}" title="a > b">{url}</a></p>'

    result = break_long_runs(markup)

    assert result.startswith(f'<p><a href="{url}" title="a > b">')
    assert result.replace(SOFT_BREAK, "") == markup
    assert _longest_unbroken(result) <= BREAK_INTERVAL


def test_break_long_runs_keeps_entities_whole():
    text = "&amp;&lt;&gt;&nbsp;" * 100

    result = break_long_runs(f"<pre><code>{text}</code></pre>")

    assert "&amp;" in result
    assert not re.search(r"&[a-z]*" + SOFT_BREAK, result)
    assert result.replace(SOFT_BREAK, "").replace("\xa0", "&nbsp;") == (
        f"<pre><code>{text}</code></pre>"
    )


def test_break_long_runs_spans_no_break_spaces():
    text = "a\xa0" * 200
    assert SOFT_BREAK in break_long_runs(f"<p>{text}</p>")


@pytest.mark.parametrize(
    "cluster",
    [
        "e\u0301",  # e and a combining acute accent
        "👩\u200d💻",  # woman technologist: two emoji joined by ZWJ
        "👍🏽",  # thumbs up with a skin-tone modifier
        "🇵🇹",  # a flag: two regional indicators
        "❤\ufe0f",  # heart with the emoji variation selector
    ],
)
def test_break_long_runs_keeps_clusters_whole(cluster):
    # An odd offset, so that interval boundaries fall inside clusters.
    text = "a" + cluster * 300

    result = break_long_runs(f"<p>{text}</p>")

    assert SOFT_BREAK in result
    pieces = result[3:-4].split(SOFT_BREAK)
    for piece in pieces[1:]:
        assert piece.startswith(cluster)
