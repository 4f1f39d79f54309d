"""Untrusted HTML in, safe HTML out.

Ticket bodies come from customers and other systems; nh3 (ammonia) keeps a small set of
formatting tags and drops everything that can run script or load remote content.
"""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}

_BLOCK_END = re.compile(r"</(p|div|li|h[1-4]|tr|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


def sanitize_html(untrusted: str) -> str:
    return nh3.clean(
        untrusted,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(safe_html: str) -> str:
    """Plain text of already-sanitised HTML, for search, previews and text e-mail."""
    with_breaks = _BLOCK_END.sub("\n", safe_html)
    text = html.unescape(_TAG.sub("", with_breaks))
    return _BLANK_LINES.sub("\n\n", text).strip()


def text_to_html(text: str) -> str:
    """Escaped paragraphs for a plain-text body (nothing in it is ever markup)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
