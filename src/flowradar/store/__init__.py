"""Where records go: flow files, and the database behind the server (see :mod:`flowradar.store.base`).

:func:`open_store` picks the backend from ``[store] backend``; backend modules are imported only
when chosen, so importing this package never needs duckdb or psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowradar.store.base import Store
    from flowradar.store.settings import StoreConfig


def open_store(cfg: StoreConfig, *, migrate: bool = True) -> Store:
    """Open the configured store (and, by default, bring its schema up to date).

    Raises :class:`~flowradar.store.base.StoreError` for an unknown backend, a missing DSN or a
    database that cannot be opened.
    """
    from flowradar.store.base import StoreError

    store: Store
    if cfg.backend == "duckdb":
        from flowradar.store.duck import DuckStore

        store = DuckStore(cfg)
    elif cfg.backend == "postgresql":
        from flowradar.store.pg import PgStore

        store = PgStore(cfg)
    else:
        raise StoreError(f"unknown store backend '{cfg.backend}' (use duckdb or postgresql)")
    if migrate:
        store.migrate()
    return store


__all__ = ["open_store"]
