"""Refreshing the data from the official sources (the only part of enrichment that uses the network).

``flowradar data update`` fetches this month's DB-IP City Lite and ASN Lite (gzip MMDB, CC BY 4.0);
``flowradar intel update`` fetches FireHOL level 1, Spamhaus DROP, the Emerging Threats block list,
the abuse.ch Feodo IP block list and the URLhaus host file. Files land in the data directory, are
checked (an MMDB must open, a list must yield entries) and replace the previous copy atomically;
they then take precedence over the packaged defaults. Offline, each fails with one line.
"""

from __future__ import annotations

import datetime
import gzip
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from flowradar.enrich.datafiles import GEO_FILES, DataError
from flowradar.enrich.intel_formats import parse_list

MAX_DOWNLOAD = 512 * 1024 * 1024
TIMEOUT_S = 20.0
INTEL_SOURCES = {
    "firehol_level1.netset": "https://iplists.firehol.org/files/firehol_level1.netset",
    "spamhaus_drop.txt": "https://www.spamhaus.org/drop/drop.txt",
    "emerging_threats.txt": "https://rules.emergingthreats.net/fwrules/emerging-Block-IPs.txt",
    "feodo_ipblocklist.txt": "https://feodotracker.abuse.ch/downloads/ipblocklist.txt",
    "urlhaus_hostfile.txt": "https://urlhaus.abuse.ch/downloads/hostfile/",
}


def dbip_urls(today: datetime.date | None = None) -> dict[str, str]:
    """Download addresses of this month's DB-IP Lite databases."""
    month = (today or datetime.date.today()).strftime("%Y-%m")
    base = "https://download.db-ip.com/free"
    return {"city": f"{base}/dbip-city-lite-{month}.mmdb.gz", "asn": f"{base}/dbip-asn-lite-{month}.mmdb.gz"}


def fetch(url: str) -> bytes:
    """GET a URL (bounded size and time); any failure is one DataError line."""
    req = urllib.request.Request(url, headers={"User-Agent": "flowradar-data-update"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            data: bytes = resp.read(MAX_DOWNLOAD + 1)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"cannot reach {urllib.parse.urlsplit(url).hostname} (offline?): {reason}") from None
    if len(data) > MAX_DOWNLOAD:
        raise DataError(f"{url}: larger than {MAX_DOWNLOAD} bytes")
    return data


def _replace(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)


def update_geo(data_dir: Path) -> list[str]:
    """Fetch, check and install DB-IP City Lite and ASN Lite; one line per database."""
    import maxminddb

    done = []
    for kind, url in dbip_urls().items():
        raw = gzip.decompress(fetch(url))
        target = data_dir / "geo" / GEO_FILES[kind]
        _replace(target.with_suffix(".new"), raw)
        try:
            with maxminddb.open_database(str(target.with_suffix(".new"))) as reader:
                kind_name = reader.metadata().database_type
        except (OSError, ValueError) as exc:
            target.with_suffix(".new").unlink()
            raise DataError(f"{url}: not a valid MMDB ({exc})") from None
        target.with_suffix(".new").replace(target)
        done.append(f"{kind_name}: {target} ({len(raw):,} bytes)")
    return done


def update_intel(data_dir: Path) -> list[str]:
    """Fetch, check and install every threat list; one line per list."""
    done = []
    for fname, url in INTEL_SOURCES.items():
        data = fetch(url)
        parsed, report = parse_list(data.decode("utf-8", "replace"), fname, url)
        if not parsed.ranges and not parsed.domains:
            raise DataError(f"{url}: no entry could be read ({report.summary()})")
        _replace(data_dir / "intel" / fname, data)
        done.append(report.summary())
    return done
