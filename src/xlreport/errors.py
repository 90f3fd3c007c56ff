"""Exceptions for things that stop the work: a broken spec, an unreadable input.

Problems in the *data* of a report are not exceptions; they are
:class:`~xlreport.checks.problems.Problem` records collected in a list.  Every exception here
carries a one-line Chinese message meant for the person at the keyboard and a code from
:data:`xlreport.codes.REFUSALS`; the CLI turns it into exit code 2.
"""

from __future__ import annotations


class XlreportError(Exception):
    """Base class: ``str(error)`` is a complete Chinese sentence for the user."""

    exit_code = 2
    #: The code when none is given.
    default_code = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class SpecError(XlreportError):
    """A spec file (an edition) is malformed; the message names the file and the place in it."""

    default_code = "spec"


class UnreadableInput(XlreportError):
    """An input file cannot be read: not JSON, not xlsx, damaged, hostile, foreign."""

    default_code = "damaged"


class UsageError(XlreportError):
    """The command line asks for something impossible (unknown edition, conflicting options)."""

    default_code = "usage"
