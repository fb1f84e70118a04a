"""Detector quality and speed: precision, recall and F1 of `detectors` on labelled sets, and time per
1,000 words against trafilatura's extraction of real pages, measured in the same run.

    python benchmarks/detector.py [--datasets ../shared/datasets] [--show-errors] [--semantic]

Sets: the development set (us-iran-talks-dev/labeled.jsonl: real headlines and news text, 2004–2022)
and newswatch's own cases in tests/data/ (us_iran_cases: written and tuned with the rules;
us_iran_blind*: each written after a round of rule changes and scored before the next round). Each
other language has its own table (tests/data/languages/<code>_dev.jsonl, tuned on, and
<code>_blind*.jsonl, each written before a round of tuning and never tuned on), detected in the
language identified from each text, and its own speed.
newswatch's detector is the rules with the semantic second opinion its topic asks for (needs
newswatch[semantic]); the rules alone are scored beside it. --semantic also scores the semantic
scorer alone. "state right" counts, among the flagged positives whose rows list the states a reader
could give them ("states", the likeliest first), those whose state is one of them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

import seeds  # noqa: E402
from detectors import detect_topics, identify_language, load_topics, semantic_detect_topics  # noqa: E402

LANGUAGE_SETS = ROOT / "tests" / "data" / "languages"
# Every blind batch in tests/data, in the order written (us_iran_blind, then 2, 3, ...): a new one is read as it lands.
OWN_SETS = ["us_iran_cases"] + sorted((path.stem for path in (ROOT / "tests" / "data").glob("us_iran_blind*.jsonl")),
                                      key=lambda name: int(name.removeprefix("us_iran_blind") or 1))


def score(rows: list[dict], topics, detect=detect_topics) -> tuple[dict, list[tuple[str, dict, object]]]:
    tp = fp = fn = states_right = states_labelled = 0
    errors = []
    for row in rows:
        detection = detect(topics, title=row.get("title"), text=row["text"])
        if detection.flagged and row["label"]:
            tp += 1
            if "states" in row:  # the states a reader could give the article, the likeliest first
                states_labelled += 1
                states_right += detection.state in row["states"]
                if detection.state not in row["states"]:
                    errors.append((f"state {detection.state}, not {' / '.join(row['states'])}", row, detection))
        elif detection.flagged:
            fp += 1
            errors.append(("false positive", row, detection))
        elif row["label"]:
            fn += 1
            errors.append(("false negative", row, detection))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"n": len(rows), "positives": tp + fn, "tp": tp, "fp": fp, "fn": fn,
            "precision": precision, "recall": recall, "f1": f1,
            "states": f"{states_right}/{states_labelled}" if states_labelled else ""}, errors


def rules_alone(topics, *, title: str | None, text: str, language: str | None = None):
    return detect_topics(topics, title=title, text=text, second_opinion=False, language=language)


# Timings are of detection alone: the pipeline identifies an article's language once, when it is
# extracted (timed on its own below).
english = partial(detect_topics, language="en")


def per_thousand_words(topics, texts: list[str], repeat: int = 20, detect=detect_topics) -> float:
    """Median ms per 1,000 words to detect on each text."""
    timings = per_article_ms(topics, [{"text": text} for text in texts], detect, repeat)
    return statistics.median(ms * 1000 / len(text.split()) for ms, text in zip(timings, texts, strict=True))


def per_article_ms(topics, rows: list[dict], detect, repeat: int = 5) -> list[float]:
    """ms to detect on each article (its title, if any, and text)."""
    timings = []
    for row in rows:
        start = time.perf_counter()
        for _ in range(repeat):
            detect(topics, title=row.get("title"), text=row["text"])
        timings.append((time.perf_counter() - start) / repeat * 1000)
    return timings


def speed(topics, datasets: Path) -> tuple[float, float]:
    """Median ms per 1,000 words for detection, and for trafilatura's extraction of the same pages."""
    truth = json.loads((datasets / "aeb-dev" / "ground-truth.json").read_text())
    detect_ms, extract_ms = [], []
    for page_id, item in truth.items():
        words = len(item["articleBody"].split())
        if words < 200:
            continue
        html = gzip.decompress((datasets / "aeb-dev" / "html" / f"{page_id}.html.gz").read_bytes())
        start = time.perf_counter()
        trafilatura.extract(html, include_comments=False)
        extract_ms.append((time.perf_counter() - start) * 1000 * 1000 / words)
        detect_ms.append(per_thousand_words(topics, [item["articleBody"]], detect=english))
    return statistics.median(detect_ms), statistics.median(extract_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--show-errors", action="store_true",
                        help="print every false positive and negative, and every wrong state")
    parser.add_argument("--semantic", action="store_true", help="score the optional semantic scorer too")
    args = parser.parse_args()
    topics = load_topics(seeds.TOPICS_FILE)

    sets = {"dev (labeled.jsonl)": args.datasets / "us-iran-talks-dev" / "labeled.jsonl"}
    sets.update({name: ROOT / "tests" / "data" / f"{name}.jsonl" for name in OWN_SETS})
    sets = {name: read_rows(path) for name, path in sets.items()}
    all_errors = print_table("newswatch", sets, topics, detect_topics)
    wrong_states = sum(kind.startswith("state") for _, kind, _, _ in all_errors)
    print(f"\n{len(all_errors) - wrong_states} errors, {wrong_states} wrong states"
          + ("" if args.show_errors else " (--show-errors lists them)"))
    if args.show_errors:
        for set_name, kind, row, detection in all_errors:
            opinion = "" if detection.second_opinion is None else f", second opinion {detection.second_opinion}"
            print(f"- {set_name} {row['id']} {kind} (score {detection.score}{opinion}): "
                  f"{row.get('title') or row['text'][:100]}")
            for sentence in detection.evidence[:2]:
                print(f"    evidence: {sentence[:160]}")

    print()
    print_table("rules alone", sets, topics, rules_alone)

    detect_ms, extract_ms = speed(topics, args.datasets)
    print("\nspeed, median per 1,000 words of real article text (aeb-dev pages of 200+ words):")
    print(f"  detection {detect_ms:.2f} ms; trafilatura extraction of the same pages {extract_ms:.2f} ms; "
          f"detection adds {detect_ms / extract_ms:.1%} to extraction")
    # The worst case: long articles about the topic, where every sentence is analysed.
    on_topic = [path.read_text() for path in sorted(seeds.DOCUMENTS_DIR.glob("*.txt"))]
    print(f"  on-topic articles (the two seed documents, {', '.join(str(len(t.split())) for t in on_topic)} words): "
          f"detection {per_thousand_words(topics, on_topic, detect=english):.2f} ms per 1,000 words")
    # A "sentence" with no full stop in it (a table or a list run together, a hostile page) is cut
    # into pieces: the time per 1,000 words stays that of a short one, at any length.
    run_on = " ".join(on_topic).replace(".", ",")
    long_ms = [per_thousand_words(topics, [(run_on * (size // len(run_on) + 1))[:size]], repeat=1, detect=english)
               for size in (30_000, 300_000)]
    print(f"  one run-on sentence of 30 KB and of 300 KB: {long_ms[0]:.2f} and {long_ms[1]:.2f} ms per 1,000 words")
    asked = [row for rows in sets.values() for row in rows
             if detect_topics(topics, title=row.get("title"), text=row["text"]).second_opinion is not None]
    if asked:
        with_it, without = (statistics.median(per_article_ms(topics, asked, detect)) for detect in
                            (english, partial(rules_alone, language="en")))
        print(f"  articles the second opinion is asked about ({len(asked)} of the sets' "
              f"{sum(map(len, sets.values()))}): {with_it:.2f} ms each, median, against {without:.2f} ms "
              "by the rules alone")

    print_languages(topics, sets["us_iran_cases"])

    if args.semantic:
        print()
        print_table("semantic scorer", sets, topics, semantic_detect_topics)
        print(f"  semantic scorer on the on-topic articles: "
              f"{per_thousand_words(topics, on_topic, detect=semantic_detect_topics):.2f} ms per 1,000 words")


def print_languages(topics, english_cases: list[dict]) -> None:
    """A table per language of its sets, and each language's speed: ms per 1,000 words to detect its
    positive cases run together into one article (nearly every sentence analysed), English's made
    the same way from us_iran_cases, and ms to identify the language of such an article."""
    print("\nother languages (language identified from each text):")
    codes = sorted(path.name.split("_")[0] for path in LANGUAGE_SETS.glob("*_dev.jsonl"))
    sets = {}
    for code in codes:
        blind = {path.stem.replace("_", " "): read_rows(path)
                 for path in sorted(LANGUAGE_SETS.glob(f"{code}_blind*.jsonl"))}
        sets |= {f"{code} dev": read_rows(LANGUAGE_SETS / f"{code}_dev.jsonl"), **blind,
                 f"{code} blind pooled": [row for rows in blind.values() for row in rows]}
    errors = print_table("newswatch", sets, topics, detect_topics, pooled=False)
    for name, kind, row, detection in errors:
        if "blind" in name:
            continue  # not looked at: the blind sets are scored, never tuned on
        print(f"  - {name} {row['id']} {kind} (score {detection.score})")
    print("\nspeed per language, median per 1,000 words (its positive cases as one article):")
    def one_article(rows: list[dict]) -> str:
        return " ".join(f"{row['title']}. {row['text']}" for row in rows if row["label"])
    articles = {"en": one_article(english_cases)} | {code: one_article(sets[f"{code} dev"]) for code in codes}
    for code, article in articles.items():
        detect_ms = per_thousand_words(topics, [article], detect=partial(detect_topics, language=code))
        identify_ms = statistics.median(_timed(identify_language, article) for _ in range(20))
        print(f"  {code}: detection {detect_ms:.2f} ms; identifying its language {identify_ms:.2f} ms an article "
              f"({len(article.split())} words)")


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return (time.perf_counter() - start) * 1000


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def print_table(scorer: str, sets: dict[str, list[dict]], topics, detect, pooled: bool = True) -> list:
    """Print one line of figures per set; return the errors, with the name of their set."""
    print(f"{scorer + ', set':<30}{'n':>5}{'pos':>5}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}{'F1':>7}"
          f"{'state right':>13}")
    all_errors = []
    own = [row for name, rows in sets.items() if name in OWN_SETS for row in rows]
    for name, rows in [*sets.items(), *([("own sets pooled", own)] if pooled else [])]:
        figures, errors = score(rows, topics, detect)
        all_errors += [(name, *e) for e in errors if name != "own sets pooled"]
        print(f"{name:<30}{figures['n']:>5}{figures['positives']:>5}{figures['tp']:>5}{figures['fp']:>5}"
              f"{figures['fn']:>5}{figures['precision']:>11.3f}{figures['recall']:>8.3f}{figures['f1']:>7.3f}"
              f"{figures['states']:>13}")
    return all_errors


if __name__ == "__main__":
    main()
