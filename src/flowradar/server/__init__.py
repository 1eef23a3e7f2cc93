"""The server: ingest from agents, the query API, the live feed and authentication (FastAPI).

Nothing is built at import time: :func:`flowradar.server.app.create_app` builds one app from one
configuration and one store.
"""
