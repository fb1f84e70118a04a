"""Posts from social networks that an article embeds, kept as the article's text.

An embedded post is what the story quotes ("the minister wrote on X: ..."). Sites wrap it in
containers named for what they are ("social-media-embed", "tweet-widget"), and trafilatura discards
such containers as share bars; the post itself is a <blockquote>, which trafilatura keeps as a quote.
"""

from __future__ import annotations

from lxml import html as lxml_html

# The <blockquote> each network's embed code puts the post's text in, before its script replaces it.
_POSTS = ("//blockquote[contains(@class, 'twitter-tweet') or contains(@class, 'instagram-media')"
          " or contains(@class, 'tiktok-embed') or contains(@class, 'bluesky-embed')]")
# Past these the wrapper is the page's or the story's own container, not the embed's.
_CONTAINERS = {"article", "main", "body", "html"}


def unwrap_embedded_posts(tree: lxml_html.HtmlElement) -> None:
    """Put each embedded post in place of the wrappers that hold nothing but it, in place."""
    for post in tree.xpath(_POSTS):
        text = "".join(post.text_content().split())
        wrapper = post
        for parent in post.iterancestors():
            if parent.tag in _CONTAINERS or "".join(parent.text_content().split()) != text:
                break
            wrapper = parent
        if wrapper is not post:
            post.tail = wrapper.tail
            wrapper.getparent().replace(wrapper, post)
