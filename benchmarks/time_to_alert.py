"""Time to alert: from a story appearing on a monitored feed to its alert email received.

    python benchmarks/time_to_alert.py [--tick 20] [--stories 3]

The demo site (seeds/site) and a real SMTP server on loopback; the monitor flow runs every --tick
seconds (the monitor deployment runs every 15 minutes) under a temporary Prefect API. At a random
moment of each tick, a new story on US–Iran talks is added to the site's RSS feed, and the
benchmark notes when its email arrives. Printed per story: seconds from the entry appearing to the
email, of which the wait for the next tick and the run's work (from the tick's start to the email).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import private_prefect  # noqa: E402

private_prefect()

import seeds  # noqa: E402
from newswatch.loopback import LoopbackSite, MailSink, Response  # noqa: E402

STORY = """<!doctype html><html lang="en"><head><title>{title}</title>
<meta property="article:published_time" content="2025-05-{day:02d}T09:00:00Z"></head><body><article>
<h1>{title}</h1><p>American and Iranian negotiators will meet in Muscat next week for a round of indirect
talks numbered {number}, Oman's foreign ministry said on Sunday.</p>
<p>The two delegations exchanged proposals through Omani mediators after the last round, officials
said, and a date for the round was set by both sides.</p><p>{background}</p></article></body></html>"""
# Background words, so that each story's text is its own: near-identical ones would be one story.
WORDS = ("harbour council budget river school festival railway library winter farmers museum bridge election "
         "hospital market orchestra storm tunnel vineyard airport clinic stadium ferry bakery forest").split()


def publish(site: LoopbackSite, number: int) -> str:
    """Add story ``number`` to the review's feed and serve its page; returns its title."""
    title = f"US and Iran to hold round {number} of talks in Muscat"
    path = f"/review/2025/05/{number:02d}/round-{number}.html"
    rng = random.Random(number)
    background = " ".join(rng.choice(WORDS) for _ in range(120)).capitalize() + "."
    site.routes[path] = Response(STORY.format(title=title, day=number, number=number, background=background).encode())
    item = (f"<item><title>{title}</title><link>{site.url(path)}</link><guid>{site.url(path)}</guid>"
            f"<pubDate>Sun, {number:02d} May 2025 09:00:00 +0000</pubDate></item>")
    feed = site.routes["/review/feed.xml"]
    site.routes["/review/feed.xml"] = Response(feed.body.replace(b"<item>", item.encode() + b"<item>", 1),
                                               feed.content_type)
    return title


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tick", type=float, default=20.0, help="seconds between monitor runs")
    parser.add_argument("--stories", type=int, default=3)
    args = parser.parse_args()
    from prefect.testing.utilities import prefect_test_harness
    from pydantic import SecretStr

    from flows import monitor

    work = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    rng = random.Random(1)
    arrivals: dict[str, float] = {}  # subject: when the SMTP server received it
    with (LoopbackSite() as site, MailSink(on_message=lambda m: arrivals.setdefault(m["subject"], time.monotonic()))
          as mail, prefect_test_harness(server_startup_timeout=120)):
        site.routes.update({path: Response(body, ctype)
                            for path, (ctype, body) in seeds.demo_site(site.base_url).items()})
        (work / "sources.toml").write_text(seeds.demo_sources_toml(site.base_url))

        def tick() -> float:
            started = time.monotonic()
            monitor(sources_file=str(work / "sources.toml"), db_path=str(work / "news.db"),
                    alert_urls=[SecretStr(mail.alert_url())])
            return started

        tick()  # the site's stories are alerted once, before any is measured
        print(f"monitor every {args.tick:g} s; a new story at a random moment of each tick")
        for number in range(1, args.stories + 1):
            published: dict = {}
            at = rng.uniform(0, args.tick)
            timer = threading.Timer(at, lambda n=number, into=published: into.update(title=publish(site, n),
                                                                                     at=time.monotonic()))
            tick_start = time.monotonic()
            timer.start()
            time.sleep(args.tick)  # the tick the story appears in
            timer.join()
            started = tick()
            received = next((at for subject, at in arrivals.items() if published["title"] in subject), None)
            if received is None:
                sys.exit(f"no alert for story {number}")
            print(f"story {number}: appeared {at:4.1f} s into a tick; alerted {received - published['at']:5.1f} s "
                  f"later: {started - published['at']:5.1f} s waiting for the next tick, "
                  f"{received - started:4.1f} s of work (tick {started - tick_start:.0f} s long)")


if __name__ == "__main__":
    main()
