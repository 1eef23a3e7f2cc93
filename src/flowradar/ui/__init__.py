"""User interfaces: the command line (and later the TUI and the web dashboard)."""
