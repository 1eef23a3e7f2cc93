"""Sources: capture files, live interfaces."""
