"""What a network's API can answer besides data, the same for every network client.

Each client (networks/impact.py, shareasale.py, awin.py) raises these, so the sync runs
(networks/services/runs.py) handle every network's failures in one place. ``message`` is
written for a brand manager: it ends on the run's row as it is.
"""


class NetworkError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AuthError(NetworkError):
    """The credentials were refused (401, or the network's own words for it): the connection is broken."""


class ScopeError(NetworkError):
    """403: the credentials may not use this endpoint (a scoped token, an account not shared)."""

    def __init__(self, message: str, endpoint: str = ""):
        super().__init__(message)
        self.endpoint = endpoint


class RateLimited(NetworkError):
    """429, or our own count of the network's limit ran out: try again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(NetworkError):
    """5xx or no answer, after the client's own retries."""


class MalformedBody(NetworkError):
    """The body is not what the network documents."""


class RequestRejected(NetworkError):
    """Any other refusal, with the network's own message."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


class WindowError(ValueError):
    """A date window the network would refuse; raised before calling."""
