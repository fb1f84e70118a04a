"""A page's title, author, date and site name, by trafilatura's metadata extraction.

trafilatura's ``extract_metadata`` also looks for categories, tags and a licence, which an Article
has no field for: an eighth of newswatch's extraction work on news pages (see the README's
performance section). These are its steps for the fields an Article keeps, in its order; a test
compares the two on every field kept, so that an upgrade of trafilatura that changes them shows.
"""

from __future__ import annotations

import logging

from htmldate import find_date
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import DEFAULT_CONFIG, Document, set_date_params

_EXTENSIVE_DATE_SEARCH = DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH")
_logger = logging.getLogger(__name__)


def page_metadata(tree, url: str | None) -> Document:
    """The metadata trafilatura's ``bare_extraction(..., with_metadata=True)`` gives of ``tree``:
    title, author, url, date and site name (not categories, tags or licence)."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as error:  # noqa: BLE001 - as trafilatura does: its JSON-LD parser has bugs
        _logger.warning("error in JSON metadata extraction: %s", error)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or extract_author(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    # Per page: the parameters hold today's date, the latest a page may carry.
    metadata.date = find_date(tree, **set_date_params(_EXTENSIVE_DATE_SEARCH), url=metadata.url)
    metadata.sitename = metadata.sitename or extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")  # a Twitter handle
        if metadata.sitename and "." not in metadata.sitename and not metadata.sitename[0].isupper():
            metadata.sitename = metadata.sitename.title()
    elif metadata.url and (match := META_URL.match(metadata.url)):
        metadata.sitename = match[1]
    metadata.clean_and_trim()  # entities, spaces and control characters, as trafilatura's last step
    return metadata
