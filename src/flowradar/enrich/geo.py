"""Geography and ASN of public addresses from MaxMind DB files (DB-IP Lite by default).

Any MMDB in the GeoIP2/GeoLite2 layout works: City databases (``country.iso_code``,
``city.names.en``, ``location.latitude/longitude``) and ASN databases
(``autonomous_system_number``, ``autonomous_system_organization``). Results are cached per address
in a bounded LRU. Data: IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from flowradar.enrich.lru import CacheInfo, Lru
from flowradar.model.flow import FlowRecord


class GeoInfo(NamedTuple):
    """What the databases say about one address (fields None when unknown)."""

    country: str | None
    city: str | None
    latitude: float | None
    longitude: float | None
    asn: int | None
    as_org: str | None


EMPTY = GeoInfo(None, None, None, None, None, None)


def _open(path: Path | None) -> Any:
    if path is None:
        return None
    import maxminddb

    try:
        return maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot open MMDB {path}: {exc}") from None


class GeoLookup:
    """Cached lookups in a city database and an ASN database (either may be absent)."""

    def __init__(self, city_db: Path | None, asn_db: Path | None, cache_size: int = 65536) -> None:
        self._city = _open(city_db)
        self._asn = _open(asn_db)
        self._cache: Lru[str, GeoInfo] = Lru(cache_size)
        self.paths = (city_db, asn_db)

    @property
    def available(self) -> bool:
        """At least one database is open."""
        return self._city is not None or self._asn is not None

    def lookup(self, ip: str) -> GeoInfo:
        """Country, city, location, ASN and organisation of an address (cached)."""
        hit = self._cache.get(ip)
        if hit is not None:
            return hit
        info = self._read(ip)
        self._cache.put(ip, info)
        return info

    def _read(self, ip: str) -> GeoInfo:
        try:
            city = self._city.get(ip) if self._city is not None else None
            asn = self._asn.get(ip) if self._asn is not None else None
        except ValueError:
            return EMPTY
        if city is None and asn is None:
            return EMPTY
        country = name = lat = lon = None
        if isinstance(city, dict):
            country = (city.get("country") or city.get("registered_country") or {}).get("iso_code")
            name = ((city.get("city") or {}).get("names") or {}).get("en")
            loc = city.get("location") or {}
            lat, lon = loc.get("latitude"), loc.get("longitude")
        number = org = None
        if isinstance(asn, dict):
            number = asn.get("autonomous_system_number")
            org = asn.get("autonomous_system_organization")
        return GeoInfo(
            country,
            name,
            float(lat) if lat is not None else None,
            float(lon) if lon is not None else None,
            int(number) if number is not None else None,
            org,
        )

    def database_types(self) -> list[str]:
        """database_type and build date of each open database."""
        import datetime

        out = []
        for reader in (self._city, self._asn):
            if reader is not None:
                meta = reader.metadata()
                day = datetime.datetime.fromtimestamp(meta.build_epoch, datetime.UTC).date()
                out.append(f"{meta.database_type} ({day})")
        return out

    def cache_info(self) -> CacheInfo:
        """The per-address cache."""
        return self._cache.info()

    def close(self) -> None:
        """Close the databases."""
        for reader in (self._city, self._asn):
            if reader is not None:
                reader.close()
        self._city = self._asn = None


class GeoEnricher:
    """Fills country, city, latitude, longitude, asn and as_org of the public remote endpoint."""

    name = "geo"

    def __init__(self, lookup: GeoLookup) -> None:
        self.lookup = lookup

    def enrich(self, record: FlowRecord) -> bool:
        """Locate the remote endpoint of one flow."""
        return self._enrich(record, {})

    def _enrich(self, record: FlowRecord, memo: dict[str, GeoInfo]) -> bool:
        e = record.enrich
        ip = e.remote_ip or record.dst_ip
        if e.dst_class is not None and ip == record.dst_ip and e.dst_class != "public":
            return False
        if e.src_class is not None and ip == record.src_ip and e.src_class != "public":
            return False
        g = memo.get(ip)
        if g is None:
            g = memo[ip] = self.lookup.lookup(ip)
        if g is EMPTY:
            return False
        e.country, e.city, e.latitude, e.longitude, e.asn, e.as_org = g
        return True

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Locate the remote endpoint of every flow (each distinct address once per batch)."""
        memo: dict[str, GeoInfo] = {}
        enrich = self._enrich
        for rec in records:
            enrich(rec, memo)

    def cache_info(self) -> CacheInfo:
        """The per-address cache."""
        return self.lookup.cache_info()

    def close(self) -> None:
        """Close the databases."""
        self.lookup.close()
