#!/usr/bin/env python3
"""Serves the built page (web/dist) on loopback, as a static server should serve it.

    python3 web/serve.py [FOLDER] [PORT]        (defaults: web/dist next to this file, 8000)

- A file with a precompressed copy beside it (FILE.br, FILE.gz, made by scripts/build-web) is
  sent as that copy, with `Content-Encoding` and `Vary: Accept-Encoding`, when the browser
  accepts the encoding; the WebAssembly module goes over the wire at a third of its size.
- Every response carries the Content-Security-Policy of the page's `<meta>` tag (one policy,
  written once, in index.html), plus `frame-ancestors 'none'`, which only a header can say. The
  worker that runs Grove gets its policy from this header, not from the page.
- `Cache-Control: no-cache`: the browser revalidates, so a new build is seen at once.

Python's standard library only; it listens on 127.0.0.1.
"""
import http.server
import os
import re
import sys
from functools import partial

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".ts": "text/plain; charset=utf-8",
}
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def policy(folder):
    """The Content-Security-Policy of the page's <meta> tag, for every response."""
    with open(os.path.join(folder, "index.html"), encoding="utf-8") as f:
        found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', f.read())
    if not found:
        sys.exit(f"serve.py: no Content-Security-Policy in {folder}/index.html")
    return found.group(1) + "; frame-ancestors 'none'"


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    csp = ""

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        if not os.path.isfile(path):
            self.send_error(404, "not found")
            return None
        accepted = self.headers.get("Accept-Encoding", "")
        sent, encoding = path, None
        for name, suffix in ENCODINGS:
            if re.search(rf"\b{name}\b", accepted) and os.path.isfile(path + suffix):
                sent, encoding = path + suffix, name
                break
        f = open(sent, "rb")
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(os.path.splitext(path)[1], "application/octet-stream"))
        self.send_header("Content-Length", str(os.fstat(f.fileno()).st_size))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        return f

    def log_message(self, format, *args):
        if os.environ.get("GROVE_SERVE_LOG"):
            super().log_message(format, *args)


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A browser closing a kept-alive connection is not an error.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "dist"))
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
    Handler.csp = policy(folder)
    server = Server(("127.0.0.1", port), partial(Handler, directory=folder))
    print(f"Serving {folder} at http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
