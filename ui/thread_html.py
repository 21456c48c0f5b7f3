"""HTML of a discussion for the thread view: the root post and its replies.

Bodies come from app.render.body_to_html, which sanitises them with an
allow-list. Everything else that came from the server (names, titles, tags,
reaction keys) is escaped here and shown as plain text. Authors link to
``cp-person:N`` and avatars point at ``cp-avatar:N``, where N indexes the
lists that build_thread_html returns, so no user id ever goes into a URL.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from app.namespace import LIKE_KEY
from app.render import body_to_html
from app.store.queries import DiscussionSummary, Post, Reactions
from app.text import clean_name, isolate
from ui import theme
from ui.text_format import count_label, discussion_title, full_time, person_name

PERSON_SCHEME = "cp-person"
AVATAR_SCHEME = "cp-avatar"
MORE_REPLIES_URL = "cp-action:more-replies"
# Links on a post are cp-post:ACTION/N, where N indexes ThreadHtml.posts.
POST_SCHEME = "cp-post"
AVATAR_SIZE = 32

# Qt's line breaking takes time quadratic in the length of a word: showing a
# one-word post took 0.27 s for 10,000 characters and 8 to 9 s for 65,536
# (PySide6 6.11.3, offscreen, a 2-core Xeon). So a run of more than LONG_RUN
# characters without a space gets a zero-width space every BREAK_INTERVAL
# characters, where Qt may wrap it. The same post then took 0.13 to 0.19 s.
SOFT_BREAK = "\u200b"
LONG_RUN = 200
BREAK_INTERVAL = 80

KIND_LABELS = {"question": "Question", "announcement": "Announcement"}
KIND_COLOURS = {"question": theme.QUESTION, "announcement": theme.ANNOUNCEMENT}

# Headings inside posts stay smaller than the discussion's title (h1.title),
# and code blocks wrap, so that one long line never widens the whole page.
STYLE_SHEET = f"""
body {{ color: {theme.TEXT.name()}; }}
h1.title {{ font-size: x-large; margin-top: 0px; }}
h1 {{ font-size: large; font-weight: 600; margin-top: 10px; margin-bottom: 4px; }}
h2, h3, h4, h5, h6 {{
    font-size: medium; font-weight: 600; margin-top: 10px; margin-bottom: 4px;
}}
p {{ margin-top: 0px; margin-bottom: 8px; }}
a {{ color: {theme.ACCENT.name()}; text-decoration: none; }}
a.author {{ color: {theme.TEXT.name()}; font-weight: 600; }}
.meta {{ color: {theme.TEXT_MUTED.name()}; margin-bottom: 4px; }}
.muted {{ color: {theme.TEXT_MUTED.name()}; }}
.tags {{ color: {theme.TEXT_MUTED.name()}; }}
.notice {{ color: {theme.TEXT_MUTED.name()}; font-style: italic; }}
.section {{ color: {theme.TEXT_MUTED.name()}; font-weight: 600; margin-top: 12px; }}
.reply-to {{ color: {theme.TEXT_MUTED.name()}; margin-bottom: 2px; }}
.reactions {{ margin-top: 2px; margin-bottom: 4px; }}
.actions {{ color: {theme.TEXT_MUTED.name()}; margin-top: 0px; }}
.failed {{ color: {theme.ERROR.name()}; margin-bottom: 2px; }}
.accepted {{ color: #2f7d46; font-weight: 600; margin-bottom: 2px; }}
pre {{ background-color: #f3f4f6; white-space: pre-wrap; }}
code {{ background-color: #f3f4f6; }}
blockquote {{ color: {theme.TEXT_MUTED.name()}; margin-left: 12px; }}
"""


@dataclass(frozen=True)
class ThreadOptions:
    """What the reader may do in a discussion, for the links on each post.

    With user_id None the thread is shown without links. accepted_reply_id
    is shown first, under the root post.
    """

    user_id: str | None = None
    can_accept: bool = False
    accepted_reply_id: str | None = None
    # A moderator may pin the discussion to the space home and remove
    # other people's posts. pinned is True while the discussion is pinned.
    can_moderate: bool = False
    pinned: bool = False


@dataclass
class ThreadHtml:
    """A discussion's HTML in parts, so a view can append replies to it.

    html is head, then section_html, then the replies in the order shown, then
    more. Each part starts and ends with a tag, so inserting it alone gives the
    same document content as it has within html.
    """

    head: str  # the notice, the header and the root post
    section_label: str  # the plain text of section_html, such as "3 replies"
    replies: list[str] = field(default_factory=list)  # one table per reply
    more: str = ""  # the "Show more replies" link, or ""
    people: list[str] = field(default_factory=list)  # user id per cp-person:N
    avatars: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (display name, user id, mxc URI or None) per cp-avatar:N
    # post id per cp-post:ACTION/N link and per post_anchor(N) anchor
    posts: list[str] = field(default_factory=list)

    @property
    def section_html(self) -> str:
        return f'<p class="section">{self.section_label}</p>'

    @property
    def html(self) -> str:
        return "".join([self.head, self.section_html, *self.replies, self.more])


def post_anchor(index: int) -> str:
    """Return the anchor name of the post at index in ThreadHtml.posts."""
    return f"post-{index}"


class _Builder:
    def __init__(self):
        self.parts: list[str] = []
        self.people: list[str] = []
        self.avatars: list[tuple[str, str, str | None]] = []
        self._person_index: dict[str, int] = {}
        self._avatar_index: dict[str, int] = {}
        self.posts: list[str] = []
        self._post_index: dict[str, int] = {}

    def _index_of_post(self, post_id: str) -> int:
        index = self._post_index.get(post_id)
        if index is None:
            index = self._post_index[post_id] = len(self.posts)
            self.posts.append(post_id)
        return index

    def action_link(self, post_id: str, action: str, label: str) -> str:
        index = self._index_of_post(post_id)
        return f'<a href="{POST_SCHEME}:{action}/{index}">{html.escape(label)}</a>'

    def anchor(self, post_id: str) -> str:
        """Return an empty anchor named post_anchor(N), N as in cp-post links."""
        return f'<a name="{post_anchor(self._index_of_post(post_id))}"></a>'

    def person_link(self, user_id: str, name: str) -> str:
        index = self._person_index.get(user_id)
        if index is None:
            index = self._person_index[user_id] = len(self.people)
            self.people.append(user_id)
        text = html.escape(isolate(name))
        return f'<a class="author" href="{PERSON_SCHEME}:{index}">{text}</a>'

    def avatar(self, post: Post, name: str) -> str:
        index = self._avatar_index.get(post.sender)
        if index is None:
            index = self._avatar_index[post.sender] = len(self.avatars)
            self.avatars.append((name, post.sender, post.sender_avatar))
        return (
            f'<img src="{AVATAR_SCHEME}:{index}" width="{AVATAR_SIZE}" '
            f'height="{AVATAR_SIZE}">'
        )


PENDING_REACTION_TEXT = "sending…"


def _reactions_html(reactions: list[Reactions]) -> str:
    if not reactions:
        return ""
    chips = []
    for reaction in reactions:
        key = html.escape(clean_name(reaction.key, fallback="?"))
        background = theme.ACCENT_SOFT.name() if reaction.mine else "#f0f1f3"
        # A like still in the outbox is marked, as a pending post is.
        sending = f"&nbsp;<i>{PENDING_REACTION_TEXT}</i>" if reaction.pending else ""
        chips.append(
            f'<span style="background-color:{background};">'
            f"&nbsp;{key}&nbsp;{reaction.count:,}{sending}&nbsp;</span>"
        )
    return f'<p class="reactions">{"&nbsp;&nbsp;".join(chips)}</p>'


def _body_html(post: Post, title: str | None = None) -> str:
    """Return the post's safe HTML, without a leading heading equal to title.

    A discussion's formatted_body starts with its title as a heading for
    clients that show only the body (docs/formats.md), and a plain message's
    title is its first line. The thread view shows the title above the
    post, so the copy is dropped.
    """
    if post.redacted:
        if title is not None:
            return '<p class="notice">This discussion was deleted.</p>'
        return '<p class="notice">This post was deleted.</p>'
    body = post.body
    if title is not None and post.formatted_body is None:
        # A plain message from another client gets its first line as the
        # title, so the body starts after that line. A one-line message is
        # all title.
        first, _, rest = body.partition("\n")
        if first.strip() == title.strip():
            if not rest.strip():
                return ""
            body = rest.lstrip("\n")
    return _rendered_body(body, post.formatted_body, title)


# Every render of a thread shows all its replies again, and rendering Markdown
# and sanitising HTML took about a third of building a 100-reply thread.
@lru_cache(maxsize=4096)
def _rendered_body(body: str, formatted_body: str | None, title: str | None) -> str:
    rendered = body_to_html(body, formatted_body)
    if title is not None:
        rendered = _without_leading_heading(rendered, title)
    # Markdown ends a code block with a newline, which Qt shows as an empty
    # last line.
    rendered = rendered.replace("\n</code></pre>", "</code></pre>")
    return rendered or '<p class="notice">This post has no text.</p>'


_LEADING_HEADING = re.compile(r"\s*<h([1-6])>(?P<text>[^<]*)</h\1>\s*")


def _without_leading_heading(rendered: str, title: str) -> str:
    match = _LEADING_HEADING.match(rendered)
    if match and html.unescape(match["text"]).strip() == title.strip():
        return rendered[match.end() :]
    return rendered


def _status_html(builder: _Builder, post: Post, own: bool) -> str:
    """Return the send state of a post in the outbox, with its actions if failed."""
    if post.send_state == "pending":
        return '<p class="muted">Sending…</p>'
    if post.send_state != "failed":
        return ""
    reason = html.escape(post.send_error or "The server rejected it.")
    links = [builder.action_link(post.event_id, "retry", "Retry")]
    if own and not post.redacted:
        links.append(builder.action_link(post.event_id, "revise", "Edit"))
    links.append(builder.action_link(post.event_id, "discard", "Discard"))
    return (
        f'<p class="failed">⚠ Not sent: {reason}</p>'
        f'<p class="actions">{" · ".join(links)}</p>'
    )


def _actions_html(
    builder: _Builder,
    post: Post,
    reactions: list[Reactions],
    options: ThreadOptions,
    is_root: bool,
) -> str:
    """Return the Like, Quote, Edit, Delete and answer links of a post."""
    if options.user_id is None or post.redacted:
        return ""
    own = post.sender == options.user_id
    if post.send_state == "failed":
        # Retry, Edit and Discard replace the other links until it is sent.
        return _status_html(builder, post, own)
    liked = any(r.key == LIKE_KEY and r.mine for r in reactions)
    links = [
        builder.action_link(
            post.event_id,
            "unlike" if liked else "like",
            f"{LIKE_KEY} Liked" if liked else f"{LIKE_KEY} Like",
        ),
        builder.action_link(post.event_id, "quote", "Quote"),
    ]
    if own:
        links.append(builder.action_link(post.event_id, "edit", "Edit"))
        links.append(builder.action_link(post.event_id, "delete", "Delete"))
    if options.can_accept and not is_root:
        if post.event_id == options.accepted_reply_id:
            links.append(
                builder.action_link(post.event_id, "unaccept", "Unmark answer")
            )
        else:
            links.append(builder.action_link(post.event_id, "accept", "Mark as answer"))
    links.extend(_moderator_links(builder, post, options, own, is_root))
    status = _status_html(builder, post, own)
    return f'{status}<p class="actions">{" · ".join(links)}</p>'


def _moderator_links(
    builder: _Builder, post: Post, options: ThreadOptions, own: bool, is_root: bool
) -> list[str]:
    """Return Pin or Unpin for the discussion, and Remove post for others' posts."""
    # A post still in the outbox has no event id that a pin or a removal
    # could name.
    if not options.can_moderate or not post.event_id.startswith("$"):
        return []
    links = []
    if is_root:
        if options.pinned:
            links.append(builder.action_link(post.event_id, "unpin", "Unpin"))
        else:
            links.append(builder.action_link(post.event_id, "pin", "Pin to space home"))
    if not own:
        links.append(builder.action_link(post.event_id, "remove", "Remove post"))
    return links


def _post_html(
    builder: _Builder,
    post: Post,
    reactions: list[Reactions],
    reply_to_line: str = "",
    title: str | None = None,
    actions: str = "",
) -> str:
    name = person_name(post.sender_name, post.sender)
    meta = builder.anchor(post.event_id) + builder.person_link(post.sender, name)
    meta += f'&nbsp;&nbsp;<span class="muted">{html.escape(full_time(post.ts))}'
    if post.edited:
        meta += " · edited"
    meta += "</span>"
    return (
        '<table width="100%" cellspacing="0" cellpadding="0" style="margin-top:14px;">'
        f'<tr><td width="{AVATAR_SIZE + 12}" valign="top">'
        f"{builder.avatar(post, name)}</td>"
        f'<td valign="top">{reply_to_line}<p class="meta" dir="ltr">{meta}</p>'
        f"{_body_html(post, title)}{_reactions_html(reactions)}{actions}"
        "</td></tr></table>"
    )


def _header_html(summary: DiscussionSummary | None, root: Post) -> str:
    title = discussion_title(summary.title if summary else None, redacted=root.redacted)
    parts = []
    kind = summary.kind if summary else "discussion"
    if kind in KIND_LABELS:
        colour = KIND_COLOURS[kind].name()
        parts.append(
            f'<p style="margin-bottom:2px;"><span style="color:{colour}; '
            f'font-weight:600;">{KIND_LABELS[kind].upper()}</span></p>'
        )
    parts.append(f'<h1 class="title">{html.escape(title)}</h1>')
    if summary and summary.tags:
        tags = " ".join(f"#{clean_name(tag)}" for tag in summary.tags)
        parts.append(f'<p class="tags">{html.escape(tags)}</p>')
    return "".join(parts)


# A start or end tag. Attribute values are double-quoted in sanitised HTML and
# in the HTML built here, and may contain ">".
_TAG = re.compile(r'<(?:[^>"]|"[^"]*")*>')
# No-break spaces join words, so they count as part of a run.
_RUN_CHARACTER = r"(?:[^\s]|[\xa0\u2007\u202f])"
# The lookbehind lets a match start only where a run starts. Without it, a
# search also tried every position inside each shorter run, which took time
# quadratic in the run's length and most of the time of building a thread.
_LONG_RUN = re.compile(rf"(?<!{_RUN_CHARACTER}){_RUN_CHARACTER}{{{LONG_RUN + 1},}}")
_ZWJ = "\u200d"
# Characters that attach to the one before them: combining marks, format
# characters such as variation selectors, and emoji skin-tone modifiers.
_ATTACHED_CATEGORIES = {"Mn", "Mc", "Me", "Cf", "Sk"}


def break_long_runs(markup: str) -> str:
    """Insert SOFT_BREAK into long runs without a space in the text of markup.

    Only text between tags changes, so attributes such as a link's href keep
    their value.
    """
    if not _LONG_RUN.search(markup):
        return markup
    parts = []
    position = 0
    for tag in _TAG.finditer(markup):
        parts.append(_break_text(markup[position : tag.start()]))
        parts.append(tag.group())
        position = tag.end()
    parts.append(_break_text(markup[position:]))
    return "".join(parts)


# Words longer than this break in labels, every LABEL_BREAK_INTERVAL
# characters: a narrow form column fits about 25 wide letters.
LABEL_LONG_RUN = 24
LABEL_BREAK_INTERVAL = 16
_LABEL_LONG_RUN = re.compile(
    rf"(?<!{_RUN_CHARACTER}){_RUN_CHARACTER}{{{LABEL_LONG_RUN + 1},}}"
)


def break_long_words(text: str) -> str:
    """Return plain text for a narrow label, with soft breaks in long words."""
    return _LABEL_LONG_RUN.sub(
        lambda run: _break_run(run.group(), LABEL_BREAK_INTERVAL), text
    )


def _break_text(escaped: str) -> str:
    # An entity is longer than its character, so text without a long run
    # before unescaping has none after it either.
    if not _LONG_RUN.search(escaped):
        return escaped
    text = html.unescape(escaped)
    text = _LONG_RUN.sub(lambda run: _break_run(run.group()), text)
    return html.escape(text, quote=False)


def _break_run(run: str, interval: int = BREAK_INTERVAL) -> str:
    pieces = []
    start = 0
    while len(run) - start > interval:
        end = start + interval
        # A break moves up to one more interval to keep a character with the
        # marks attached to it, but a longer chain of marks is cut anyway.
        limit = min(start + 2 * interval, len(run))
        while end < limit and not _can_break_before(run, start, end):
            end += 1
        pieces.append(run[start:end])
        start = end
    pieces.append(run[start:])
    return SOFT_BREAK.join(piece for piece in pieces if piece)


def _can_break_before(run: str, start: int, index: int) -> bool:
    """Return whether a break before run[index] keeps clusters whole.

    start is where the current piece begins, a place where a cluster begins.
    """
    previous, following = run[index - 1], run[index]
    if previous == _ZWJ:
        return False
    if unicodedata.category(following) in _ATTACHED_CATEGORIES:
        return False
    if not _is_regional_indicator(following):
        return True
    # Regional indicators make flags in pairs, counted from the piece's start.
    indicators = 0
    position = index - 1
    while position >= start and _is_regional_indicator(run[position]):
        indicators += 1
        position -= 1
    return indicators % 2 == 0


def _is_regional_indicator(character: str) -> bool:
    return "\U0001f1e6" <= character <= "\U0001f1ff"


def build_thread_html(
    summary: DiscussionSummary | None,
    root: Post,
    replies: list[Post],
    reactions: dict[str, list[Reactions]],
    *,
    reply_count: int,
    has_more: bool = False,
    notice: str | None = None,
    options: ThreadOptions | None = None,
) -> ThreadHtml:
    """Return the HTML of a discussion with the given (first) replies.

    reply_count is the discussion's count of replies that are not deleted;
    has_more adds a link to show the next page of replies.
    """
    options = options or ThreadOptions()
    builder = _Builder()
    head = []
    if notice:
        head.append(f'<p class="notice">{html.escape(notice)}</p>')
    head.append(_header_html(summary, root))
    title = summary.title if summary else None
    root_reactions = reactions.get(root.event_id, [])
    root_actions = _actions_html(builder, root, root_reactions, options, True)
    head.append(
        _post_html(builder, root, root_reactions, title=title, actions=root_actions)
    )

    label = count_label(reply_count, "reply", "replies") if reply_count else None
    if root.redacted:
        # A deleted discussion shows its remaining replies only, under one
        # notice, not a "deleted" line for each.
        replies = [reply for reply in replies if not reply.redacted]
        if not replies:
            label = ""

    names = {root.event_id: person_name(root.sender_name, root.sender)}
    names.update(
        (reply.event_id, person_name(reply.sender_name, reply.sender))
        for reply in replies
    )
    reply_parts = []
    previous = root.event_id
    for reply in _accepted_first(replies, options.accepted_reply_id):
        line = ""
        target = reply.in_reply_to
        if reply.event_id == options.accepted_reply_id:
            line = '<p class="accepted">✓ Accepted answer</p>'
        elif target and target not in (previous, root.event_id) and target in names:
            quoted = html.escape(isolate(names[target]))
            line = f'<p class="reply-to" dir="ltr">↪ In reply to {quoted}</p>'
        reply_reactions = reactions.get(reply.event_id, [])
        actions = _actions_html(builder, reply, reply_reactions, options, False)
        reply_html = _post_html(builder, reply, reply_reactions, line, actions=actions)
        reply_parts.append(break_long_runs(reply_html))
        previous = reply.event_id

    more = ""
    if has_more:
        more = f'<p><a href="{MORE_REPLIES_URL}">Show more replies</a></p>'
    # break_long_runs changes only text between tags, and every part starts
    # and ends with a tag, so breaking each part alone gives the same HTML as
    # breaking the whole.
    return ThreadHtml(
        head=break_long_runs("".join(head)),
        section_label="No replies yet." if label is None else label,
        replies=reply_parts,
        more=more,
        people=builder.people,
        avatars=builder.avatars,
        posts=builder.posts,
    )


def _accepted_first(replies: list[Post], accepted_id: str | None) -> list[Post]:
    accepted = [reply for reply in replies if reply.event_id == accepted_id]
    return accepted + [reply for reply in replies if reply.event_id != accepted_id]
