import pytest

from app.store.search_text import fold_text, fold_with_offsets, tokens_of


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Résumé", "resume"),
        ("ÉCOLE", "ecole"),
        ("e\u0301cole", "ecole"),
        ("Straße", "strasse"),
        ("ＡＢＣ１２３", "abc123"),
        ("José Núñez", "jose nunez"),
        ("Ωμέγα", "ωμεγα"),
        ("Ёлка", "елка"),
        ("Kubernetes-cluster_v2!", "kubernetes cluster v2"),
        ("機械学習の基礎", "機 械 学 習 の 基 礎"),
        ("田中太郎", "田 中 太 郎"),
        ("SQL入門", "sql 入 門"),
        ("👩\u200d💻 coder", "👩 💻 coder"),
        ("👍🏽", "👍 🏽"),
        ("🇯🇵", "🇯 🇵"),
        ("1\ufe0f\u20e3", "1"),
        ("co\u00adoperate", "cooperate"),
        ("\u202eevil\u202c name", "evil name"),
        ("", ""),
        (None, ""),
    ],
)
def test_fold_text(text, folded):
    assert fold_text(text) == folded


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII, with punctuation!",
        "Résumé — naïve café, ÉCOLE",
        "機械学習の基礎 and SQL入門 👩\u200d💻 team 🇯🇵",
        "Straße ＡＢＣ e\u0301cole ﬁle",
        "مُحَمَّد עִבְרִית हिन्दी",
    ],
)
def test_offsets_fold_to_the_same_tokens(text):
    folded, offsets = fold_with_offsets(text)
    assert folded.split() == fold_text(text).split()
    assert len(offsets) == len(folded)
    assert all(0 <= offset < len(text) for offset in offsets)


def test_ascii_fast_path_matches_the_general_path():
    text = "Deploy the cache: v2.1 (beta) -- 100% done; a_b+c@d"
    # A non-ASCII character forces the general path for the rest of the text.
    assert fold_text(text + " é") == fold_text(text) + " e"


def test_tokens_of_splits_on_separators():
    assert tokens_of("Kubernetes, the résumé") == ["kubernetes", "the", "resume"]
