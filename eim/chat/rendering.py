"""The safe markdown subset messages are written in.

Raw HTML is never passed through; links are limited to http(s) and mailto; the output is
sanitised once more with nh3 so that a parser bug cannot become an XSS. Plain URLs become
links (linkify-it, with a scheme only: "example.com" stays text), and every link opens in a
new tab without telling the target where it came from.
"""

import re
from collections.abc import Iterator
from html import escape

import nh3
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "s",  # markdown-it renders ~~strike~~ as <s>
    "del",
    "code",
    "pre",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "span",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class", "data-user"}}
_SAFE_SCHEMES = {"http", "https", "mailto"}
# A username may contain dots but a mention does not end with one: "thanks @bob." means bob.
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{0,149}[\w+-])")
_TAG = re.compile(r"<(/?)([a-z0-9]+)[^>]*>")
# A mention inside a link or code is text the author quoted, not someone to notify.
_NO_MENTIONS_INSIDE = {"a", "code", "pre"}


def _parser(*, linkify: bool) -> MarkdownIt:
    parser = (
        MarkdownIt("commonmark", {"html": False, "linkify": linkify, "breaks": True})
        .disable(
            ["image", "heading", "lheading", "hr", "table", "html_block", "html_inline"],
            ignoreInvalid=True,
        )
        .enable(["strikethrough", "linkify"] if linkify else ["strikethrough"])
    )
    if linkify:
        # Only what a person would click: http(s) and mailto with their scheme written out.
        links = parser.linkify
        assert links is not None  # linkify-it-py is installed
        links.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
        for schema in ("ftp:", "//"):
            links.add(schema, None)
    return parser


_plain_markdown = _parser(linkify=False)
_linking_markdown = _parser(linkify=True)
# Linkify looks at every piece of text (40 -> 70 us a message); most messages hold no URL.
_MAY_HOLD_A_LINK = re.compile(r"https?://|mailto:", re.IGNORECASE)


def _render(body: str) -> str:
    parser = _linking_markdown if _MAY_HOLD_A_LINK.search(body) else _plain_markdown
    return parser.render(body)


def _mentionable_pieces(html: str) -> Iterator[tuple[str, bool]]:
    """The rendered HTML in order, each piece marked whether a mention may appear in it.

    Only text outside tags, links and code counts: a mention marked inside an attribute
    would break the tag, one inside code would change what the author quoted.
    """
    inside = 0
    position = 0
    for tag in _TAG.finditer(html):
        yield html[position : tag.start()], inside == 0
        yield tag.group(0), False
        if tag.group(2) in _NO_MENTIONS_INSIDE:
            inside = max(0, inside + (-1 if tag.group(1) else 1))
        position = tag.end()
    yield html[position:], inside == 0


def mentioned_usernames(body: str) -> set[str]:
    if "@" not in body:
        return set()  # most messages: no need to render them to find out
    html = _render(body)
    return {
        name
        for piece, mentionable in _mentionable_pieces(html)
        if mentionable
        for name in MENTION.findall(piece)
    }


def _mark_mentions(html: str, usernames: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in usernames:
            return match.group(0)
        return f'<span class="mention" data-user="{escape(name)}">@{escape(name)}</span>'

    return "".join(
        MENTION.sub(replace, piece) if mentionable else piece
        for piece, mentionable in _mentionable_pieces(html)
    )


def render_body(body: str, *, mentioned: set[str] | frozenset[str] = frozenset()) -> str:
    html = _render(body)
    if mentioned:
        html = _mark_mentions(html, set(mentioned))
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_SAFE_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    ).strip()
