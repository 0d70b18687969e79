"""What the network stand-ins share: a quiet request handler and a server that runs one in a thread.

Each stand-in (impact_standin, shareasale_standin, awin_standin) keeps its data in a
``Standin`` object and answers with a ``StandinHandler`` subclass; ``StandinServer``
serves them on 127.0.0.1 (``port=0`` picks a free port), in a thread for tests or in
the foreground for `python -m tests.tools.<network>_standin`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandinHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        return

    @property
    def data(self):
        """The stand-in's ``Standin`` (its records and what it has been asked)."""
        return self.server.standin

    def raw(self, status, body: bytes, ctype, headers):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class StandinServer:
    """Serves ``standin`` with ``handler``: ``with Server(...) as s: s.url`` in a thread, or ``serve()``."""

    def __init__(self, standin, handler: type[StandinHandler], port: int = 0):
        self.standin = standin
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.httpd.standin = standin
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def serve(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        try:
            self.httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.httpd.server_close()
