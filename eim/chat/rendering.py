"""The safe markdown subset messages are written in.

Raw HTML is never passed through; links are limited to http(s) and mailto; the output is
sanitised once more with nh3 so that a parser bug cannot become an XSS.
"""

import re
from html import escape

import nh3
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
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
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")

_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})
    .disable(
        ["image", "heading", "lheading", "hr", "table", "html_block", "html_inline"],
        ignoreInvalid=True,
    )
    .enable("strikethrough")
)


def mentioned_usernames(body: str) -> set[str]:
    return set(MENTION.findall(body))


def _mark_mentions(html: str, usernames: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in usernames:
            return match.group(0)
        return f'<span class="mention" data-user="{escape(name)}">@{escape(name)}</span>'

    return MENTION.sub(replace, html)


def render_body(body: str, *, mentioned: set[str] | frozenset[str] = frozenset()) -> str:
    html = _markdown.render(body)
    if mentioned:
        html = _mark_mentions(html, set(mentioned))
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_SAFE_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()
