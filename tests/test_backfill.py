"""Backfill steps without Prefect (``pipeline.backfill_once``), against a loopback archive site and a
real SMTP server: ranges, chunks, checkpoints, reruns. The flow's orchestration is tested in
test_backfill_flow.py."""

from datetime import date

import pytest

from helpers import (FLAGGED_IN_RANGE, IN_RANGE, PAGES, SIGN_OFF, SINCE, UNTIL, archive_routes, page_requests,
                     sources_toml, stored_paths, write_warc)
from newswatch.loopback import LoopbackSite, Response
from pipeline import backfill_once, load_settings, prepare_run
from storage import Store


def backfill_steps(tmp_path, mail=None, *, since=SINCE, until=UNTIL, chunk_size=4, alert_mode="digest",
                   urls_file=None, warc_files=()):
    """The backfill's steps in this process, without Prefect."""
    settings = load_settings(sources_file=tmp_path / "sources.toml", db_path=tmp_path / "news.db",
                             alert_urls=[mail.alert_url()] if mail else None)
    run = prepare_run(settings, alert_mode=alert_mode, urls_file=urls_file, warc_files=warc_files)
    with Store(settings.db) as store:
        return backfill_once(run, store, since=since, until=until, chunk_size=chunk_size)


def test_backfill_stores_the_range_and_sends_one_digest(tmp_path, archive, mail):
    summary = backfill_steps(tmp_path, mail)

    assert set(stored_paths(archive, tmp_path / "news.db")) == IN_RANGE
    assert (summary.new, summary.flagged, summary.failures) == (len(IN_RANGE), len(FLAGGED_IN_RANGE), [])
    # Pages dated outside the range by the sitemap are never fetched; the undated ones are.
    fetched = set(page_requests(archive))
    assert fetched == IN_RANGE | {"/news/undated/before.html"}
    # One digest for the whole backfill, naming every flagged story.
    (message,) = mail.messages
    body = message.get_body(("html",)).get_content()
    assert message["subject"] == f"[newswatch] {len(FLAGGED_IN_RANGE)} new stories"
    assert all(f'href="{archive.url(path)}"' in body for path in FLAGGED_IN_RANGE)


def test_later_chunks_leave_out_the_line_every_page_of_the_site_repeats(tmp_path):
    """Each chunk is stored before the next is planned: the site memory learnt from the first chunks
    is used on the later ones."""
    with LoopbackSite() as site:
        site.routes.update(archive_routes(site.base_url, PAGES, sign_off=True))
        (tmp_path / "sources.toml").write_text(sources_toml(site.base_url))
        backfill_steps(tmp_path, chunk_size=2)
    with Store(tmp_path / "news.db") as store:
        texts = {url.removeprefix(site.base_url): text for url, text in store.db.execute("select url, text from articles")}
    in_order = sorted(IN_RANGE - {"/news/undated/inside.html"})
    first_chunk, last_dated_chunk = in_order[:2], in_order[-2:]
    assert all(SIGN_OFF in texts[path] for path in first_chunk)
    assert not any(SIGN_OFF in texts[path] for path in last_dated_chunk)
    assert all(len(texts[path].split("\n")) >= 5 for path in last_dated_chunk)  # their five own paragraphs stay


def test_second_backfill_of_a_range_fetches_stores_and_alerts_nothing(tmp_path, archive, mail):
    backfill_steps(tmp_path, mail)
    archive.requests.clear()

    again = backfill_steps(tmp_path, mail)

    assert (again.new, again.fetched, again.alerts_sent) == (0, 0, 0)
    assert page_requests(archive) == []  # every chunk is checkpointed: not even a conditional GET
    assert len(mail.messages) == 1


def test_overlapping_range_stores_only_what_is_new(tmp_path, archive):
    backfill_steps(tmp_path)
    wider = backfill_steps(tmp_path, since=date(2024, 1, 1))
    assert wider.new == 2  # 1 and 2 January
    paths = stored_paths(archive, tmp_path / "news.db")
    assert len(paths) == len(set(paths)) == len(IN_RANGE) + 2


def test_failed_page_is_recorded_and_a_rerun_fetches_it(tmp_path, archive):
    broken = sorted(IN_RANGE)[3]
    page = archive.routes[broken]
    archive.routes[broken] = [Response(b"not yet", "text/plain", 404), page]  # published late

    first = backfill_steps(tmp_path, alert_mode="none")
    assert [url for url, _ in first.failures] == [archive.url(broken)]
    assert broken not in stored_paths(archive, tmp_path / "news.db")

    archive.requests.clear()
    second = backfill_steps(tmp_path, alert_mode="none")
    assert second.new == 1 and broken in stored_paths(archive, tmp_path / "news.db")
    assert page_requests(archive) == [broken]  # only the failed page: the rest of its chunk is stored


def test_url_list(tmp_path, archive):
    wanted = sorted(IN_RANGE)[:3] + ["/news/undated/before.html"]
    urls_file = tmp_path / "urls.txt"
    urls_file.write_text("# picked by hand\n" + "\n".join(archive.url(p) for p in wanted) + "\n\n")

    summary = backfill_steps(tmp_path, urls_file=urls_file)

    # The page dated before the range is fetched (the list gives no dates) but not stored.
    assert summary.new == 3
    assert stored_paths(archive, tmp_path / "news.db") == sorted(wanted[:3])


def test_bad_range_is_a_clear_error(tmp_path, archive):
    with pytest.raises(ValueError, match="before since"):
        backfill_steps(tmp_path, since=UNTIL, until=SINCE)


def test_a_backfill_of_16_sites_interleaves_them_within_each_host_s_limits(tmp_path, monkeypatch):
    """Each chunk takes pages of every site in turn, so all sixteen are fetched at once; at each
    server, no more than NEWSWATCH_PER_HOST requests at a time, started NEWSWATCH_MIN_DELAY apart."""
    from contextlib import ExitStack

    monkeypatch.setenv("NEWSWATCH_PER_HOST", "2")
    monkeypatch.setenv("NEWSWATCH_MIN_DELAY", "0.05")
    with ExitStack() as stack:
        sites = [stack.enter_context(LoopbackSite()) for _ in range(16)]
        for number, site in enumerate(sites):
            site.routes.update(archive_routes(site.base_url, PAGES, seed=number))
            for path, route in site.routes.items():
                route.delay = 0.2 if path.startswith("/news/") else 0  # answers overlap: the limit is what holds
        (tmp_path / "sources.toml").write_text("".join(
            f'[[sources]]\nname = "Site {number}"\nsitemap = "{site.base_url}/sitemap.xml"\n'
            for number, site in enumerate(sites)))
        summary = backfill_steps(tmp_path, chunk_size=64)  # four pages of each site a chunk

    assert summary.new == 16 * len(IN_RANGE) and not summary.failures
    assert all(sorted(page_requests(site)) == sorted(IN_RANGE | {"/news/undated/before.html"}) for site in sites)
    # Never past the limit; and the limit is what held, not the timing: answers that overlap reach it
    # (on a loaded machine a site's requests may happen not to overlap, so not at every site).
    assert max(site.peak_in_flight for site in sites) == 2
    for site in sites:
        assert site.peak_in_flight <= 2
        # Request starts 0.05 s apart, give or take the servers' scheduling: any five span 0.2 s.
        starts = [r.at for r in site.requests]
        assert min(b - a for a, b in zip(starts, starts[4:], strict=False)) >= 4 * 0.05 - 0.03
    pages_at = [[r.at for r in site.requests if r.path.startswith("/news/")] for site in sites]
    assert max(times[0] for times in pages_at) < min(times[4] for times in pages_at)  # every site in the first chunk


def test_a_warc_backfill_stores_each_page_once_and_says_why_the_rest_failed(tmp_path):
    base = "https://archive-times.example"
    warc = tmp_path / "news.warc.gz"
    write_warc(warc, base)
    summary = backfill_steps(tmp_path, warc_files=[warc], alert_mode="none")

    with Store(tmp_path / "news.db") as store:
        stored = sorted(row["url"].removeprefix(base) for row in store.articles())
        failures = {row["url"].removeprefix(base): row["reason"] for row in store.db["fetch_failures"].rows}
    # The pages in range, each once (its first capture); undated "inside" by its own date.
    assert stored == sorted(IN_RANGE) and summary.new == len(IN_RANGE)
    assert failures.pop("/moved") == f"HTTP 301: a redirect to {base}{PAGES[3].path}, not a page"
    assert failures.pop("/logo.png") == "not an HTML page (image/png)"
    assert failures.pop("/gone") == "HTTP 404"
    assert failures == {"/last.html": "truncated: the file ends inside this record"}  # its last 200 bytes cut off

    again = backfill_steps(tmp_path, warc_files=[warc], alert_mode="none")
    assert (again.new, again.duplicates, again.fetched) == (0, 0, 0)


def test_a_missing_warc_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="nowhere.warc.gz: no such WARC file"):
        backfill_steps(tmp_path, warc_files=[tmp_path / "nowhere.warc.gz"])


def test_a_warc_file_cut_inside_its_last_record_s_compressed_member_says_where(tmp_path):
    from sources import index_warc

    whole = tmp_path / "whole.warc.gz"
    write_warc(whole, "https://a.example", cut=0)
    last = index_warc(whole).offsets["https://a.example/last.html"]
    (tmp_path / "cut.warc.gz").write_bytes(whole.read_bytes()[:last + 30])  # the last member's first 30 bytes
    index = index_warc(tmp_path / "cut.warc.gz")
    assert list(index.offsets) == list(index_warc(whole).offsets)[:-1]
    (failure,) = index.failures
    assert failure.reason == f"cut.warc.gz: cut off after byte {last} of {last + 30}; the last record is unread"


def test_a_backfill_from_a_web_archive_s_cdx_answer(tmp_path):
    """A source with `cdx`: a loopback server answering as the Wayback Machine does (its CDX API, and
    each capture at /web/<timestamp>id_/<original>); its captures of HTML pages in the range are read
    from the archive, each URL once."""
    import json

    routes = archive_routes("https://archive-times.example", PAGES)
    in_range = sorted(p for p in IN_RANGE if not p.startswith("/news/undated/"))
    captures = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]]
    for path in in_range + ["/news/2024-01-01/story-0.html"]:  # the last one is before the range
        day = path.split("/")[2].replace("-", "")
        captures.append(["k", f"{day}093000", f"https://archive-times.example{path}", "text/html", "200", "d", "1"])
    captures += [["k", "20240106093000", f"https://archive-times.example{in_range[0]}", "text/html", "200", "d", "1"],
                 ["k", "20240107093000", "https://archive-times.example/logo.png", "image/png", "200", "d", "1"],
                 ["k", "20240107093000", "https://archive-times.example/moved", "text/html", "301", "d", "1"]]
    with LoopbackSite({"/cdx/search/cdx": Response(json.dumps(captures).encode(), "application/json")}) as archive:
        for _, timestamp, original, *_ in captures[1:]:
            path = original.removeprefix("https://archive-times.example")
            if path in routes:
                archive.routes[f"/web/{timestamp}id_/{original}"] = routes[path]
        cdx = archive.url("/cdx/search/cdx") + "?url=archive-times.example/news/*&output=json"
        (tmp_path / "sources.toml").write_text(f'[[sources]]\nname = "Wayback"\ncdx = "{cdx}"\n')
        summary = backfill_steps(tmp_path, alert_mode="none")
        asked = [r.path for r in archive.requests if r.path.startswith("/web/")]

    with Store(tmp_path / "news.db") as store:
        stored = sorted(row["url"] for row in store.articles())
    expected = sorted(archive.url(f"/web/{path.split('/')[2].replace('-', '')}093000id_/https://archive-times.example"
                                  f"{path}") for path in in_range)
    assert stored == expected and summary.new == len(in_range) and not summary.failures
    assert sorted(asked) == sorted(url.removeprefix(archive.base_url) for url in expected)  # nothing else read


def test_a_record_that_cannot_be_read_any_more_is_a_failure_not_a_crash(tmp_path):
    from sources import index_warc, read_archived

    warc = tmp_path / "news.warc.gz"
    write_warc(warc, "https://a.example", cut=0)
    offset = index_warc(warc).offsets[f"https://a.example{PAGES[3].path}"]
    assert read_archived(warc, offset).url == f"https://a.example{PAGES[3].path}"
    warc.write_bytes(b"not a warc any more")
    failure = read_archived(warc, offset)
    assert failure.reason.startswith(f"news.warc.gz: the record at byte {offset} cannot be read")
