"""The safe markdown subset of message bodies, and what it must never let through."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from eim.chat.rendering import mentioned_usernames, render_body

SAFE_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "s",
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
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def _executable(html: str) -> list[str]:
    """What in `html` could run script: unknown tags, event handlers, unsafe link schemes."""
    found = [f"<{tag}>" for tag, _ in _elements(html) if tag not in SAFE_TAGS]
    found += [
        f"{tag} {name}"
        for tag, attrs in _elements(html)
        for name in attrs
        if name.startswith("on") or name in {"style", "src", "srcdoc", "formaction"}
    ]
    found += [
        f"href={attrs['href']}"
        for _, attrs in _elements(html)
        if "href" in attrs
        and urlsplit((attrs["href"] or "").strip()).scheme.lower() not in SAFE_SCHEMES
    ]
    return found


# --- the subset ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("plain words", "<p>plain words</p>"),
        ("**bold** and *italic*", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("~~struck~~", "<p><s>struck</s></p>"),
        ("`x < y`", "<p><code>x &lt; y</code></p>"),
        ("```\nif a < b:\n    pass\n```", "<pre><code>if a &lt; b:\n    pass\n</code></pre>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        (
            "[docs](https://example.com/a?b=1&c=2)",
            '<p><a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
            'rel="noopener noreferrer nofollow">docs</a></p>',
        ),
        (
            "[mail](mailto:desk@example.com)",
            '<p><a href="mailto:desk@example.com" target="_blank" '
            'rel="noopener noreferrer nofollow">mail</a></p>',
        ),
    ],
    ids=[
        "text",
        "emphasis",
        "strike",
        "code",
        "fence",
        "bullets",
        "numbers",
        "quote",
        "breaks",
        "https-link",
        "mailto-link",
    ],
)
def test_the_markdown_subset(body, html):
    assert render_body(body) == html


@pytest.mark.parametrize(
    "body",
    ["# Heading", "Title\n=====", "---", "![chart](https://example.com/c.png)", "| a |\n|---|"],
    ids=["heading", "setext-heading", "rule", "image", "table"],
)
def test_markdown_outside_the_subset_renders_as_text(body):
    html = render_body(body)

    assert {tag for tag, _ in _elements(html)} <= {"p", "a", "br"}
    assert "<img" not in html
    assert "<h1" not in html


@pytest.mark.parametrize(
    ("body", "href"),
    [
        ("see https://example.com/a?b=1 ok", "https://example.com/a?b=1"),
        ("http://intranet.example/x.", "http://intranet.example/x"),
        ("write to mailto:desk@example.com", "mailto:desk@example.com"),
    ],
)
def test_a_plain_url_with_a_safe_scheme_becomes_a_link(body, href):
    links = [attrs for tag, attrs in _elements(render_body(body)) if tag == "a"]

    assert links == [{"href": href, "target": "_blank", "rel": "noopener noreferrer nofollow"}]


@pytest.mark.parametrize(
    "body",
    [
        "example.com",
        "www.example.com",
        "desk@example.com",
        "ftp://example.com/f",
        "//example.com/x",
        "javascript:alert(1)",
        "data:text/html,x",
        "`https://example.com`",
    ],
)
def test_anything_else_that_looks_like_a_url_stays_text(body):
    assert "<a" not in render_body(body)


# --- XSS -------------------------------------------------------------------------------------


XSS_BODIES = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<svg onload="alert(1)">',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript&#x3A;alert(1))",
    "[click](java&#x09;script:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](data:text/html,<script>alert(1)</script>)",
    "[click](file:///etc/passwd)",
    '[click](https://example.com "a\\" onmouseover=\\"alert(1)")',
    '[click](https://example.com" onmouseover="alert(1))',
    "<javascript:alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "**<img src=x onerror=alert(1)>**",
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "![x](javascript:alert(1))",
    '<span class="mention" data-user="x" onclick="alert(1)">@x</span>',
    "<!-- --><script>alert(1)</script>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
]


@pytest.mark.parametrize("body", XSS_BODIES)
def test_nothing_executable_comes_out(body):
    html = render_body(body)

    assert _executable(html) == []
    assert "<script" not in html.lower()


@pytest.mark.parametrize("body", XSS_BODIES)
def test_nothing_executable_comes_out_with_mentions_marked(body):
    html = render_body(f"@alice {body} @alice", mentioned={"alice"})

    assert _executable(html) == []
    assert "<script" not in html.lower()


def test_raw_html_is_shown_as_text():
    assert render_body("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"


def test_a_javascript_link_keeps_its_text_but_loses_its_link():
    html = render_body("[click](javascript:alert(1))")

    assert "click" in html
    assert "<a" not in html


def test_every_link_is_nofollow_noopener():
    html = render_body("[a](https://example.com) and [b](http://example.org)")

    rels = [attrs.get("rel") for tag, attrs in _elements(html) if tag == "a"]
    assert rels == ["noopener noreferrer nofollow", "noopener noreferrer nofollow"]


# --- mentions --------------------------------------------------------------------------------


def test_a_mention_of_a_member_is_wrapped_in_a_span():
    html = render_body("hi @bob", mentioned={"bob"})

    assert html == '<p>hi <span class="mention" data-user="bob">@bob</span></p>'


def test_a_mention_of_someone_else_stays_text():
    html = render_body("hi @bob and @mallory", mentioned={"bob"})

    assert html == '<p>hi <span class="mention" data-user="bob">@bob</span> and @mallory</p>'


def test_without_members_no_mention_is_wrapped():
    assert render_body("hi @bob") == "<p>hi @bob</p>"


def test_an_email_address_is_not_a_mention():
    assert render_body("write to desk@bob", mentioned={"bob"}) == "<p>write to desk@bob</p>"


def test_a_mention_inside_a_link_leaves_the_link_intact():
    html = render_body("[profile](https://example.com/@bob)", mentioned={"bob"})

    assert html == (
        '<p><a href="https://example.com/@bob" target="_blank" '
        'rel="noopener noreferrer nofollow">profile</a></p>'
    )


def test_a_mention_inside_code_stays_code():
    html = render_body("`@bob` and\n```\n@bob\n```", mentioned={"bob"})

    assert "mention" not in html
    assert "<code>@bob</code>" in html


def test_a_mention_at_the_end_of_a_sentence_is_marked_without_the_full_stop():
    html = render_body("over to you @bob.", mentioned={"bob"})

    assert html == '<p>over to you <span class="mention" data-user="bob">@bob</span>.</p>'


def test_a_mention_in_emphasis_is_marked():
    html = render_body("**@bob**", mentioned={"bob"})

    assert html == '<p><strong><span class="mention" data-user="bob">@bob</span></strong></p>'


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("@alice and @bob", {"alice", "bob"}),
        ("thanks @alice.", {"alice"}),
        ("(@alice), @bob!", {"alice", "bob"}),
        ("@first.last", {"first.last"}),
        ("mail desk@alice", set()),
        ("`@alice`", set()),
        ("[@alice](https://example.com/@bob)", set()),
        ("@@alice", set()),
    ],
    ids=["two", "full-stop", "punctuation", "dotted", "email", "code", "link", "double-at"],
)
def test_mentioned_usernames(body, names):
    assert mentioned_usernames(body) == names
