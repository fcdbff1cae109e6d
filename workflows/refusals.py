"""The one way an update validator refuses: plays, handoffs, signals and rituals alike."""

from temporalio.exceptions import ApplicationError


def refuse(code: str, message: str, details: dict | None = None) -> ApplicationError:
    """A refusal raised by an update validator; `code` maps to the HTTP status (see api/errors.py), and
    `details` (e.g. the missing fields) reach the error body's `details`."""
    return ApplicationError(message, *([details] if details else []), type=code, non_retryable=True)
