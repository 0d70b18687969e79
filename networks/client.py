"""What every network API client shares: the HTTP client it closes, also as a ``with`` block."""

import httpx


class ApiClient:
    http: httpx.Client

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
