from app.render import body_to_html, markdown_to_html, sanitize_html


def test_script_and_handlers_are_removed():
    html = sanitize_html('<p onclick="steal()">hi<script>alert(1)</script></p>')
    assert "script" not in html
    assert "alert" not in html
    assert "onclick" not in html
    assert "hi" in html


def test_javascript_link_loses_its_href():
    html = sanitize_html('<a href="javascript:alert(1)">click</a>')
    assert "javascript" not in html
    assert "click" in html


def test_remote_image_is_removed():
    html = sanitize_html('<p>x<img src="https://tracker.example/p.png" alt="a"></p>')
    assert "img" not in html
    assert "tracker" not in html


def test_reply_fallback_block_is_removed():
    html = body_to_html(
        "x", "<mx-reply><blockquote>quoted</blockquote></mx-reply>answer"
    )
    assert "quoted" not in html
    assert "answer" in html


def test_markdown_renders_code_lists_and_links():
    html = markdown_to_html(
        "# Title\n\n- one\n- two\n\n```\ncode()\n```\n[a](https://x.org)"
    )
    assert "<h1>Title</h1>" in html
    assert "<li>one</li>" in html
    assert "<code>code()" in html
    assert 'href="https://x.org"' in html


def test_raw_html_in_markdown_is_shown_as_text():
    html = markdown_to_html("<script>alert(1)</script>")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
