"""The command's errors: each says what is wrong and where, and maps to one exit status.

Exit statuses (stable, for pipelines): 0 done; 1 an AWS call or the operation failed (a stack
update rolled back, a Lambda raised, AWS answered with an error code); 2 bad input, refused
before anything changed (a malformed weight, an unknown variant, an invalid rollout plan);
3 something named does not exist (stack, endpoint, stack output, execution); 4 timed out
waiting for the endpoint to show the change.
"""

from __future__ import annotations


class AbtestError(Exception):
    """Base: ``kind`` is the stable machine-readable name, ``exit_code`` the process status."""

    kind = "failed"
    exit_code = 1

    def __init__(self, message: str, *, aws_code: str = "") -> None:
        super().__init__(message)
        self.aws_code = aws_code


class OperationFailed(AbtestError):
    """AWS answered with an error, or the change it carried out failed (e.g. rolled back)."""


class BadInput(AbtestError):
    """The request is invalid; nothing was changed."""

    kind = "bad_input"
    exit_code = 2


class NotFound(AbtestError):
    """A stack, endpoint, output or execution the command needs does not exist."""

    kind = "not_found"
    exit_code = 3


class TimedOut(AbtestError):
    """The change was made but the endpoint did not show it within the timeout."""

    kind = "timed_out"
    exit_code = 4
