"""What the analysis pool's fork server loads before it forks a worker.

Importing this module imports the workers' code and fills the caches that extraction builds on first
use: jusText's stoplists of every language, dateparser's patterns of every locale (htmldate asks
dateparser for a date it cannot read itself; about 1 s and 20 MB), and py3langid's model of every
language (about 1 s). Filled once in the fork server,
they are shared by every worker forked from it, instead of being built again in each.
"""

import gc

from htmldate.extractors import external_date_parser

from extractors import extract_article
from pipeline import _analysis  # noqa: F401  (what the workers run)
from seeds import SITE_DIR


def fill_caches() -> None:
    """Extract the demo site's pages, and have dateparser read a date in no locale it knows."""
    for page in sorted(SITE_DIR.rglob("*.html")):
        extract_article(page.read_bytes(), url="http://warm-up.invalid/")
    external_date_parser("Published 11:34", "%Y-%m-%d")


fill_caches()
# The garbage collector of a worker would otherwise write to every object it inherited, and so
# copy the pages they share.
gc.freeze()
