"""User-facing errors: raised at the edges (specs, configs, files, CLI) and printed as one line with exit 2."""


class UserError(Exception):
    """Bad input from the user. The message names what was wrong and how to fix it."""
