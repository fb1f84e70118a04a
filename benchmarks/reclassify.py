"""What re-detecting a store costs after the topics changed (`newswatch reclassify`), against
detection alone over the same texts, measured in the same run.

    python benchmarks/reclassify.py [--datasets ../shared/datasets] [--copies 20]

The store holds every article of the us-iran-talks development set, --copies times over (each copy
its own story: other URL, a number in its text; every other copy with Iran's names made
Venezuela's), stored with the seeds' topic. Then a second topic
is added (seeds/us-venezuela-topics.toml: the seeds' topic extended to the US and Venezuela):
  (a) detect_each with both topics over the same texts, in memory: the baseline;
  (b) pipeline.reclassify over the store: reading each article, detecting it, replacing its topics
      and moving its story's state in SQLite, a transaction per batch.
Printed: articles, seconds of each, the ratio b/a (the store's share of the cost), articles per
second of (b), and what (b) found: stories newly flagged and state changes recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seeds  # noqa: E402
from detectors import detect_each, identify_language, load_topics  # noqa: E402
from extractors import Article  # noqa: E402
from pipeline import load_settings, prepare_run, reclassify  # noqa: E402
from storage import Store  # noqa: E402

# Every other copy moves its story to Venezuela, so that the second topic has stories to flag.
_TO_VENEZUELA = {"Iranians": "Venezuelans", "Iranian": "Venezuelan", "Iran": "Venezuela", "Tehran": "Caracas"}


def _moved(text: str, copy: int) -> str:
    if copy % 2 == 0:
        return text
    for old, new in _TO_VENEZUELA.items():
        text = text.replace(old, new)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    labeled = args.datasets / "us-iran-talks-dev" / "labeled.jsonl"
    rows = [json.loads(line) for line in labeled.read_text().splitlines()]
    texts = [(_moved(row.get("title") or "", copy), f"{_moved(row['text'], copy)} (copy {copy})")
             for copy in range(args.copies) for row in rows]
    # Each article's language, as extraction stores it: what reclassify detects it in.
    languages = [identify_language(f"{title}\n{text}") for title, text in texts]
    first_topics = load_topics(seeds.TOPICS_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "news.db")
        with Store(db) as store, store.batch():
            for number, ((title, text), language) in enumerate(zip(texts, languages, strict=True)):
                store.save_article(Article(url=f"https://bench.example/{number}", canonical_url=None, title=title,
                                           text=text, language=language),
                                   detect_each(first_topics, title=title, text=text, second_opinion=False,
                                               language=language), source="bench")
        both = load_topics(seeds.EXAMPLE_TOPICS_FILE)
        started = time.perf_counter()
        for (title, text), language in zip(texts, languages, strict=True):
            detect_each(both, title=title, text=text, language=language)
        detect_seconds = time.perf_counter() - started

        run = replace(prepare_run(load_settings(db_path=db), alert_mode="none", reads_sources=False), topics=both)
        with Store(db) as store:
            started = time.perf_counter()
            result = reclassify(store, run)
            reclassify_seconds = time.perf_counter() - started
    print(f"articles: {len(texts)} ({len(rows)} development articles x {args.copies})")
    print(f"(a) detection alone, two topics: {detect_seconds:.2f} s")
    print(f"(b) reclassify over the store:   {reclassify_seconds:.2f} s  "
          f"({reclassify_seconds / detect_seconds:.2f}x (a); {len(texts) / reclassify_seconds:.0f} articles/s)")
    print(f"found: {result.newly_flagged} stories newly flagged, {result.state_changes} state changes recorded")


if __name__ == "__main__":
    main()
