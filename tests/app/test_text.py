from app.text import clean_name, display_name, format_size, isolate


def test_bidi_override_and_zero_width_are_removed():
    assert clean_name("adm\u202eni\u200bn") == "admnin"


def test_emoji_sequence_keeps_its_joiner():
    assert clean_name("👩\u200d💻 Dev") == "👩\u200d💻 Dev"


def test_control_characters_and_newlines_collapse():
    assert clean_name("Ann\n\tLee\x00") == "Ann Lee"


def test_empty_name_falls_back_to_user_id():
    assert display_name("\u200b \u202e", "@ann:test") == "@ann:test"


def test_isolate_wraps_in_first_strong_isolate():
    assert isolate("محمد") == "\u2068محمد\u2069"


def test_sizes_read_naturally():
    assert format_size(512) == "512 bytes"
    assert format_size(2048) == "2.0 KB"


def test_clean_text_keeps_lines_and_strips_escapes():
    from app.text import clean_text

    assert clean_text("one\nli\u202ene\ttwo\x1b[2J\rx") == "one\nline\ttwo[2Jx"
