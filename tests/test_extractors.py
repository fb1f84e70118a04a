import pytest

from helpers import (ARABIC_PATH, CHROME, EUROPE_PATH, FLAGGED_PATHS, NOT_FLAGGED_PATHS, PERSIAN_PATH, REJECTED_PATH,
                     RUSSIA_UKRAINE_PATH, TOKYO_BODY, TOKYO_PATH, seed_page)
import seeds
from extractors import MAX_HTML_BYTES, ExtractionError, SiteMemory, extract_article
from extractors._extract import _parse
from extractors._metadata import page_metadata
from extractors._site_memory import REPEATED, line_fingerprint

BASE = "http://127.0.0.1:8765"


def page(body: str, *, title: str = "Envoys meet in Muscat", head: str = "") -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
            f"<body><header><nav><a href='/'>Home</a></nav></header><main><h1>{title}</h1>{body}</main>"
            "<footer>© Example News</footer></body></html>")


ARTICLE = "".join(f"<p>{sentence}</p>" for sentence in [
    "Diplomats from both countries met in Muscat on Saturday for a second round of indirect talks.",
    "The delegations sat in separate rooms while Omani officials carried messages between them.",
    "Officials said the next round would take place in Rome within two weeks, after consultations.",
])


# Sentences of OTHER stories that each seed page carries as teasers or headline lists.
FOREIGN_SENTENCES = {
    TOKYO_PATH: ["Samuel Charap and Johns Hopkins", "ProPublica", "Ursula von der Leyen",
                 "Diplomacy Watch: A peace summit without Russia", "The Pentagon's budget request"],
    RUSSIA_UKRAINE_PATH: ["Rouhani's trip to Tokyo on December 20-21", "Can Rouhani’s Tokyo Trip", "ProPublica"],
    REJECTED_PATH: ["The EU condemned Iran's attack on Israel with one voice", "US and Iran hold indirect talks in Oman",
                    "Oil prices slip as OPEC"],
    EUROPE_PATH: ["Tehran says Washington sought a face-to-face meeting", "Iran: We Rejected Trump",
                  "US and Iran hold indirect talks in Oman"],
    # Right-to-left pages: related headlines, the footer, and a dateline in Arabic-Indic or Persian digits.
    ARABIC_PATH: ["أسعار النفط ترتفع", "قمة خليجية الشهر المقبل", "جميع الحقوق محفوظة", "اتصل بنا", "١٢ أبريل ٢٠٢٥"],
    PERSIAN_PATH: ["کاهش قیمت دلار", "جلسه علنی مجلس", "کلیه حقوق این سایت", "۳۱ فروردین ۱۴۰۴"],
}

PERSIAN_ARTICLE = "".join(f"<p>{sentence}</p>" for sentence in [
    "دور دوم مذاکرات غیرمستقیم ایران و آمریکا روز شنبه در مسقط برگزار شد و هیئت‌ها در اتاق‌های جداگانه نشستند.",
    "مقام‌های عمانی پیام‌ها را میان دو هیئت رد و بدل کردند و گفتند دور بعدی در رم برگزار خواهد شد.",
    "سخنگوی وزارت امور خارجه گفت که گفت‌وگوها سازنده بود اما هنوز توافقی حاصل نشده است.",
])


@pytest.mark.parametrize("path", FLAGGED_PATHS + NOT_FLAGGED_PATHS)
def test_seed_pages_lose_all_chrome(path):
    article = extract_article(seed_page(path), url=BASE + path)
    for chrome in CHROME:
        assert chrome not in article.text
    for sentence in FOREIGN_SENTENCES[path]:
        assert sentence not in article.text


@pytest.mark.parametrize("path, language, published, words", [
    (ARABIC_PATH, "ar", "2025-04-12", "عقد وزير الخارجية الإيراني عباس عراقجي والمبعوث الأمريكي"),
    (PERSIAN_PATH, "fa", "2025-04-20", "قرار است در سفارت عمان در رم با یکدیگر گفت\u200cوگو کنند"),
])
def test_right_to_left_pages_keep_their_text_language_and_date(path, language, published, words):
    """The Arabic page is windows-1256 with no charset from the server (its own meta names it); the
    Persian one is UTF-8, with zero-width non-joiners inside words."""
    article = extract_article(seed_page(path), url=BASE + path, content_type="text/html")
    assert (article.language, article.published) == (language, published)
    assert words in article.text


def test_a_dateline_in_the_solar_hijri_calendar_is_chrome():
    """The Persian page prints its date (2025-04-20) as 31 Farvardin 1404, in Persian digits."""
    article = extract_article(seed_page(PERSIAN_PATH), url=BASE + PERSIAN_PATH)
    assert ("dateline or byline", "یکشنبه ۳۱ فروردین ۱۴۰۴ - ۱۰:۰۰") in [(r.reason, r.text) for r in article.removed]


def test_tokyo_page_keeps_the_whole_article_and_says_what_it_removed():
    article = extract_article(seed_page(TOKYO_PATH), url=BASE + TOKYO_PATH)
    for paragraph in TOKYO_BODY:
        assert paragraph in article.text
    reasons = [r.reason for r in article.removed]
    assert reasons.count("teaser of another story") == 3
    assert "list of headlines" in reasons


def test_metadata_of_a_seed_page():
    article = extract_article(seed_page(REJECTED_PATH), url=BASE + REJECTED_PATH + "?utm_source=feed")
    assert article.title == "Iran: We Rejected Trump's Push For A Secret Face To Face Meeting"
    assert article.canonical_url == BASE + REJECTED_PATH
    assert article.author == "Staff Reporter"
    assert article.published == "2017-09-25"
    assert article.language == "en"
    assert article.site_name == "Global Wire Daily"
    assert not article.text.startswith(article.title)  # the headline is a field, not the first line


METADATA_VARIANTS = {
    "byline only": page(ARTICLE + "<p class='byline'>By Jane Roe</p><time datetime='2024-05-02'>2 May</time>"),
    "JSON-LD": page(ARTICLE, head='<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Envoys '
                                  'meet", "author": {"@type": "Person", "name": "Ali Reza"}, "datePublished": '
                                  '"2024-05-03", "publisher": {"@type": "Organization", "name": "Gulf Wire"}}</script>'),
    "one-word author, @site": page(ARTICLE, head="<meta name='author' content='staff'>"
                                                 "<meta name='twitter:site' content='@gulfwire'>"),
    "nothing but a URL": page(ARTICLE),
    "untrimmed og:title": page(ARTICLE, head="<meta property='og:title' content='Envoys  meet &amp;amp; talk '>"),
    **{path: body for path, (ctype, body) in seeds.demo_site(BASE).items() if ctype.startswith("text/html")},
}


def test_page_metadata_is_trafilaturas_for_the_fields_an_article_keeps():
    """page_metadata repeats trafilatura's metadata steps less categories, tags and licence: an
    upgrade of trafilatura that changes those steps must show here."""
    from trafilatura.metadata import extract_metadata

    fields = ("title", "author", "url", "date", "sitename")
    found = set()
    for body in METADATA_VARIANTS.values():
        for url in (BASE + "/news/2024/05/envoys.html", None):
            ours, theirs = page_metadata(_parse(body), url), extract_metadata(_parse(body), url)
            assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields]
            found |= {f for f in fields if getattr(theirs, f)}
    assert found == set(fields)  # the pages exercise every field, not only its absence


@pytest.mark.parametrize("og_title, h1", [
    ("Envoys meet in Muscat | Example News", "Envoys meet in Muscat"),  # the og:title carries the site's name
    ("Envoys ‘meet’ in Muscat", "Envoys 'meet' in  Muscat"),  # quotes and spacing differ
])
def test_the_headline_is_not_the_first_line_whatever_its_version(og_title, h1):
    article = extract_article(page(ARTICLE, title=h1, head=f"<meta property='og:title' content='{og_title}'>"))
    assert article.text.startswith("Diplomats from both countries")


def test_a_first_line_unlike_the_title_stays_in_the_text():
    """An h1 that is not the og:title is in no other field: the text keeps it."""
    article = extract_article(page(ARTICLE, title="Envoys meet in Muscat",
                                   head="<meta property='og:title' content='A second round in Oman'>"))
    assert article.title == "A second round in Oman"
    assert article.text.startswith("Envoys meet in Muscat")

def test_teaser_with_read_more_inside_the_article_container_is_removed():
    teaser = ("<div class='x1'><h3><a href='/other'>Oil prices climb as Gulf tensions rise</a></h3>"
              "<p>Brent crude rose three percent on Monday as traders weighed the risks.</p>"
              "<a class='x2' href='/other'>Read more »</a></div>")
    article = extract_article(page(ARTICLE + teaser))
    assert "Brent crude" not in article.text
    assert "second round of indirect talks" in article.text
    assert article.removed[0].reason == "teaser of another story"


def test_a_read_more_link_inside_the_article_does_not_remove_the_article():
    body = ARTICLE.replace("</p>", " <a href='/full'>Read more</a></p>", 1)
    article = extract_article(page(body))
    assert "Omani officials carried messages" in article.text
    assert "next round would take place in Rome" in article.text


def test_chrome_lines_in_the_body_container_are_dropped():
    chrome = ("<p>Follow us on social</p><p>Shutterstock_645187786-scaled</p>"
              "<p>Analysis | Middle East</p><p>keep readingShow less</p>")
    article = extract_article(page(chrome + ARTICLE))
    for line in ["Follow us on social", "Shutterstock_645187786-scaled", "Analysis | Middle East", "keep reading"]:
        assert line not in article.text
    assert {r.reason for r in article.removed} >= {"social or navigation prompt", "image file name", "section label"}
    assert "Diplomats from both countries" in article.text


def test_headings_left_by_lists_of_other_stories_are_dropped():
    headings = "".join(f"<p>{h}</p>" for h in ["Related news", "Most read", "The latest", "Trending now"])
    body = ARTICLE + "<p>The latest round was related to the prisoner file, and most read it as progress.</p>"
    article = extract_article(page(headings + body))
    for heading in ["Related news", "Most read", "The latest", "Trending now"]:
        assert heading not in article.text.splitlines()
    assert "The latest round was related to the prisoner file" in article.text


MORE_ARTICLE = "".join(f"<p>{sentence}</p>" for sentence in [
    "Neither side released a statement after the session, which lasted more than four hours.",
    "Analysts said the choice of Muscat reflected Oman's long record as a discreet channel between the two.",
])


def test_article_elements_of_other_stories_are_removed():
    other_story = ("<article class='post'><p>Gratitude lives in the details: a smile on waking, a prayer of thanks for "
                   "another day, and the patience to see that real happiness comes from within, whatever the "
                   "weather and whatever the news may bring to the door …</p></article>")
    html = ("<!DOCTYPE html><html lang='en'><head><title>Envoys meet in Muscat</title></head><body><main>"
            f"<article class='post'><h1>Envoys meet in Muscat</h1>{ARTICLE}{MORE_ARTICLE}</article>"
            f"<article class='post'><h3>You may also like</h3>{other_story}{other_story.replace('Gratitude', 'Hope')}"
            "</article></main></body></html>")
    article = extract_article(html)
    assert "real happiness comes from within" not in article.text
    assert "second round of indirect talks" in article.text
    assert "article element of another story" in {r.reason for r in article.removed}


def test_a_body_in_an_article_element_apart_from_the_headlines_is_kept():
    html = ("<!DOCTYPE html><html lang='en'><head><title>Envoys meet in Muscat</title></head><body><main>"
            "<article class='story-header'><h1>Envoys meet in Muscat</h1><p>By Staff Reporter</p></article>"
            f"<article class='story-body'>{ARTICLE}{MORE_ARTICLE}</article></main></body></html>")
    article = extract_article(html)
    assert "second round of indirect talks" in article.text
    assert "article element of another story" not in {r.reason for r in article.removed}


def test_an_embedded_post_is_kept_as_the_article_quotes_it():
    post = ("<div class='social-media-embed'><blockquote class='twitter-tweet'><p lang='en'>Useful talks in Muscat "
            "today; the ball is now in Washington's court.</p>— Foreign Minister (@fm) "
            "<a href='https://twitter.com/fm/status/1'>April 12, 2025</a></blockquote>"
            "<script async src='https://platform.twitter.com/widgets.js'></script></div>")
    article = extract_article(page(ARTICLE.replace("</p>", f"</p>{post}", 1)))
    assert "the ball is now in Washington's court" in article.text
    assert "Officials said the next round would take place in Rome" in article.text


def test_a_card_of_other_stories_inside_a_sentence_is_removed():
    card = ("<span class='person'><a href='/people/albusaidi'>Badr Albusaidi</a><span class='hover'>"
            "<a href='/people/albusaidi'>Badr Albusaidi</a><a href='/a'>Oman hosts a second round of talks</a> "
            "<a href='/b'>Foreign minister visits Tehran for consultations</a></span></span>")
    body = ARTICLE + f"<p>The talks were led by {card}, Oman's foreign minister, who carried the messages.</p>"
    article = extract_article(page(body))
    assert "The talks were led by Badr Albusaidi, Oman's foreign minister, who carried the messages." in article.text
    assert "Oman hosts a second round" not in article.text
    assert "card of other stories inside a paragraph" in {r.reason for r in article.removed}


def test_the_header_row_of_a_table_is_kept():
    table = ("<table><tr><th>Round</th><th>Venue</th><th>Mediator</th></tr>"
             "<tr><td>First round, April 12</td><td>Muscat, Oman</td><td>Badr Albusaidi, foreign minister</td></tr></table>")
    article = extract_article(page(ARTICLE + table))
    assert "| Round | Venue | Mediator |" in article.text
    assert "section label" not in {r.reason for r in article.removed}


def test_prose_with_a_pipe_or_a_number_is_kept():
    body = ARTICLE + "<p>Talks resumed in 2021 | officials said the gap had narrowed, though no date was set.</p>"
    article = extract_article(page(body))
    assert "officials said the gap had narrowed" in article.text


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    (b"<html><body></body></html>", "not an HTML document"),
    (b"<html><body><script>var page = 1;</script><div> </div></body></html>", "no article text"),
])
def test_bad_input_gives_a_clear_error(raw, reason):
    with pytest.raises(ExtractionError, match=reason):
        extract_article(raw)


def test_oversized_input_is_refused():
    with pytest.raises(ExtractionError, match="too large"):
        extract_article(b"<p>" + b"x" * MAX_HTML_BYTES + b"</p>")


def test_utf8_page_declared_as_latin1_has_no_mojibake():
    body = page(ARTICLE.replace("Muscat", "Muscat — “Masqaṭ” — with Araghchi’s team"),
                head="<meta http-equiv='Content-Type' content='text/html; charset=iso-8859-1'>")
    article = extract_article(body.encode("utf-8"))
    assert "“Masqaṭ”" in article.text and "Araghchi’s" in article.text
    assert "â€" not in article.text


def test_latin1_page_declared_as_utf8_is_decoded():
    french = "".join(f"<p>{s}</p>" for s in [
        "Les délégués iraniens et américains se sont réunis à Genève mercredi, a indiqué le ministère des Affaires étrangères.",
        "Selon un diplomate européen, les discussions ont porté sur l'échange de prisonniers et sur l'accès des inspecteurs.",
        "Aucune déclaration commune n'a été publiée à l'issue de la réunion, mais une nouvelle séance est prévue.",
        "Les deux délégations ont été reçues séparément par des médiateurs suisses, qui ont transmis les messages.",
    ])
    article = extract_article(page(french, title="Réunion à Genève").encode("latin-1"))
    assert "se sont réunis à Genève mercredi" in article.text
    assert "médiateurs suisses" in article.text


def legacy_page(body: str) -> str:
    """A page of over 10 KB with no charset of its own, whose only non-ASCII text is its article, in the
    middle, as on a real site (trafilatura guesses a charset from the first and last 5 KB)."""
    scripts = "<script>window.analytics = window.analytics || [];</script>" * 100
    links = "".join(f"<li><a href='/section/{n}'>Section {n}</a></li>" for n in range(150))
    return (page(body, head=scripts).replace("<meta charset='utf-8'>", "")
            .replace("<footer>© Example News</footer>", f"<footer><ul>{links}</ul></footer>"))


@pytest.mark.parametrize("content_type", [
    "text/html; charset=windows-1252",
    "text/html; charset=ISO-8859-1",  # as browsers read it: windows-1252
    "text/html",  # nothing declared: windows-1252, as browsers assume
])
def test_a_windows_1252_page_keeps_its_quotes_and_dashes(content_type):
    body = ARTICLE.replace("Muscat on", "Muscat — “Masqat” — on").replace("Omani officials", "Oman’s officials")
    article = extract_article(legacy_page(body).encode("cp1252"), content_type=content_type)
    assert "Muscat — “Masqat” — on Saturday" in article.text and "Oman’s officials" in article.text
    assert "\ufffd" not in article.text


def test_a_charset_the_server_declares_is_used():
    persian = PERSIAN_ARTICLE.replace("ی", "ي")  # windows-1256 has the Arabic yeh, not the Persian one
    html = legacy_page(persian).replace("lang='en'", "lang='fa' dir='rtl'")
    article = extract_article(html.encode("cp1256"), content_type="text/html; charset=windows-1256")
    assert "مذاکرات غيرمستقيم ايران و آمريکا" in article.text


def test_a_utf8_page_the_server_calls_windows_1252_is_read_as_utf8():
    body = ARTICLE.replace("Muscat on", "Muscat — “Masqaṭ” — on")
    article = extract_article(legacy_page(body).encode("utf-8"), content_type="text/html; charset=windows-1252")
    assert "“Masqaṭ”" in article.text and "â€" not in article.text


def test_persian_page_is_extracted():
    html = page(PERSIAN_ARTICLE, title="دور دوم مذاکرات در مسقط").replace("lang='en'", "lang='fa' dir='rtl'")
    article = extract_article(html.encode("utf-8"))
    assert "مذاکرات غیرمستقیم" in article.text
    assert article.language == "fa"


def test_an_expand_button_inside_the_article_body_keeps_the_body():
    """A body container that opens with a carousel of other headlines and has a "Read More" expand
    button half-way (as on CNN's pages) is the article, not a teaser: the control does not close it."""
    carousel = "".join(f"<li><a href='/v{i}'>Video: another story number {i} today</a></li>" for i in range(3))
    paragraphs = [f"<div class='para'>{s}</div>" for s in [
        "Diplomats from both countries met in Muscat on Saturday for a second round of indirect talks.",
        "The delegations sat in separate rooms while Omani officials carried messages between them.",
        "Officials said the next round would take place in Rome within two weeks, after consultations.",
        "Both sides described the atmosphere as constructive and said technical teams would meet.",
    ]]
    body = (f"<div class='body'><ul class='carousel'>{carousel}</ul>{''.join(paragraphs[:2])}"
            f"<button>Read More</button>{''.join(paragraphs[2:])}</div>")
    article = extract_article(page(body))
    assert "next round would take place in Rome" in article.text
    assert "technical teams would meet" in article.text
    assert not [r for r in article.removed if r.reason == "teaser of another story"]


def test_persian_teaser_closed_by_its_control_is_removed():
    teaser = ("<div><h3><a href='/other'>قیمت نفت در بازارهای جهانی افزایش یافت</a></h3>"
              "<p>بهای نفت برنت روز دوشنبه سه درصد بالا رفت و معامله‌گران خطر عرضه را سنجیدند.</p>"
              "<a href='/other'>ادامه مطلب</a></div>")
    html = page(PERSIAN_ARTICLE + teaser, title="دور دوم مذاکرات در مسقط").replace("lang='en'", "lang='fa' dir='rtl'")
    article = extract_article(html.encode("utf-8"))
    assert "مذاکرات غیرمستقیم" in article.text
    assert "بهای نفت برنت" not in article.text


def test_promotions_and_newsletter_lines_are_dropped():
    chrome = ("<p>SEE MORE: Protests spread to the capital</p><p>Thanks for signing up!</p>"
              "<p>Keep an eye on your inbox for the latest news.</p><p>Tags: diplomacy, Oman</p>")
    article = extract_article(page(ARTICLE + chrome))
    for line in ["SEE MORE", "Thanks for signing up", "Keep an eye on your inbox", "Tags:"]:
        assert line not in article.text
    assert "promotion of another story" in {r.reason for r in article.removed}


def test_comment_share_and_tagged_promotion_lines_are_dropped():
    chrome = ("<p>Like this story? Share it with a friend!</p><p>Tell us what YOU think...</p><p>12 comments</p>"
              "<p>Morning Briefing Newsletter</p><p>Also on example.com Ferry strike ends after two weeks</p>"
              "<p>CLICK HERE TO GET THE COURIER APP</p><p>Click here to subscribe to the Harbour Letter</p>"
              "<p>Follow the Courier's Gulf desk on Instagram, Facebook and YouTube.</p>"
              "<p>Reading time: 3 minutes</p><p>4 min read</p>"
              "<p>The minister urged his supporters to follow him on Twitter for news of the talks.</p>"
              "<p><a href='/x'>Harbour reopens after the storm</a> [<strong>VIDEO]</strong></p>")
    article = extract_article(page(ARTICLE + chrome))
    for line in ["Share it with a friend", "what YOU think", "comments", "Newsletter", "Also on", "[VIDEO]",
                 "COURIER APP", "Harbour Letter", "Gulf desk", "Reading time", "min read"]:
        assert line not in article.text
    assert "urged his supporters to follow him on Twitter" in article.text
    assert "next round would take place in Rome" in article.text


STORY_CARD = ("<div class='card'><a href='/{n}'><img src='/{n}.jpg' alt=''><h3>Ferry service {n} resumes "
              "after the storm</h3></a><p>Harbour officials said boats would run hourly again.</p></div>")


@pytest.mark.parametrize("cards", [
    "<div class='more'>" + "".join(STORY_CARD.format(n=n) for n in range(3)) + "</div>",
    "<ul>" + "".join("<li>" + STORY_CARD.format(n=n) + "</li>" for n in range(3)) + "</ul>",
])
def test_a_grid_of_other_stories_cards_is_removed(cards):
    article = extract_article(page(ARTICLE + cards))
    assert "Ferry service" not in article.text and "boats would run hourly" not in article.text
    assert "list of headlines" in {r.reason for r in article.removed}
    assert "Diplomats from both countries" in article.text


def test_sections_under_linked_headings_are_the_article():
    sections = "".join(
        f"<section><h2><a href='#part-{n}'>Part {n} of the negotiations</a></h2>{ARTICLE}</section>" for n in range(2))
    article = extract_article(page(f"<div class='body'>{sections}</div>"))
    assert article.text.count("carried messages between them") == 2
    assert not article.removed


def test_a_short_line_with_the_pages_own_date_is_dropped():
    head = "<meta property='article:published_time' content='2019-03-22T09:15:00Z'>"
    tweet = "— Oman News Agency (@ONA_eng) March 22, 2019"
    body = (f"<p>Friday, 22 March 2019 | 09:15</p>{ARTICLE}<p>{tweet}</p>"
            "<p>On 22 March 2019 the ministers agreed to meet again in Rome, after a day of talks in the old city.</p>")
    article = extract_article(page(body, head=head))
    assert article.published == "2019-03-22"
    assert "Friday, 22 March" not in article.text
    assert "dateline or byline" in {r.reason for r in article.removed}
    assert tweet in article.text and "On 22 March 2019 the ministers agreed" in article.text


# -- site memory: the lines a site repeats on its pages ------------------------------------------

SIGN_OFF = "The Gulf Courier is an independent newspaper, read in Muscat since 1897 by 42,000 people."
CREDIT = "Pictures: Courier staff"


def story(number: int) -> str:
    """A page of the Gulf Courier: its own story between the lines the site prints on every page."""
    sentences = [f"Story {number} begins with a sentence of its own about harbour {number} and its ferries.",
                 CREDIT,
                 f"Story {number} goes on with another sentence that no other page of the site carries."]
    return page("".join(f"<p>{s}</p>" for s in sentences) + f"<p>{SIGN_OFF}</p>", title=f"Story {number}")


def learnt(*lines: str, pages: int = 5) -> dict[str, SiteMemory]:
    return {"gulf-courier.example": SiteMemory(pages, frozenset(line_fingerprint(line) for line in lines))}


def test_lines_the_site_repeats_are_dropped_and_listed():
    article = extract_article(story(1), url="https://www.gulf-courier.example/news/1",
                              site_memory=learnt(SIGN_OFF, CREDIT))
    assert SIGN_OFF not in article.text and CREDIT not in article.text
    assert "Story 1 begins" in article.text and "Story 1 goes on" in article.text
    assert {(r.reason, r.text) for r in article.removed} >= {(REPEATED, SIGN_OFF), (REPEATED, CREDIT)}


def test_another_sites_memory_changes_nothing():
    article = extract_article(story(1), url="https://other.example/news/1", site_memory=learnt(SIGN_OFF, CREDIT))
    assert SIGN_OFF in article.text and CREDIT in article.text


def test_a_repeated_line_matches_whatever_its_numbers_case_and_spacing():
    variant = SIGN_OFF.replace("1897", "1898").replace("42,000", "43,500").upper().replace(" ", "  ")
    memory = learnt(variant)["gulf-courier.example"]
    text, removed = memory.drop_repeated(f"Own first line.\n{SIGN_OFF}")
    assert text == "Own first line." and [r.text for r in removed] == [SIGN_OFF]


LONG_BACKGROUND = ("Iran and six world powers reached a deal in 2015 under which Tehran curbed its nuclear work in "
                   "return for relief from sanctions, and the United States left it in 2018, bringing them back.")


def test_a_long_repeated_paragraph_inside_the_text_is_kept():
    """Wire services repeat background paragraphs word for word: inside the text they are the article."""
    memory = learnt(LONG_BACKGROUND, "Advertisement")["gulf-courier.example"]
    text = f"Own first line of the story.\n{LONG_BACKGROUND}\nAdvertisement\nOwn last line of the story."
    kept, removed = memory.drop_repeated(text)
    assert kept == f"Own first line of the story.\n{LONG_BACKGROUND}\nOwn last line of the story."
    assert [r.text for r in removed] == ["Advertisement"]


def test_repeated_lines_at_the_edges_go_whatever_their_length():
    memory = learnt(LONG_BACKGROUND, SIGN_OFF)["gulf-courier.example"]
    kept, _ = memory.drop_repeated(f"{LONG_BACKGROUND}\nThe one line of this story.\n{SIGN_OFF}\n{LONG_BACKGROUND}")
    assert kept == "The one line of this story."


def test_a_page_of_nothing_but_repeated_lines_is_kept_whole():
    memory = learnt(SIGN_OFF, CREDIT)["gulf-courier.example"]
    assert memory.drop_repeated(f"{CREDIT}\n{SIGN_OFF}") == (f"{CREDIT}\n{SIGN_OFF}", [])


def test_a_dateline_in_the_islamic_calendar_is_chrome():
    from extractors._chrome import filter_chrome_lines

    # 2025-04-12 is 14 Shawwal 1446 (Umm al-Qura), here in Arabic-Indic digits.
    text, removed = filter_chrome_lines("عقد الوفدان جولة ثانية من المحادثات في مسقط.\nالسبت ١٤ شوال ١٤٤٦ هـ",
                                        "2025-04-12")
    assert text == "عقد الوفدان جولة ثانية من المحادثات في مسقط."
    assert [r.reason for r in removed] == ["dateline or byline"]
    # Outside the dates the Islamic calendar is defined for here, the Gregorian ones still count.
    assert filter_chrome_lines("Body of the story.\n3 March 1900", "1900-03-03")[0] == "Body of the story."
