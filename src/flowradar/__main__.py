"""`python -m flowradar` runs the command line."""

from flowradar.ui.cli import main

main()
