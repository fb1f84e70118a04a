"""The `newswatch` console script: thin wrappers over the packages' functions."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shlex
import signal
import sys
import threading
import zlib
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

import typer
from pydantic import SecretStr
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="Scheduled news monitoring: fetch, extract, deduplicate, flag US–Iran talks, alert.",
                  no_args_is_help=True, add_completion=False)
# Messages carry paths and URLs: wrapping them at the terminal's width would break them in logs.
console = Console(stderr=True, soft_wrap=True)

class AlertMode(StrEnum):
    each = "each"
    digest = "digest"
    queue = "queue"
    none = "none"


class BackfillAlertMode(StrEnum):
    digest = "digest"
    each = "each"
    none = "none"


class ReclassifyAlertMode(StrEnum):
    digest = "digest"
    each = "each"
    queue = "queue"
    none = "none"


JsonOption = Annotated[bool, typer.Option("--json", help="JSON Lines instead of a table.")]
DbOption = Annotated[Path | None, typer.Option("--db", help="SQLite store (default: NEWSWATCH_DB or ./newswatch.db).")]
AlertOption = Annotated[list[str] | None, typer.Option(
    "--alert", help="An alert channel: an apprise URL, optionally after each:, state: or digest:; repeatable.")]


def _print_version(requested: bool) -> None:
    if requested:
        from newswatch import __version__

        print(f"newswatch {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    # A machine's first temporary Prefect server creates its database before it answers: about 22 s on
    # two cores, past Prefect's 20 s limit, so `newswatch demo` failed on a fresh machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code=1)


T = TypeVar("T")


def _load(load: Callable[..., T], *args, **kwargs) -> T:
    """Read a configuration file or the settings for a command: what is wrong in them (a ValueError
    that names the file or variable) is one line of error, not a traceback."""
    try:
        return load(*args, **kwargs)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _open_store(db: Path | None, *, read_only: bool = False):
    """The store of the settings (or ``db``), which must exist; ``read_only`` for commands that only
    read it: they change nothing and wait for no run."""
    from pipeline import load_settings
    from storage import Store

    path = _load(load_settings, db_path=db).db
    if not path.exists():
        raise _fail(f"no store at {path} (run `newswatch run` first, or pass --db)")
    return _load(Store, path, read_only=read_only)


def _prepare(*, db: Path | None = None, sources: Path | None = None, alert: list[str] | None = None,
             alert_mode: str = "each", urls: Path | None = None, warc: list[Path] | None = None,
             dask: str | None = None, reads_sources: bool = True):
    """Read and check what a command's run reads (``pipeline.prepare_run``, as its flow will) before
    the flow, and the Prefect server it may start: a mistake is one line of error, not a failed flow run.
    A run that reads sources creates (or upgrades) the store here, as its flow would."""
    from pipeline import load_settings, prepare_run
    from storage import Store

    settings = _load(load_settings, db_path=db, sources_file=sources, alert_urls=alert, dask_address=dask)
    run = _load(prepare_run, settings, alert_mode=alert_mode, urls_file=urls, warc_files=warc or (),
                reads_sources=reads_sources)
    if reads_sources:
        _load(Store, settings.db).close()
    return run


def _check_prefect_api(*, required: bool = False) -> bool:
    """The Prefect API that PREFECT_API_URL names must answer before a flow is called. Without
    PREFECT_API_URL a flow starts a temporary server of its own (unless ``required``): True then."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        if required:
            raise _fail("this needs a Prefect server: start one (`prefect server start`) and set PREFECT_API_URL, "
                        "e.g. `prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api`")
        return True
    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        parts = urlsplit(url)
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no credentials
        raise _fail(f"the Prefect API at {shown} (PREFECT_API_URL) does not answer: {problem}. Start it "
                    "(`prefect server start`), or unset PREFECT_API_URL to run under a temporary server")
    return False


def _call_flow(after_interrupt: str, flow: Callable[..., T], **params) -> T:
    """Call a flow, the Prefect API checked first. Ctrl-C or SIGTERM ends the command at once, with one
    line (what was stored is kept, and ``after_interrupt``) and exit code 130.

    The flow runs in a thread of its own, so that the signals stay this thread's: Prefect's engine
    would otherwise turn SIGTERM into an exception that waits for every task in flight (a page
    trickling in for minutes), and a temporary Prefect server, which Ctrl-C stops too, would leave
    the engine retrying its reports for minutes. Leaving as a kill would is safe: newswatch survives
    one at any point (a transaction per write, the backfill's checkpoints)."""
    from flows import mark_crashed, tagged_as_this_command

    message = f"interrupted: what was stored is kept; {after_interrupt}"
    temporary_server = _check_prefect_api()
    outcome: dict = {}

    def call() -> None:
        try:
            with tagged_as_this_command():
                outcome["value"] = flow(**params)
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome["error"] = exc

    def leave(signum, frame) -> None:
        console.print(f"[yellow]{escape(message)}[/yellow]")
        if temporary_server:
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().stop()  # in case the signal reached this process alone
        else:
            with suppress(Exception):  # the API may be what is going away
                mark_crashed(message)
        os._exit(130)

    running = threading.Thread(target=call, name="flow", daemon=True)
    previous = {signum: signal.signal(signum, leave) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        running.start()
        while running.is_alive():
            running.join(0.2)  # a join with a timeout lets the signal handlers run
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _summary_line(summary, heading: str = "Monitor run") -> str:
    return (f"{heading}: {summary.sources} sources, {summary.announced} announced, {summary.fetched} fetched, "
            f"{summary.new} new, {summary.revised} revised, {summary.duplicates} duplicates, "
            f"{summary.flagged} flagged, "
            f"{len(summary.failures)} failed; alerts: {summary.alerts_sent} sent, {summary.alerts_failed} failed, "
            f"{summary.alerts_gave_up} given up")


def _stories_table(rows: list[dict]) -> Table:
    table = Table("story", "date", "title", "flagged", "topics and states", "outlets", "copies", "first url",
                  title="Stories")
    for row in rows:
        table.add_row(str(row["id"]), row["day"] or "", escape(row["title"] or ""),
                      "[bold red]yes[/]" if row["flagged"] else "no", escape(_states(row)),
                      escape(", ".join(row["outlets"])), str(len(row["urls"])), escape(row["urls"][0]))
    return table


def _states(story: dict) -> str:
    """A story's topics and the states each went through: "US–Iran talks: scheduled → held or ongoing"."""
    return "; ".join(f"{t['label'] or t['topic']}: " + " → ".join(h["state"] or "?" for h in t["history"])
                     for t in story["topics"])


def _sources_table(rows: list[dict]) -> Table:
    table = Table("source", "last success", "failures in a row", "last error", "dark since", title="Sources")
    for row in rows:
        table.add_row(escape(row["source"]), row["last_success"] or "never", str(row["consecutive_failures"]),
                      escape(row["last_error"] or ""), row["dark_since"] or "")
    return table


def _alerts_table(rows: list[dict]) -> Table:
    table = Table("id", "story", "topic", "state", "title", "channel", "status", "attempts", "last error", "next try",
                  title="Alerts")
    for row in rows:
        state = f"{row['previous_state']} → {row['state']}" if row["previous_state"] else row["state"] or ""
        table.add_row(str(row["id"]), str(row["story_id"]), escape(row["topic"] or ""), escape(state),
                      escape(row["title"] or ""), escape(row["channel_label"]),
                      row["status"], str(row["attempts"]), escape(row["last_error"] or ""),
                      row["next_attempt_at"] or "")
    return table


def _articles_table(rows: list[dict]) -> Table:
    table = Table("story", "date", "title", "source", "flagged", "topic", "score", "state", "url",
                  title="Stored articles")
    for row in rows:
        table.add_row(str(row["story_id"]), _day(row), escape(row["title"] or ""), escape(row["source"]),
                      "[bold red]yes[/]" if row["flagged"] else "no", escape(row["topic"] or ""), f"{row['score']:.2f}",
                      row["state"] or "", escape(row["url"]))
    return table


def _search_results(rows: list[dict]) -> Group:
    """Each result as a few lines, as search tools print them: the passage needs the terminal's width."""
    results = []
    for rank, row in enumerate(rows, start=1):
        heading = Text(f"{rank}. ", style="bold").append(row["title"] or "", style="bold")
        heading.append(f"  {row['source']} · {_day(row)}" + (" · flagged" if row["flagged"] else ""), style="dim")
        results += [heading, Text("   ").append(_marked(row["snippet"])), Text(f"   {row['url']}\n", style="cyan")]
    return Group(*results)


# What search marks the matched words with in a table's snippet (characters no extracted text holds).
SNIPPET_MARKS = ("\x02", "\x03")


def _marked(snippet: str) -> Text:
    """A snippet with its matched words (between SNIPPET_MARKS) in bold."""
    shown = Text()
    for n, part in enumerate(re.split("[\x02\x03]", snippet)):
        shown.append(part, style="bold" if n % 2 else "")
    return shown


def _day(row: dict) -> str:
    return (row["published"] or row["fetched_at"] or "")[:10]


def _report(summary, heading: str = "Monitor run") -> None:
    console.print(escape(_summary_line(summary, heading)))
    for url, reason in summary.failures:
        what = reason if reason.startswith(url) else f"{url}: {reason}"  # a feed's error names its URL
        console.print(f"[yellow]failed[/yellow] {escape(what)} (retried on the next run)")
    for source in summary.dark_sources:
        console.print(f"[red]dark[/red] {escape(source)} has failed several runs in a row (see `newswatch sources`)")


@app.command()
def run(
    sources: Annotated[Path | None, typer.Option(help="Sources TOML (default: seeds/sources.toml).")] = None,
    db: DbOption = None,
    alert: AlertOption = None,
    alert_mode: Annotated[AlertMode, typer.Option(
        help="each, digest, queue (kept for the next `digest` run) or none.")] = AlertMode.each,
) -> None:
    """One monitor run: fetch new articles, store them, flag, alert."""
    from flows import monitor

    _prepare(db=db, sources=sources, alert=alert, alert_mode=alert_mode)
    summary = _call_flow("the next run fetches what this one did not store", monitor,
                         sources_file=str(sources) if sources else None, db_path=str(db) if db else None,
                         alert_urls=[SecretStr(u) for u in alert or []], alert_mode=alert_mode.value)
    if summary.skipped:
        console.print(f"[yellow]skipped:[/yellow] {escape(summary.skipped)}; try again once it has finished")
        raise typer.Exit(code=75)  # EX_TEMPFAIL
    _report(summary)
    if summary.sources and len(summary.failed_sources) == summary.sources:
        raise _fail(f"every source failed this run ({summary.sources}); see the failures above and "
                    "`newswatch sources`")


@app.command()
def backfill(
    since: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (YYYY-MM-DD).")],
    until: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day, included (YYYY-MM-DD).")],
    sources: Annotated[Path | None, typer.Option(help="Sources TOML (default: seeds/sources.toml).")] = None,
    urls: Annotated[Path | None, typer.Option(
        help="A file of article URLs, one per line, instead of the sources' feeds and sitemaps.")] = None,
    warc: Annotated[list[Path] | None, typer.Option(
        help="A WARC file (.warc or .warc.gz) whose pages to store instead of the sources'; repeatable.")] = None,
    db: DbOption = None,
    alert: AlertOption = None,
    alert_mode: Annotated[BackfillAlertMode, typer.Option(
        help="digest (one message per channel at the end), each or none.")] = BackfillAlertMode.digest,
    chunk_size: Annotated[int | None, typer.Option(
        min=1, help="Pages per chunk (memory, and the unit of resuming; default: 50).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Extraction processes (default: one per core).")] = None,
    dask: Annotated[str | None, typer.Option(
        help="A Dask scheduler (tcp://host:8786) whose workers fetch and extract the pages "
             "(default: NEWSWATCH_DASK_ADDRESS; needs newswatch[dask]).")] = None,
) -> None:
    """Store every article the sources (or a URL list, or WARC files) hold for a date range; rerun it to
    resume after a crash."""
    from flows import DaskUnavailable
    from flows import backfill as backfill_flow
    from pipeline import check_range

    if sum(map(bool, (sources, urls, warc))) > 1:
        raise _fail("--sources, --urls and --warc are alternatives: give one")
    _load(check_range, since.date(), until.date())
    _prepare(db=db, sources=sources, alert=alert, alert_mode=alert_mode, urls=urls, warc=warc, dask=dask)
    try:
        summary = _call_flow(
            "run the same command again to go on from the first unfinished chunk", backfill_flow,
            since=since.date(), until=until.date(), sources_file=str(sources) if sources else None,
            urls_file=str(urls) if urls else None, warc_files=[str(path) for path in warc or []],
            db_path=str(db) if db else None,
            alert_urls=[SecretStr(u) for u in alert or []], alert_mode=alert_mode.value,
            chunk_size=chunk_size, workers=workers, dask_address=dask)
    except (ValueError, DaskUnavailable) as exc:
        raise _fail(str(exc)) from None
    _report(summary, f"Backfill {since.date()}..{until.date()}")


@app.command()
def digest(db: DbOption = None, alert: AlertOption = None) -> None:
    """Send the alerts still due (queued by `run --alert-mode queue`, or failed and past their backoff) as one
    message per channel."""
    from flows import digest as digest_flow

    _prepare(db=db, alert=alert, alert_mode="digest", reads_sources=False)
    _open_store(db).close()
    outcome = _call_flow("the alerts not sent are still due", digest_flow, db_path=str(db) if db else None,
                         alert_urls=[SecretStr(u) for u in alert or []])
    console.print(f"Digest: {outcome.sent} alert(s) sent, {outcome.failed} failed (retried later), "
                  f"{outcome.gave_up} given up")
    if outcome.failed or outcome.gave_up:
        raise typer.Exit(code=1)


@app.command()
def reclassify(
    topic: Annotated[str | None, typer.Option(help="Only this topic (its id in the topics file).")] = None,
    since: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Only articles published (or, undated, fetched) on or after this day.")] = None,
    db: DbOption = None,
    alert: AlertOption = None,
    alert_mode: Annotated[ReclassifyAlertMode, typer.Option(
        help="digest (one message per channel), each, queue (for the next `digest`) or none.")]
        = ReclassifyAlertMode.digest,
) -> None:
    """Detect the stored articles again after the topics changed. Only stories a topic now flags for
    the first time are alerted; state changes found are recorded, not alerted."""
    from dataclasses import replace

    from rich.progress import Progress

    import pipeline
    from detectors import load_topics
    from storage import StoreBusy, run_lock

    run = _prepare(db=db, alert=alert, alert_mode=alert_mode.value, reads_sources=False)
    run = replace(run, topics=_load(load_topics, run.settings.topics))
    try:
        with _open_store(db) as store, run_lock(store.path, wait=run.settings.lock_wait), \
                Progress(console=console, transient=True) as shown:
            task = shown.add_task("detecting stored articles", total=None)
            result = _load(pipeline.reclassify, store, run, topic=topic, since=since.date() if since else None,
                           progress=lambda done, total: shown.update(task, completed=done, total=total))
            outcome = pipeline.deliver(store, run) if alert_mode.value not in ("queue", "none") else None
    except StoreBusy as exc:
        console.print(f"[yellow]skipped:[/yellow] {escape(str(exc))}; try again once it has finished")
        raise typer.Exit(code=75) from None
    console.print(f"Reclassified {result.articles} articles: {result.newly_flagged} stories newly flagged, "
                  f"{result.state_changes} state changes recorded (not alerted); {result.alerts_enqueued} alerts "
                  + (f"enqueued, {outcome.sent} sent, {outcome.failed} failed" if outcome else
                     "enqueued for the next `newswatch digest`" if alert_mode.value == "queue" else "enqueued"))
    if outcome and (outcome.failed or outcome.gave_up):
        raise typer.Exit(code=1)


@app.command()
def serve(
    file: Annotated[Path | None, typer.Option(
        "--file", help="The prefect.yaml whose deployments to serve (default: deploy/prefect.yaml).",
        exists=True, dir_okay=False)] = None,
    feed_port: Annotated[int | None, typer.Option(
        help="Also serve the Atom feed of flagged stories at http://127.0.0.1:PORT/feed.xml (of NEWSWATCH_DB).")]
        = None,
) -> None:
    """Run the scheduled deployments (monitor, digest, backfill) in this one process, until stopped."""
    from prefect import serve as prefect_serve

    from flows.deployments import PREFECT_FILE, SERVED_WITHIN_SECONDS, load_deployments, on_work_pools, served_elsewhere

    _check_prefect_api(required=True)
    deployments = load_deployments(file or PREFECT_FILE)
    if taken := on_work_pools(deployments):
        deletes = "; ".join(f"prefect deployment delete {name}" for name in taken)
        raise _fail(f"{', '.join(f'{n} (work pool {p})' for n, p in taken.items())} already run on a worker. "
                    f"A worker and `newswatch serve` are alternatives: stop the worker, `{deletes}`, then serve")
    if served := served_elsewhere(deployments):
        raise _fail(f"{', '.join(f'{n} (polled {s:.0f} s ago)' for n, s in served.items())} already served by "
                    f"another process: one `newswatch serve` at a time (a second would pause them all when it "
                    f"stops). Stop the other first; after it stops, wait {SERVED_WITHIN_SECONDS} s")
    if feed_port is not None:
        from .feed_server import FEED_PATH, feed_server, serve_in_background

        try:
            server = feed_server(lambda topic, url: _feed_document(None, topic, 50, url), port=feed_port)
        except OSError as exc:
            raise _fail(f"cannot serve the feed on 127.0.0.1:{feed_port}: {exc.strerror}") from None
        serve_in_background(server)
        console.print(f"Atom feed at http://127.0.0.1:{server.server_port}{FEED_PATH}")
    prefect_serve(*deployments)


@app.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="Store for the demo run.")] = Path("newswatch-demo.db"),
    serve: Annotated[bool, typer.Option(
        "--serve", help="Only serve the demo site and an SMTP server (which prints each email it receives) until "
                        "Ctrl-C, and write newswatch-demo-sources.toml, for `newswatch run` to read.")] = False,
    port: Annotated[int, typer.Option(help="With --serve: the site's port (another if taken).")] = 8765,
    smtp_port: Annotated[int, typer.Option(help="With --serve: the SMTP server's port.")] = 8025,
) -> None:
    """Serve the demo news site and an SMTP server on 127.0.0.1, run the monitor once, show the results."""
    if serve:
        _serve_demo(port=port, smtp_port=smtp_port)
        return
    from storage import Store

    from .demo import demo as run_demo

    _load(Store, db).close()
    result = _call_flow("run the demo again to go on", run_demo, db_path=db)
    out = Console()
    out.print(f"\nDemo site served at {result.site_url}; store: {db}\n")
    out.print(escape(_summary_line(result.summary)))
    out.print(_articles_table(result.articles))
    for row in result.articles:
        body_evidence = [sentence for sentence in row["evidence"] if sentence != row["title"]]
        if row["flagged"] and body_evidence:
            out.print(f"[bold]{escape(row['title'])}[/bold] — evidence: “{escape(body_evidence[0])}”")
    if result.emails:
        out.print(f"\n[bold]{len(result.emails)} alert email(s) received by the SMTP server:[/bold]")
        for message in result.emails:
            out.print(_email_lines(message))
    else:
        out.print("\nNo alert email this time: every flagged story was already alerted on an earlier run.")
    store = shlex.quote(str(db))
    out.print(f"\nLook at what it stored:\n  newswatch search 'talks' --db {store}\n"
              f"  newswatch stories --flagged --db {store}\n"
              f"  newswatch report --since 2017-01-01 --db {store} -o demo-report.html", highlight=False)


def _email_lines(message) -> str:
    return (f"\n[bold]To:[/bold] {escape(message['to'])}  [bold]Subject:[/bold] {escape(message['subject'])}\n"
            + escape(message.get_body(("plain",)).get_content().strip()))


DEMO_SOURCES_FILE = Path("newswatch-demo-sources.toml")


def _serve_demo(*, port: int, smtp_port: int) -> None:
    """The demo site and an SMTP server, until Ctrl-C: an offline target for `newswatch run`."""
    from .demo import demo_servers

    out = Console(soft_wrap=True)  # the command lines it prints are to be copied whole
    try:
        with demo_servers(DEMO_SOURCES_FILE, port=port, smtp_port=smtp_port,
                          on_message=lambda message: out.print(_email_lines(message))) as servers:
            alert = servers.mail.alert_url()
            out.print(f"Demo news site: {servers.site.base_url}/ (feeds /review/feed.xml and /daily/atom.xml)\n"
                      f"SMTP server:    127.0.0.1:{servers.mail.port}, printing each email it receives\n"
                      f"Sources file:   {DEMO_SOURCES_FILE}\n\nIn another terminal:\n"
                      f"  newswatch run --sources {DEMO_SOURCES_FILE} --db demo.db "
                      f"--alert '{alert}'\n\n"
                      "Ctrl-C stops the servers.", highlight=False)
            signal.pause()
    except KeyboardInterrupt:
        out.print("demo servers stopped")
    except (OSError, RuntimeError) as exc:  # a port taken: aiosmtpd raises RuntimeError from its thread
        raise _fail(f"cannot serve the demo: {exc}") from None


def _read_page(path: Path) -> bytes:
    from extractors import MAX_HTML_BYTES

    with (gzip.open(path) if path.suffix == ".gz" else open(path, "rb")) as f:
        return f.read(MAX_HTML_BYTES + 1)  # one byte over the limit lets the extractor report the size


def _learnt_site_memory(db_path: Path) -> dict:
    """Every site's memory in a store, read without changing the file (no migration, no lock)."""
    from storage import Store

    with _load(Store, db_path, read_only=True) as store:
        return store.site_memories()


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help=".html or .html.gz files.")],
    url: Annotated[str | None, typer.Option(help="The URL the page came from.")] = None,
    site_memory: Annotated[Path | None, typer.Option(
        help="A newswatch store: drop the lines its sites repeat on their pages, as learnt by its runs (read only).",
        exists=True, dir_okay=False)] = None,
) -> None:
    """Extract articles from saved pages; print one JSON object per file (JSON Lines)."""
    from extractors import ExtractionError, extract_article

    memories = _learnt_site_memory(site_memory) if site_memory else None
    failed = 0
    for path in files:
        try:
            article = extract_article(_read_page(path), url=url, site_memory=memories)
        except (ExtractionError, OSError, EOFError, zlib.error) as exc:  # a missing file, a broken gzip...
            failed += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(json.dumps({"file": str(path), "error": reason}, ensure_ascii=False))
            console.print(f"[red]error:[/red] {escape(str(path))}: {escape(reason)}")
            continue
        record = {"file": str(path), **article.to_dict()}
        print(json.dumps(record, ensure_ascii=False))
    if failed:
        raise typer.Exit(code=1)


@app.command()
def classify(
    file: Annotated[str, typer.Argument(
        help="JSON Lines with id, title, text (and language, else identified); - for standard input.")] = "-",
    semantic: Annotated[bool, typer.Option(
        "--semantic", help="Add the optional semantic scorer's verdict (needs newswatch[semantic]).")] = False,
) -> None:
    """Flag texts for the watch topics; print one JSON object per input line."""
    from detectors import SemanticUnavailable, detect_each, load_topics, semantic_detect_topics
    from pipeline import load_settings

    topics = _load(load_topics, _load(load_settings).topics)
    if semantic:
        try:
            semantic_detect_topics(topics, title=None, text="")  # fails now, not after the first line
        except SemanticUnavailable as exc:
            raise _fail(str(exc)) from None
    try:
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # bytes: a bad line is that line's error
    except OSError as exc:
        raise _fail(f"{file}: {exc.strerror}") from None
    failed = 0
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item, title, text = _classify_input(line)
            except ValueError as exc:
                failed += 1
                console.print(f"[red]error:[/red] line {number}: {escape(str(exc))}")
                continue
            detections = detect_each(topics, title=title, text=text, language=item.get("language") or None)
            output = {"id": item.get("id"), **detections[0].to_dict(),
                      "topics": [{"topic": d.topic, "flagged": d.flagged, "score": d.score, "state": d.state}
                                 for d in detections if d.evidence]}
            if semantic:
                output["semantic"] = semantic_detect_topics(topics, title=title, text=text).to_dict()
            print(json.dumps(output, ensure_ascii=False))
    if failed:
        raise typer.Exit(code=1)


def _classify_input(line: bytes) -> tuple[dict, str | None, str]:
    """One input line as (the object, its title, its text); ValueError saying what is wrong with it."""
    try:
        item = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object with a text string")
    title, text = item.get("title"), item.get("text") or ""
    if not isinstance(text, str) or not isinstance(title, str | None):
        raise ValueError("expected a JSON object with a text string (and a title string, if any)")
    if not isinstance(item.get("language"), str | None):
        raise ValueError("language, if given, must be a language code string such as \"fa\"")
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")  # what the output line will carry, its id too
    except UnicodeEncodeError:
        raise ValueError("the line holds a lone surrogate (\\ud800-\\udfff), which is no character") from None
    return item, title, text


def _show(rows: list[dict], *, as_json: bool, table: Callable[[list[dict]], RenderableType]) -> None:
    """Rows as JSON Lines on stdout, or as a table."""
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        Console().print(table(rows))


class Output(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _output(as_json: bool, as_csv: bool) -> Output:
    if as_json and as_csv:
        raise _fail("--json and --csv are alternatives: give one")
    return Output.json if as_json else Output.csv if as_csv else Output.table


def _write_csv(rows: list[dict], columns: list[str]) -> None:
    """Rows as CSV on stdout, a header first: lists and objects as JSON, true/false, empty for none."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if (v := row.get(c)) is None else json.dumps(v, ensure_ascii=False)
                         if isinstance(v, list | dict | bool) else v for c in columns])


DEFAULT_TERMINAL_LIMIT = 50
SinceOption = Annotated[datetime | None, typer.Option(
    formats=["%Y-%m-%d"], help="Only from this day on (YYYY-MM-DD; published, or fetched when undated).")]
UntilOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only up to this day, included.")]
SourceOption = Annotated[list[str] | None, typer.Option("--source", help="Only this source (its name); repeatable.")]
TopicOption = Annotated[str | None, typer.Option(help="Only what reports this topic (its id in the topics file).")]
StateOption = Annotated[str | None, typer.Option(help='Only in this state ("held or ongoing").')]
LangOption = Annotated[str | None, typer.Option("--lang", help="Only in this language (a code: en, fa, ar...).")]
FlaggedOption = Annotated[bool, typer.Option("--flagged", help="Only flagged ones.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="CSV with a header instead of a table.")]
LimitOption = Annotated[int | None, typer.Option(
    min=0, help=f"At most this many, the most recent (default: {DEFAULT_TERMINAL_LIMIT} on a terminal, "
                "else all; 0: all).")]


def _filters(since: datetime | None = None, until: datetime | None = None, sources: list[str] | None = None,
             topic: str | None = None, state: str | None = None, language: str | None = None,
             flagged: bool = False):
    from storage import Filters

    if since and until and since > until:
        raise _fail(f"--since {since.date()} is after --until {until.date()}")
    return Filters(since=since.date() if since else None, until=until.date() if until else None,
                   sources=tuple(sources or ()), topic=topic, state=state, language=language, flagged=flagged)


def _check_found(store, rows: list, filters) -> None:
    """Nothing found because a filter names something the store never held is one line of error:
    a misspelt source, topic, state or language."""
    if rows:
        return
    for option, values, column in (("--source", filters.sources, "articles.source"),
                                   ("--topic", (filters.topic,), "article_topics.topic"),
                                   ("--state", (filters.state,), "article_topics.state"),
                                   ("--lang", (filters.language,), "articles.language")):
        known = store.stored_values(column) if any(values) else set()
        if unknown := [v for v in values if v and v not in known]:
            raise _fail(f"{option} {', '.join(unknown)}: the store holds none; it holds "
                        f"{', '.join(sorted(known)[:12]) or 'nothing yet'}")


def _limited(fetch: Callable[[int | None], list[dict]], limit: int | None, output: Output) -> list[dict]:
    """``fetch(limit)``'s rows, at most ``limit`` (0: all; none given: DEFAULT_TERMINAL_LIMIT when a
    table goes to a terminal), saying on stderr when some were left out."""
    if limit is None and output is Output.table and sys.stdout.isatty():
        limit = DEFAULT_TERMINAL_LIMIT
    if not limit:
        return fetch(None)
    rows = fetch(limit + 1)
    if len(rows) > limit:
        console.print(f"the {limit} most recent shown; --limit N shows more, --limit 0 all")
        rows = rows[1:]
    return rows


def _list(db: Path | None, filters, limit: int | None, output: Output, fetch: Callable, write_csv: Callable,
          table: Callable[[list[dict]], Table]) -> None:
    """A listing command: ``fetch(store, filters, limit)``'s rows as a table, JSON Lines or CSV."""
    with _open_store(db, read_only=True) as store:
        rows = _limited(lambda n: fetch(store, filters, n), limit, output)
        _check_found(store, rows, filters)
    if output is Output.csv:
        write_csv(rows)
    else:
        _show(rows, as_json=output is Output.json, table=table)


ARTICLE_CSV_COLUMNS = ["id", "story_id", "published", "title", "url", "canonical_url", "source", "site_name",
                       "language", "flagged", "topic", "score", "state", "evidence", "author", "duplicate_of",
                       "fetched_at"]
STORY_CSV_COLUMNS = ["id", "day", "title", "flagged", "state", "topics", "outlets", "urls", "first_seen"]


@app.command()
def articles(
    db: DbOption = None,
    flagged: FlaggedOption = False,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    topic: TopicOption = None,
    state: StateOption = None,
    lang: LangOption = None,
    limit: LimitOption = None,
    text: Annotated[bool, typer.Option("--text", help="With --json or --csv: each article's text too.")] = False,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """List stored articles, oldest first."""
    _list(db, _filters(since, until, source, topic, state, lang, flagged), limit, _output(as_json, as_csv),
          lambda store, filters, n: list(store.articles(filters, limit=n, text=text)),
          lambda rows: _write_csv(rows, ARTICLE_CSV_COLUMNS + ["text"] * text), _articles_table)


@app.command()
def stories(
    db: DbOption = None,
    flagged: FlaggedOption = False,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    topic: Annotated[str | None, typer.Option(help="Only stories this topic flagged (its id).")] = None,
    state: Annotated[str | None, typer.Option(help='Only stories a topic holds in this state now.')] = None,
    lang: LangOption = None,
    limit: LimitOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Stories, oldest first: each with the outlets and URLs that carried it, its topics and states."""
    _list(db, _filters(since, until, source, topic, state, lang, flagged), limit, _output(as_json, as_csv),
          lambda store, filters, n: store.stories(filters, limit=n),
          lambda rows: _write_csv([{**row, "topics": _states(row)} for row in rows], STORY_CSV_COLUMNS),
          _stories_table)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "a phrase", AND / OR / NOT, prefix* (SQLite FTS5 syntax).')],
    db: DbOption = None,
    flagged: FlaggedOption = False,
    since: SinceOption = None,
    until: UntilOption = None,
    source: SourceOption = None,
    topic: TopicOption = None,
    state: StateOption = None,
    lang: LangOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many results, best first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Search the stored articles' headlines and texts: best matches first, with the passage that matched."""
    from storage import SearchError

    filters = _filters(since, until, source, topic, state, lang, flagged)
    with _open_store(db, read_only=True) as store:
        try:
            rows = store.search(query, filters, limit=limit, marks=("**", "**") if as_json else SNIPPET_MARKS)
        except SearchError as exc:
            raise _fail(str(exc)) from None
        _check_found(store, rows, filters)
    if not rows and not as_json:
        console.print("no stored article matches")
    if rows.ranked:
        console.print(f"more than {rows.ranked} articles match: the best of the {rows.ranked} most recent are "
                      "shown; --since, --until or more words narrow it")
    _show(rows, as_json=as_json, table=_search_results)


def _topic_label(store, topic: str) -> str:
    """The label of ``topic``, from the store or the topics file; ValueError naming the known ones."""
    from detectors import load_topics
    from pipeline import load_settings

    labels = store.topic_labels()
    if topic not in labels:
        labels.update({t.id: t.label for t in load_topics(load_settings().topics)})
    if topic not in labels:
        raise ValueError(f"--topic {topic}: no such topic; known: {', '.join(sorted(labels)) or 'none yet'}")
    return labels[topic]


def _feed_document(db: Path | None, topic: str | None, limit: int, self_url: str | None = None) -> bytes:
    """The Atom feed of the store's flagged stories (of ``topic``); ValueError for an unknown topic."""
    from pipeline import load_settings
    from reports import atom_feed
    from storage import Filters, Store

    path = load_settings(db_path=db).db
    if not path.exists():
        raise ValueError(f"no store at {path} yet (a first `newswatch run` makes it)")
    with Store(path, read_only=True) as store:
        title = f"newswatch: {_topic_label(store, topic)}" if topic else "newswatch: flagged stories"
        stories = store.stories(Filters(flagged=True, topic=topic))
    if topic:  # a story another topic flagged too: only this topic's changes
        stories = [{**story, "topics": [t for t in story["topics"] if t["topic"] == topic]} for story in stories]
    return atom_feed(stories, title=title, topic=topic, limit=limit, self_url=self_url)


FeedLimitOption = Annotated[int, typer.Option(min=1, help="The latest this many state changes.")]


@app.command()
def feed(
    db: DbOption = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic's stories (its id).")] = None,
    limit: FeedLimitOption = 50,
    serve_port: Annotated[int | None, typer.Option(
        "--serve", help="Serve it at http://HOST:PORT/feed.xml (?topic=ID for one topic) until Ctrl-C, made "
                        "anew at each request, instead of printing it.")] = None,
    host: Annotated[str, typer.Option(help="With --serve: the address to listen on.")] = "127.0.0.1",
) -> None:
    """An Atom feed of flagged stories, one entry per state change, newest first: for any feed reader."""
    if serve_port is None:
        sys.stdout.buffer.write(_load(_feed_document, db, topic, limit))
        return
    from .feed_server import FEED_PATH, feed_server

    _open_store(db, read_only=True).close()
    try:
        server = feed_server(lambda t, url: _feed_document(db, t or topic, limit, url), host=host, port=serve_port)
    except OSError as exc:
        raise _fail(f"cannot serve the feed on {host}:{serve_port}: {exc.strerror}") from None
    console.print(f"Atom feed at http://{host}:{server.server_port}{FEED_PATH}; Ctrl-C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("feed server stopped")
    finally:
        server.server_close()


@app.command()
def report(
    since: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="First day (default: six days before --until).")] = None,
    until: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: today).")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic's stories (its id).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write.")] = Path("report.html"),
    db: DbOption = None,
) -> None:
    """Write an HTML report of a period: a chart of stories per day by state, timelines, outlets, sources.

    One file, nothing to fetch: each story's state changes with the sentences that made them, the
    outlets that carried it, and the sources' health."""
    from datetime import date, timedelta

    from pipeline import load_settings
    from reports import html_report
    from storage import Filters

    last = until.date() if until else date.today()
    first = since.date() if since else last - timedelta(days=6)
    if first > last:
        raise _fail(f"--since {first} is after --until {last}")
    dark_after = _load(load_settings).dark_after
    with _open_store(db, read_only=True) as store:
        label = _load(_topic_label, store, topic) if topic else None
        stories = store.stories(Filters(flagged=True, topic=topic))
        health = store.source_health(dark_after=dark_after)
    if topic:
        stories = [{**story, "topics": [t for t in story["topics"] if t["topic"] == topic]} for story in stories]
    page = html_report(stories, health, since=first, until=last, topic_label=label)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror}") from None
    shown = page.count('<article class="story"')
    console.print(f"wrote {output}: {shown} stories flagged or moved from {first} to {last}")


@app.command()
def browse(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="The port Datasette listens on.")] = 8001,
    host: Annotated[str, typer.Option(help="The address Datasette listens on.")] = "127.0.0.1",
) -> None:
    """Browse the store in Datasette (the optional extra "datasette"): tables, facets, search, and
    canned queries for flagged stories, state changes, alerts and source health."""
    from .browse import serve_datasette

    with _open_store(db, read_only=True) as store:  # a store of the current schema, or one line of error
        path = store.path
    try:
        code = serve_datasette(path, host=host, port=port)
    except RuntimeError as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(code=code)


@app.command()
def sources(
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Source health: last success, consecutive failures, last error, dark since."""
    from pipeline import load_settings

    dark_after = _load(load_settings).dark_after
    with _open_store(db, read_only=True) as store:
        rows = store.source_health(dark_after=dark_after)
    _show(rows, as_json=as_json, table=_sources_table)


alerts_app = typer.Typer(help="The alert outbox: list, retry, cancel, and test channels.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
def alerts_list(
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every alert in the outbox: its story, channel (masked), status, attempts and last error."""
    with _open_store(db, read_only=True) as store:
        rows = store.alerts()
    _show(rows, as_json=as_json, table=_alerts_table)


def _known_alerts(store, ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """{id: (channel key, label, status)} of ``ids``; an error naming the ids the outbox lacks."""
    known = store.alert_channels(ids)
    if unknown := [i for i in ids if i not in known]:
        raise _fail(f"no alert {', '.join(map(str, unknown))} in the outbox (see `newswatch alerts list`)")
    return known


def _retarget(store, ids: list[int], known: dict, channels: list[str]) -> None:
    """Move the alerts ``ids`` to the one of ``channels`` of their scheme: the corrected URL of their
    channel. An error when an alert's scheme has no such URL, or two."""
    import alerts

    configured = [alerts.channel_for(spec) for spec in channels]
    for alert_id in ids:
        key, label, _ = known[alert_id]
        if any(c.key == key for c in configured):
            continue  # already one of these channels
        scheme = label.split("://", 1)[0]
        same = [c for c in configured if c.label.split("://", 1)[0] == scheme]
        if len(same) != 1:
            raise _fail(f"alert {alert_id} is for {label}: give exactly one --alert URL of scheme {scheme}:// to "
                        f"send it there instead ({len(same)} given)")
        store.retarget_alerts([alert_id], same[0])


@alerts_app.command("retry")
def alerts_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids (default: every failed one).")] = None,
    db: DbOption = None,
    alert: Annotated[list[str] | None, typer.Option(
        help="A channel URL; with alert ids, their channel's corrected URL (same scheme): they are sent there "
             "instead. Repeatable.")] = None,
) -> None:
    """Make failed and given-up alerts due now, and deliver them to the configured channels."""
    import pipeline
    from storage import run_lock

    run = _prepare(db=db, alert=alert, reads_sources=False)
    with _open_store(db) as store, run_lock(store.path, wait=None):
        if ids:
            known = _known_alerts(store, ids)
            if alert:
                _retarget(store, ids, known, run.channel_urls())
        due = store.retry_alerts(ids or [])
        outcome = pipeline.deliver(store, run)
    console.print(f"{due} alert(s) made due; {outcome.sent} sent, {outcome.failed} failed again, "
                  f"{outcome.gave_up} given up")
    unmatched = due - outcome.sent - outcome.failed - outcome.gave_up
    if unmatched > 0:
        console.print(f"{unmatched} alert(s) belong to channels not configured here: pass their URL with "
                      "--alert (a corrected one, with their ids) or set NEWSWATCH_ALERT_URLS")
    if outcome.failed or outcome.gave_up:
        raise typer.Exit(code=1)


@alerts_app.command("cancel")
def alerts_cancel(
    ids: Annotated[list[int], typer.Argument(help="Alert ids.")],
    db: DbOption = None,
) -> None:
    """Cancel alerts not sent yet: they are never sent."""
    from storage import run_lock

    with _open_store(db) as store, run_lock(store.path, wait=None):
        known = _known_alerts(store, ids)
        if sent := [i for i in ids if known[i][2] == "sent"]:
            raise _fail(f"alert {', '.join(map(str, sent))} was sent already: nothing to cancel")
        cancelled = store.cancel_alerts(ids)
    console.print(f"{cancelled} alert(s) cancelled")


@alerts_app.command("test")
def alerts_test(url: Annotated[str, typer.Argument(help="The apprise URL to check.")]) -> None:
    """Send a test message to one channel."""
    import alerts

    try:
        alerts.send_test_message(url)
    except alerts.DeliveryError as exc:
        raise _fail(str(exc)) from None
    console.print(f"test message sent to {escape(alerts.mask_url(url))}")
