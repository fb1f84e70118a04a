"""Pages from WARC files (web archives, Common Crawl's CC-NEWS), read with warcio as if fetched: an
index of a file's pages first, then each page read where the index says it is."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from ._fetch import HTML_TYPES, FetchedPage, FetchFailure


@dataclass
class WarcIndex:
    """Where a WARC file's pages are: {URL: byte offset of its record}, the first capture of each URL,
    in file order; and what in the file could not be read."""

    path: Path
    offsets: dict[str, int] = field(default_factory=dict)
    failures: list[FetchFailure] = field(default_factory=list)


def index_warc(path: str | Path) -> WarcIndex:
    """The response records of a WARC file (gzipped record by record, or not). A file damaged or cut
    off is read up to there, and the failure says where. ValueError when it cannot be opened."""
    index = WarcIndex(Path(path))
    try:
        stream = open(index.path, "rb")
    except OSError as exc:
        raise ValueError(f"{index.path}: cannot read the WARC file ({exc.strerror})") from None
    end = 0
    with stream:
        records = ArchiveIterator(stream)
        try:
            for record in records:
                url = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type == "response" and url:
                    index.offsets.setdefault(url, records.get_record_offset())
                records.read_to_end(record)
                end = records.get_record_offset() + records.get_record_length()
        except Exception as exc:  # warcio raises what its parsers raise on a damaged file
            index.failures.append(FetchFailure(f"{index.path.as_uri()}#{end}", f"{index.path.name}: damaged after "
                                               f"byte {end} ({type(exc).__name__}); the rest is unread"))
            return index
    if end < (size := os.path.getsize(index.path)):
        index.failures.append(FetchFailure(f"{index.path.as_uri()}#{end}", f"{index.path.name}: cut off after byte "
                                           f"{end} of {size}; the last record is unread"))
    return index


def read_archived(path: str | Path, offset: int, *, max_bytes: int = 5_000_000) -> FetchedPage | FetchFailure:
    """The page in the response record at ``offset``, or a failure saying why it is none: a redirect,
    an error status, not HTML, too big, truncated (in the archive, or by the file's end), or a record
    or file that cannot be read (moved since it was indexed, damaged)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(offset)
            return _page(next(iter(ArchiveIterator(stream))), max_bytes)
    except Exception as exc:  # warcio raises what its parsers raise on a damaged record
        return FetchFailure(f"{Path(path).as_uri()}#{offset}",
                            f"{Path(path).name}: the record at byte {offset} cannot be read ({type(exc).__name__})")


def _page(record, max_bytes: int) -> FetchedPage | FetchFailure:
    url = record.rec_headers.get_header("WARC-Target-URI")
    status = record.http_headers.get_statuscode() if record.http_headers else None
    if truncated := record.rec_headers.get_header("WARC-Truncated"):
        return FetchFailure(url, f"truncated in the archive ({truncated})")
    if status is None or not status.isdigit():
        return FetchFailure(url, "no HTTP response in the record")
    if status.startswith("3"):
        return FetchFailure(url, f"HTTP {status}: a redirect to {record.http_headers.get_header('Location')}, "
                                 "not a page")
    if status != "200":
        return FetchFailure(url, f"HTTP {status}")
    content_type = record.http_headers.get_header("Content-Type") or ""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type not in HTML_TYPES:
        return FetchFailure(url, f"not an HTML page ({media_type})")
    body = record.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        return FetchFailure(url, f"body too large: over {max_bytes} bytes")
    if getattr(record.raw_stream, "limit", 0):
        return FetchFailure(url, "truncated: the file ends inside this record")
    return FetchedPage(url, url, content_type, body)
