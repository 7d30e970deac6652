"""The settings every index gets: searchable fields by weight, filters, sorts, synonyms, typo tolerance."""

from __future__ import annotations

from search.model import IndexSettings
from search.text import Analyzer, get_default_analyzer

__all__ = ["DEMANDS", "INDEXES", "LISTINGS", "index_settings"]

LISTINGS = "listings"
DEMANDS = "demands"
INDEXES = (LISTINGS, DEMANDS)


def index_settings(name: str, analyzer: Analyzer | None = None) -> IndexSettings:
    """Settings of one index; synonyms come from the analyzer's table (search/data/synonyms.txt by default)."""
    analyzer = analyzer or get_default_analyzer()
    return IndexSettings(name=name, synonyms=analyzer.synonyms.groups)
