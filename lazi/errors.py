"""Errors the CLI turns into one clear line and a non-zero exit."""


class LaziError(Exception):
    """A problem the user can fix; the message names it and says what to do."""
