# Baseline with the original connector's server shape (spec campaign-archive §6): socketserver.TCPServer (one
# connection at a time, SO_REUSEADDR), a single recv(2048), whitespace/NUL stripped, urlparse + parse_qs, one reply.
# Only get_key is needed here. The original itself cannot be installed on this machine (no network for pip).
import socketserver, sys
from urllib.parse import urlparse, parse_qs

PORT, KEYID, KEYHEX = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(2048).decode("utf-8")
        data = "".join(c for c in data if not c.isspace() and c != "\0")
        url = urlparse(data)
        q = parse_qs(url.query)
        if url.path == "/get_key" and q:
            kid = q.get("id", [None])[0]
            reply = f"key:{KEYHEX},msg:no_error" if kid == KEYID else "key:0,msg:cannot_find_key_id"
        else:
            reply = "port:-1,msg:incorrect_request_format"
        self.request.sendall(reply.encode())

socketserver.TCPServer.allow_reuse_address = True
with socketserver.TCPServer(("127.0.0.1", PORT), Handler) as server:
    print("ready", flush=True)
    server.serve_forever()
