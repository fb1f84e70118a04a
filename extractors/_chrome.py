"""Site-chrome removal that trafilatura alone misses.

Two passes: on the HTML tree before trafilatura (teaser blocks and headline lists that sit inside
the article's own container), and on the extracted lines after it (prompts, file names, labels).
"""

from __future__ import annotations

import contextlib
import datetime
import re

import jdatetime
from hijridate import Gregorian
from lxml import html as lxml_html

from ._article import Removal

# The expand/collapse links that close a teaser of another story, in the languages of the news we read.
_CONTROL = re.compile(
    r"^(keep reading|read more|continue reading|read (the )?full (story|article)|show (less|more)"
    r"|see more|(keep reading\s*)?show less"
    r"|leia mais|continue lendo|ler mais|leer más|seguir leyendo|ver más|lire la suite|voir plus"
    r"|weiterlesen|mehr lesen|leggi tutto|continua a leggere|читать далее|подробнее"
    r"|ادامه مطلب|ادامه خبر|بیشتر بخوانید|اقرأ المزيد|اقرأ أيضا)$",
    re.IGNORECASE,
)
_CONTROL_TRIM = " \t\n›»→…>.:"
# Text a teaser may carry before its headline ("Up next") and after its control ("Show less").
_LABEL_LENGTH = 40
# Controls are short: only elements this short are tested against _CONTROL (filtered in C by lxml).
_CONTROL_MAX_LENGTH = 40
_CONTROL_CANDIDATES = (
    "//*[self::a or self::button or self::span or self::div]"
    f"[string-length(normalize-space(.)) <= {_CONTROL_MAX_LENGTH}]"
)
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}

# Whole lines that are prompts of the site, not text of the article.
_PROMPTS = (
    # social
    r"follow us( on [\w ]+)?", r"follow\b.{0,60}\bon (twitter|facebook|instagram|youtube|tiktok)\b.*",
    r"share( this( article| story)?)?( on \w+)?",
    r"(like this (story|article)\? )?share it with (a friend|your friends)",
    # newsletters, subscriptions, apps
    r"sign up for\b.*", r"subscribe( to\b.*)?", r"get the latest\b.*\bin your inbox",
    r"thanks for (signing up|subscribing)", r"keep an eye on your inbox\b.*", r"([\w'’&-]+ ){1,3}newsletter",
    r"there was an error processing your (subscription|request)", r"get the ([\w'’&-]+ ){1,3}app",
    # navigation and comments
    r"keep reading", r"read more", r"(keep reading\s*)?show less", r"don'?t miss", r"tags", r"tagged", r"topics",
    r"tell us what you think", r"\d* ?comments?", r"leave a (comment|reply)",
    # headings of lists of other stories, left when the list went
    r"related( news| stories| articles| posts| coverage| content)?", r"(the )?latest( news| stories| headlines)?",
    r"most (read|popular|viewed|shared)", r"trending( now| stories)?", r"more (news|stories)",
    # reading times
    r"(reading time|read time|tempo de leitura|tiempo de lectura|temps de lecture|lesezeit|tempo di lettura)"
    r"\s*:?\s*\d+\s*\w+",
    r"\d+\s*min(ute)?s? read",
)
_PROMPT = re.compile(rf"^((click|tap) here to )?({'|'.join(_PROMPTS)})[.!:…]*$", re.IGNORECASE)
# A line that promotes another story: "SEE MORE: ...", "Read more: ...", "RELATED: ...", "Also on
# example.com ...", or a headline tagged in capitals as tabloids link theirs: "... [VIDEO]".
_PROMO = re.compile(r"^(see more|read more|read also|also read|related|read next|recommended|watch|tags)\s*:\s*\S"
                    r"|also on [\w-]+(\.[\w-]+)+ \S|.*(?-i:\[[A-Z]{3,}\])\W*$",
                    re.IGNORECASE)
# An image file name printed as a caption: one token with digits and _ or - (e.g. Shutterstock_645187786-scaled).
_FILE_NAME = re.compile(r"^(?=[\w.-]*\d{3})(?=[\w.-]*[_-])[\w.-]+?(\.(jpe?g|png|gif|webp|avif))?$", re.IGNORECASE)
# Section labels and separators: "Analysis | Middle East", "||".
_LABEL_PART = r"[^|.!?]{0,40}"
_LABEL = re.compile(rf"^\s*{_LABEL_PART}(\|{_LABEL_PART})+$")


def _squash(text: str) -> str:
    return " ".join(text.split())


def find_headline(tree: lxml_html.HtmlElement, title: str | None) -> lxml_html.HtmlElement | None:
    """The element carrying the article's headline: the h1 matching the title, else the first h1."""
    h1s = tree.xpath("//h1")
    wanted = _squash(title or "").casefold()
    for h1 in h1s:
        if wanted and _squash(h1.text_content()).casefold() == wanted:
            return h1
    return h1s[0] if h1s else None


def _led_by_other_headline(node, control, headline_text: str) -> bool:
    """True when ``node`` opens with a headline (a heading, or a link of 3+ words) other than the
    article's, with at most a short label before it: how a teaser of another story looks, and how
    an article body that merely contains a subheading does not."""
    seen = len((node.text or "").strip())
    for element in node.iterdescendants():
        if element.tag in _HEADING_TAGS or (element.tag == "a" and element is not control):
            title = _squash(element.text_content())
            if len(title.split()) >= 3:
                return title.casefold() != headline_text and seen <= _LABEL_LENGTH
        elif element.tag not in ("script", "style"):
            seen += len((element.text or "").strip())
        seen += len((element.tail or "").strip())
        if seen > _LABEL_LENGTH:
            return False
    return False


def _closed_by(node, control) -> bool:
    """True when nothing but a short label follows ``control`` inside ``node``: the control closes it.
    An expand button in the middle of an article body, with the article going on after it, does not."""
    after = 0
    for text in control.xpath("following::text()[normalize-space()][not(ancestor::script)][not(ancestor::style)]"):
        owner = text.getparent()
        inside = (owner is node and not text.is_tail) or (owner is not node and node in owner.iterancestors())
        if not inside:
            return True
        after += len(text.strip())
        if after > _LABEL_LENGTH:
            return False
    return True


def _teaser_block(control, headline, headline_text: str):
    """The smallest ancestor of a control that is led by another story's headline and closed by the
    control, if any."""
    node = control.getparent()
    while node is not None and node.tag not in ("body", "html"):
        if headline is not None and (node is headline or headline in node.iterdescendants()):
            return None
        if _led_by_other_headline(node, control, headline_text):
            return node if _closed_by(node, control) else None
        node = node.getparent()
    return None


def _is_headline_list(element) -> bool:
    items = element.xpath("./li")
    if len(items) < 2:
        return False
    for item in items:
        text = _squash(item.text_content())
        linked = _squash(" ".join(a.text_content() for a in item.xpath(".//a")))
        if not text or (text != linked and not _is_story_card(item)):
            return False
    return True


# Not h1: that is the page's own headline.
_CARD_HEADING_TAGS = tuple(sorted(_HEADING_TAGS - {"h1"}))
# A card's text besides its headline: a kicker and a standfirst, not an article's section.
_STANDFIRST_WORDS = 30


def _is_story_card(element) -> bool:
    """True when ``element`` is a linked headline of 3+ words with at most a standfirst besides:
    how a card of another story looks, and how a section of an article (a heading over
    paragraphs) does not."""
    heading = next(filter(_is_linked, element.iter(_CARD_HEADING_TAGS)), None)
    if heading is None:
        return False
    headline_words = len(heading.text_content().split())
    return headline_words >= 3 and len(element.text_content().split()) - headline_words <= _STANDFIRST_WORDS


def _is_linked(heading) -> bool:
    """A heading that links to another page: the link inside it, or it inside the link."""
    return heading.find(".//a") is not None or next(heading.iterancestors("a"), None) is not None


def _card_grids(tree) -> list:
    """Containers (other than lists) whose children are all story cards, two or more."""
    children_with_headings: dict = {}
    for heading in filter(_is_linked, tree.iter(_CARD_HEADING_TAGS)):
        child = heading
        for parent in heading.iterancestors():
            children_with_headings.setdefault(parent, set()).add(child)
            child = parent
    grids = []
    for parent, children in children_with_headings.items():
        if len(children) < 2 or parent.tag in ("ul", "ol"):
            continue
        cards = [child for child in parent if isinstance(child.tag, str) and child.tag not in ("script", "style")]
        if len(cards) == len(children) and all(_is_story_card(card) for card in cards):
            grids.append(parent)
    return grids


# Fewer words than this besides the headline are a header (byline, date, standfirst), not a story.
_BODY_WORDS = 60


def _other_articles(headline) -> list:
    """The <article> elements that neither hold the headline's <article> nor sit inside it. An
    <article> is one self-contained story, so the others are other stories: "You may also like",
    the next story of an endless scroll, a comment. Nothing when the headline is in no <article>, or
    in one that holds little but the headline: a page may use one for the story's header and another
    for its body."""
    home = next(headline.iterancestors("article"), None) if headline is not None else None
    if home is None or len(home.text_content().split()) - len(headline.text_content().split()) < _BODY_WORDS:
        return []
    outer = set(home.iterancestors("article"))
    return [element for element in home.getroottree().iter("article")
            if element is not home and element not in outer and home not in element.iterancestors()]


# Characters that may separate the links of a card: "Story one | Story two".
_LINK_SEPARATORS = " \t\n|·•,"


def _is_card_of_links(element) -> bool:
    """True when ``element`` holds two or more links of 3+ words and no text outside its links."""
    if sum(len(link.text_content().split()) >= 3 for link in element.iter("a")) < 2:
        return False
    return not "".join(element.xpath(".//text()[not(ancestor::a)]")).strip(_LINK_SEPARATORS)


def _cards_in_paragraphs(tree) -> list:
    """The smallest elements inside a paragraph that are nothing but links to other stories: the
    hover card a site attaches to a person's name, shown by CSS and printed by text extraction
    in the middle of the sentence ("Rep. Ilhan OmarIlhan OmarHillicon Valley: ...")."""
    cards = []
    for paragraph in tree.xpath("//p[count(.//a) >= 2]"):
        found = [element for element in paragraph.iterdescendants()
                 if isinstance(element.tag, str) and element.tag != "a"
                 and next(element.iterancestors("a"), None) is None and _is_card_of_links(element)]
        inner = set(found)
        cards += [card for card in found if not any(element in inner for element in card.iterdescendants())]
    return cards


def remove_chrome_blocks(tree: lxml_html.HtmlElement, headline) -> list[Removal]:
    """Drop teaser blocks, headline lists, other stories' <article> elements and cards of links
    inside paragraphs from the tree in place; return what went."""
    headline_text = _squash(headline.text_content()).casefold() if headline is not None else ""
    found: list[tuple[object, str]] = []
    for element in tree.xpath(_CONTROL_CANDIDATES):
        if _CONTROL.match(_squash(element.text_content()).strip(_CONTROL_TRIM)):
            block = _teaser_block(element, headline, headline_text)
            if block is not None:
                found.append((block, "teaser of another story"))
    for element in tree.iter("ul", "ol"):
        if _is_headline_list(element):
            found.append((element, "list of headlines"))
    found += [(grid, "list of headlines") for grid in _card_grids(tree)]
    found += [(other, "article element of another story") for other in _other_articles(headline)]
    found += [(card, "card of other stories inside a paragraph") for card in _cards_in_paragraphs(tree)]

    blocks = {id(b) for b, _ in found}
    removals = []
    for block, reason in found:
        # Skip blocks inside another removed block, and duplicates.
        if any(id(a) in blocks for a in block.iterancestors()) or block.getparent() is None:
            continue
        removals.append(Removal(reason, _squash(block.text_content())))
        block.drop_tree()
    return removals


# A dateline or byline is short; a sentence that happens to name the day is longer.
_DATE_LINE_WORDS = 12
_ISO_DATE = re.compile(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})")


def _is_date_line(line: str, dates: list[set[int]]) -> bool:
    """A short line carrying the page's own publication date (one of ``dates``, each a year and a
    day), in whatever language, digits or format: "segunda-feira, 22 de janeiro de 2018 às 0:13",
    "05/10/2018 - Publicado por: ...", "السبت ١٢ أبريل ٢٠٢٥". An embedded post's signature ("— Name
    (@handle) October 9, 2018") and a printed URL are content."""
    if len(line.split()) > _DATE_LINE_WORDS or "@" in line or "://" in line:
        return False
    numbers = {int(number) for number in re.findall(r"\d+", line)}  # \d: Arabic-Indic and Persian digits too
    return any(year_and_day <= numbers for year_and_day in dates)


def _calendar_dates(year: int, month: int, day: int) -> list[set[int]]:
    """The year and day of a Gregorian date, and of the same date in the calendars news pages print
    beside or instead of it: the Solar Hijri (Iran, Afghanistan) and the Islamic (Umm al-Qura, as
    Gulf outlets print it; it is defined for 1924–2077 only)."""
    try:
        gregorian = datetime.date(year, month, day)
    except ValueError:  # a page's own date, though no day of the calendar: itself only
        return [{year, day}]
    solar = jdatetime.date.fromgregorian(date=gregorian)
    dates = [{year, day}, {solar.year, solar.day}]
    with contextlib.suppress(OverflowError):
        hijri = Gregorian.fromdate(gregorian).to_hijri()
        dates.append({hijri.year, hijri.day})
    return dates


def _is_table_row(line: str) -> bool:
    """A row of a table as trafilatura prints it, "| Pos | Player | Plays |": content, though its
    cells are as short as a label's. A one-cell row is a layout table's label."""
    cells = line[1:-1].split("|") if line.startswith("|") and line.endswith("|") else []
    return sum(bool(cell.strip()) for cell in cells) >= 2


def filter_chrome_lines(text: str, published: str | None = None) -> tuple[str, list[Removal]]:
    """Drop extracted lines that are prompts, image file names, section labels or, given the page's
    publication date (YYYY-MM-DD), datelines."""
    date = _ISO_DATE.match(published or "")
    dates = _calendar_dates(int(date["year"]), int(date["month"]), int(date["day"])) if date else None
    kept, removals = [], []
    for line in text.split("\n"):
        bare = line.strip().lstrip("-•* ").strip()
        if dates and _is_date_line(bare, dates):
            removals.append(Removal("dateline or byline", bare))
        elif _PROMPT.match(bare):
            removals.append(Removal("social or navigation prompt", bare))
        elif _PROMO.match(bare):
            removals.append(Removal("promotion of another story", bare))
        elif " " not in bare and bare and _FILE_NAME.match(bare):
            removals.append(Removal("image file name", bare))
        elif "|" in bare and _LABEL.match(bare) and not _is_table_row(bare):
            removals.append(Removal("section label", bare))
        else:
            kept.append(line)
    return "\n".join(kept).strip(), removals
