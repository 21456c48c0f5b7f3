"""Turning untrusted message bodies into safe HTML for Qt's rich-text widgets.

Markdown is rendered with markdown-it-py with raw HTML disabled; HTML from the
server is cleaned with nh3's allow-list. Images are removed entirely, so Qt
never loads a remote resource, and links keep only safe schemes.
"""

import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strike",
    "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u",
    "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "matrix"}
# Removed with everything inside them, not just their tags.
CLEAN_CONTENT_TAGS = {"script", "style", "mx-reply", "img", "iframe", "object", "svg"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
_REPLY_FALLBACK = re.compile(r"^(> .*\n)+\n?", re.MULTILINE)


def sanitize_html(value: str) -> str:
    """Return value with only allow-listed tags, attributes and link schemes."""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def markdown_to_html(text: str) -> str:
    """Render Markdown (raw HTML in it shown as text) to sanitised HTML."""
    return sanitize_html(_markdown.render(text))


def strip_reply_fallback(body: str) -> str:
    """Remove the quoted lines that older clients put before a reply's text."""
    if body.startswith("> "):
        return _REPLY_FALLBACK.sub("", body, count=1)
    return body


def body_to_html(body: str, formatted_body: str | None) -> str:
    """Return safe HTML for a message: its HTML if it has some, else its Markdown."""
    if formatted_body:
        return sanitize_html(formatted_body)
    return markdown_to_html(strip_reply_fallback(body))


def plain_to_html(text: str) -> str:
    """Escape text for rich-text display, keeping line breaks."""
    return html.escape(text).replace("\n", "<br>")
