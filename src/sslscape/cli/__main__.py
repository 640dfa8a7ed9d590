"""`python -m sslscape.cli …` runs the command line."""

from . import main

main()
