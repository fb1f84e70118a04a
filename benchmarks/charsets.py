"""Pages in a legacy charset: how many articles come out as they would from the UTF-8 page.

    python benchmarks/charsets.py [--datasets ../shared/datasets] [--charsets windows-1252 windows-1256]

Every dev page (aeb-dev, snippets-dev) that is UTF-8 loses its own charset declaration and is
encoded in each charset, where it can be and has something outside ASCII, with the charset declared
in the page (<meta charset>), only in the HTTP header, or nowhere. An article counts as right when
its text equals the one extracted from the UTF-8 page by the same extractor: trafilatura alone
(which reads no HTTP header) against newswatch's extractor given the header.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from extractors import ExtractionError, extract_article  # noqa: E402

DECLARATION = re.compile(r"<meta[^>]+charset[^>]*>", re.IGNORECASE)
HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
PLACES = ("in the page", "in the header only", "nowhere")


def utf8_pages(datasets: Path):
    """The dev pages that are UTF-8 and have a <head>, without their charset declaration."""
    for folder in (datasets / "aeb-dev" / "html", datasets / "snippets-dev" / "pages"):
        for path in sorted(folder.iterdir()):
            raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            try:
                page = DECLARATION.sub("", raw.decode("utf-8"))
            except UnicodeDecodeError:
                continue
            if HEAD.search(page):
                yield page


def trafilatura_alone(body: bytes, content_type: str) -> str:
    return trafilatura.extract(body, include_comments=False) or ""


def newswatch(body: bytes, content_type: str) -> str:
    try:
        return extract_article(body, content_type=content_type).text
    except ExtractionError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--charsets", nargs="+", default=["windows-1252", "windows-1256"])
    args = parser.parse_args()
    pages = list(utf8_pages(args.datasets))
    extractors = {"trafilatura alone": trafilatura_alone, "newswatch": newswatch}
    print(f"{len(pages)} UTF-8 dev pages\n")
    print("| charset | declared | pages | " + " | ".join(f"{name}: right" for name in extractors) + " |")
    print("|---|---|---|" + "---|" * len(extractors))
    for charset in args.charsets:
        tested = []
        for page in pages:
            try:
                encoded = page.encode(charset)
            except UnicodeEncodeError:
                continue
            if encoded.isascii():
                continue  # the same bytes in every charset: nothing to test
            head = HEAD.search(page)
            declared = (page[:head.end()] + f'<meta charset="{charset}">' + page[head.end():]).encode(charset)
            utf8 = {name: extract(page.encode("utf-8"), "text/html; charset=utf-8")
                    for name, extract in extractors.items()}
            tested.append((utf8, declared, encoded))
        for place in PLACES:
            right = {name: 0 for name in extractors}
            for utf8, declared, undeclared in tested:
                body = declared if place == "in the page" else undeclared
                content_type = f"text/html; charset={charset}" if place == "in the header only" else "text/html"
                for name, extract in extractors.items():
                    right[name] += extract(body, content_type) == utf8[name]
            print(f"| {charset} | {place} | {len(tested)} | " + " | ".join(str(n) for n in right.values()) + " |")


if __name__ == "__main__":
    main()
