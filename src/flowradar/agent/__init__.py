"""The agent: runs this host's sources and ships batches to a server, through a spool on disk."""
