"""Deduplication quality and cost: same-story recall and false merges, and time per article to
check and insert as the store grows.

    python benchmarks/dedup.py [--datasets ../shared/datasets] [--sizes 10000 100000 1000000]

Quality: every aeb-dev article of 3+ paragraphs and 120+ words, and syndicated variants of it
(made here with a fixed seed): other page chrome, a new headline, the first or last paragraph
dropped, a paragraph added, 3% of words edited, an "Updated at" line, and combinations. Each
variant must join its original's story; no two originals, and no two different articles on the
same topic (the seed documents), may merge.
Scale: the store is filled with fabricated articles (random signatures and band keys, as many
as real ones would have) up to each size; then 300 new articles of 250 words are checked and
inserted through Store.save_article, and the mean time per article is printed with peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seeds  # noqa: E402
from detectors import Detection  # noqa: E402
from extractors import Article  # noqa: E402
from storage import Store  # noqa: E402
from storage import _neardup  # noqa: E402

QUIET = Detection("us-iran-talks", False, 0.0)


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n") if p.strip()]


def variants(text: str, other: str, rng: random.Random) -> dict[str, str]:
    def edit(t: str, share: float = 0.03) -> str:
        words = t.split(" ")
        for i in rng.sample(range(len(words)), max(1, int(len(words) * share))):
            words[i] = rng.choice(["said", "reported", "officials", "the", "on Monday"])
        return " ".join(words)

    parts = paragraphs(text)
    return {
        "other chrome": "Share this article\n" + text + "\nPhoto: Reuters / File",
        "new headline": text,  # the headline is a field of its own; the text is the same
        "first paragraph dropped": "\n".join(parts[1:]),
        "last paragraph dropped": "\n".join(parts[:-1]),
        "paragraph added": text + "\n" + paragraphs(other)[0],
        "words edited": edit(text),
        "updated line": "Updated at 14:32 GMT, November 19\n" + text,
        "dropped, edited, updated": "Updated 2 hours ago\n" + edit("\n".join(parts[1:-1])),
    }


def quality(datasets: Path) -> None:
    truth = json.loads((datasets / "aeb-dev" / "ground-truth.json").read_text())
    texts = [item["articleBody"] for item in truth.values()
             if len(item["articleBody"].split()) >= 120 and len(paragraphs(item["articleBody"])) >= 3]
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "dedup.db") as store:
        originals = [store.save_article(Article(url=f"https://orig.example/{i}", canonical_url=None, title="t",
                                                text=text), QUIET, source="Original")
                     for i, text in enumerate(texts)]
        seed_texts = [(seeds.DOCUMENTS_DIR / name).read_text() for name in sorted(
            p.name for p in seeds.DOCUMENTS_DIR.glob("*.txt"))]
        same_topic = [store.save_article(Article(url=f"https://topic.example/{i}", canonical_url=None, title="t",
                                                 text=text), QUIET, source="Topic")
                      for i, text in enumerate(seed_texts)]
        false_merges = sum(saved.status != "new" for saved in originals + same_topic)
        found, missed = 0, []
        by_kind: dict[str, list[int]] = {}
        for i, (text, original) in enumerate(zip(texts, originals, strict=True)):
            for kind, variant in variants(text, texts[(i + 1) % len(texts)], rng).items():
                saved = store.save_article(Article(url=f"https://copy.example/{i}/{kind}", canonical_url=None,
                                                   title="t", text=variant), QUIET, source="Copy")
                hit = saved.story_id == original.story_id
                found += hit
                by_kind.setdefault(kind, []).append(hit)
                if not hit:
                    missed.append((i, kind))
    total = sum(len(v) for v in by_kind.values())
    print(f"same-story recall {found / total:.3f} ({found}/{total} variants); "
          f"false merges {false_merges} among {len(originals) + len(same_topic)} distinct articles")
    for kind, hits in by_kind.items():
        print(f"  {kind:<26} {sum(hits)}/{len(hits)}")
    for i, kind in missed[:10]:
        print(f"  missed: article {i}, {kind}")


VOCABULARY = [f"w{n}" for n in range(5000)]


def synthetic_text(rng: random.Random, words: int = 250) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(words))


def fill(store: Store, start: int, stop: int, rng: random.Random) -> None:
    """Fabricate stored articles start..stop: rows, signatures and band keys as real ones have."""
    if not store.db["stories"].count:
        store.db["stories"].insert({"id": 1, "first_url": "x", "first_seen": "now", "flagged": 0})
    batch = 20_000
    for low in range(start, stop, batch):
        ids = range(low + 1, min(stop, low + batch) + 1)
        with store.db.conn:
            store.db.conn.executemany(
                "insert into articles (id, url, text, text_hash, source, story_id, flagged, fetched_at) "
                "values (?, ?, 'x', ?, 'Fill', 1, 0, 'now')",
                [(i, f"https://fill.example/{i}", f"{rng.getrandbits(64):016x}") for i in ids])
            signatures = [(i, rng.randbytes(_neardup.NUM_PERM * 4)) for i in ids]
            store.db.conn.executemany("insert into minhash (article_id, signature) values (?, ?)", signatures)
            store.db.conn.executemany("insert into lsh_buckets (bucket, article_id) values (?, ?)",
                                      ((key, i) for i, sig in signatures for key in _neardup.band_keys(sig)))


def scale(sizes: list[int]) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "scale.db") as store:
        stored = 0
        for size in sizes:
            started = time.perf_counter()
            fill(store, stored, size, rng)
            stored = size
            filled = time.perf_counter() - started
            new = [Article(url=f"https://new.example/{size}/{i}", canonical_url=None, title="t",
                           text=synthetic_text(rng)) for i in range(300)]
            started = time.perf_counter()
            for article in new:
                store.save_article(article, QUIET, source="New")
            per_article = (time.perf_counter() - started) / len(new) * 1000
            stored += len(new)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{size:>9,} stored: {per_article:6.2f} ms per article to check and insert "
                  f"(filled in {filled:.0f} s); peak RSS {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    quality(args.datasets)
    scale(args.sizes)


if __name__ == "__main__":
    main()
