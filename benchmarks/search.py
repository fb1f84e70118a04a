"""What full-text search costs on a large store: index build, store growth, query time.

    python benchmarks/search.py [--datasets ../shared/datasets] [--articles 100000] [--runs 5]

The store holds --articles generated articles: each a headline and 6 to 20 paragraphs drawn at
random from the development pages' article bodies (aeb-dev's ground truth) and the us-iran-talks
texts, dated over three years, from 40 sources, one in ten flagged. It is written at the schema
before the search index (migration 12), then opened by newswatch, which migrates it:
  - index build: the seconds that migration 13 (FTS5 over headlines and texts) takes;
  - store growth: the file's size before and after (WAL checkpointed, both);
  - queries: a set of words, phrases, boolean and prefix queries, some with filters, each run
    --runs times through Store.search (20 best, snippets included): median and 90th percentile;
  - baseline, measured in the same run: the same single-word queries as a scan without the
    index (`text like '%word%'`, the only way to find a word before it), and the ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlite_utils  # noqa: E402

from storage import Filters, Store  # noqa: E402
from storage._schema import MIGRATIONS  # noqa: E402

QUERIES = [
    ("one common word", "iran", None),
    ("one rarer word", "vienna", None),
    ("two words", "nuclear talks", None),
    ("a phrase", '"supreme leader"', None),
    ("OR", "khamenei OR vienna", None),
    ("NOT", "sanctions NOT oil", None),
    ("prefix", "negotiat*", None),
    ("word, flagged only", "iran", Filters(flagged=True)),
    ("word, one source", "president", Filters(sources=("Source 7",))),
    ("word, one month", "election", Filters(since=date(2025, 3, 1), until=date(2025, 3, 31))),
]
SCAN_WORDS = {"one common word": "iran", "one rarer word": "vienna"}


def paragraphs(datasets: Path) -> tuple[list[str], list[str]]:
    """(paragraphs, headlines) of the development pages' bodies and the labelled texts."""
    bodies = [item["articleBody"] for item in json.loads((datasets / "aeb-dev" / "ground-truth.json").read_text())
              .values()]
    labeled = [json.loads(line) for line in (datasets / "us-iran-talks-dev" / "labeled.jsonl").open()]
    pool = [p for body in bodies + [item["text"] for item in labeled] for p in body.split("\n") if len(p) > 40]
    return pool, [item["title"] for item in labeled if item.get("title")]


def write_old_store(path: Path, count: int, pool: list[str], headlines: list[str]) -> None:
    """A store at schema 12 (before the index) holding ``count`` generated articles."""
    rng = random.Random(7)
    db = sqlite_utils.Database(path)
    db["schema_migrations"].create({"version": int, "name": str, "applied_at": str}, pk="version")
    for version, name, apply in MIGRATIONS[:-1]:
        apply(db)
        db["schema_migrations"].insert({"version": version, "name": name, "applied_at": "benchmark"})
    from storage._neardup import SCHEME

    db.execute("insert into neardup_scheme (scheme) values (?)", [SCHEME])  # no signatures to rebuild
    first = date(2023, 1, 1)
    with db.conn:
        for start in range(0, count, 5000):
            rows, stories = [], []
            for n in range(start, min(start + 5000, count)):
                day = (first + timedelta(days=rng.randrange(3 * 365))).isoformat()
                text = "\n".join(rng.sample(pool, rng.randint(6, 20)))
                url = f"https://outlet{n % 40}.example/{n}"
                stories.append((n + 1, url, day))
                rows.append((n + 1, url, url, f"{rng.choice(headlines)} ({n})", text, str(n), day, "en",
                             f"Source {n % 40}", n + 1, int(n % 10 == 0), day))
            db.conn.executemany("insert into stories (id, first_url, first_seen, flagged) values (?, ?, ?, 0)",
                                stories)
            db.conn.executemany("insert into articles (id, url, canonical_url, title, text, text_hash, published, "
                                "language, source, story_id, flagged, fetched_at) values "
                                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("pragma wal_checkpoint(truncate)")
    db.close()


def size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pool, headlines = paragraphs(args.datasets)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "news.db"
        started = time.perf_counter()
        write_old_store(path, args.articles, pool, headlines)
        before = size_mb(path)
        print(f"{args.articles} articles from {len(pool)} paragraphs written in {time.perf_counter() - started:.0f} s; "
              f"store {before:.0f} MB")
        started = time.perf_counter()
        with Store(path) as store:
            build = time.perf_counter() - started
            store.db.execute("pragma wal_checkpoint(truncate)")
            after = size_mb(path)
            print(f"index build (migration 13): {build:.1f} s; store {before:.0f} → {after:.0f} MB "
                  f"(+{after - before:.0f} MB, +{100 * (after - before) / before:.0f}%)")
            medians = {}
            print(f"\n{'query':<22} {'text':<20} {'hits':>6} {'median ms':>10} {'p90 ms':>8}  ranked")
            for name, query, filters in QUERIES:
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    hits = store.search(query, filters, limit=20)
                    times.append(1000 * (time.perf_counter() - started))
                (matches,) = store.db.execute("select count(*) from articles_fts where articles_fts match ?",
                                              [query]).fetchone()
                medians[name] = statistics.median(times)
                print(f"{name:<22} {query:<20} {matches:>6} {medians[name]:>10.1f} "
                      f"{statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]:>8.1f}  "
                      f"{hits.ranked or 'all'}")
                assert hits, f"no hit for {query}"
            every = sorted(medians.values())
            print(f"\nall queries: median {statistics.median(every):.1f} ms, slowest {every[-1]:.1f} ms")
            for name, word in SCAN_WORDS.items():
                started = time.perf_counter()
                store.db.execute("select id from articles where title like ? or text like ? limit 20",
                                 [f"%{word}%"] * 2).fetchall()
                scan = 1000 * (time.perf_counter() - started)
                started = time.perf_counter()
                store.db.execute("select count(*) from articles where title like ? or text like ?",
                                 [f"%{word}%"] * 2).fetchall()
                full = 1000 * (time.perf_counter() - started)
                print(f"baseline scan for {word!r}: first 20 in {scan:.1f} ms, every match (unranked) in {full:.0f} ms;"
                      f" ranked search {medians[name]:.1f} ms ({full / medians[name]:.0f}x faster than the full scan)")


if __name__ == "__main__":
    main()
