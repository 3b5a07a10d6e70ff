#!/usr/bin/env python3
"""Mock LLM gateway for the test suite (loopback only).

Serves a model list and each provider's native API, strictly. Every request
must carry "Authorization: OAuth <token>" (the token given with --token).
Control endpoints (no auth):
  GET  /__mock/requests        the recorded requests, as JSON
  POST /__mock/reset           forget recorded requests, restore defaults
  POST /__mock/models          replace the model list (body: the document)
  POST /__mock/models-status   {"status": 503} makes /models fail
  GET  /__mock/stats           {"list_fetches": N, "connections": N, ...}
  POST /__mock/fault           {"path": P, ...}: calls of path P fail on
                               command (t/29_pool.t): "status": S answers S
                               (with "retry_after": "V" as Retry-After);
                               "mode": "empty-stream" answers 200 and an
                               event stream that breaks before its first
                               event; "mode": "drop-after", "n": N breaks
                               the real answer's stream after N events;
                               "times": N only for the next N calls; no
                               status or mode: no fault
  GET  /__mock/calls           calls per path (after the token check)
  POST /__mock/accept-token    {"token": T}: accept T too (until reset)
  GET  /lists/NAME             the model list t/mock/lists/NAME.json
  GET  /open/models            the model list without authentication
  GET  /open/lists/NAME        t/mock/lists/NAME.json without authentication
  POST /__mock/tls-alt?n=N     (TLS instance) present the Nth --tls-alt
                               certificate (from 0) from now on, and drop
                               the open connections
With --tls-cert/--tls-key it speaks https only (a throw-away certificate
made by scripts/run-httpd-tests.sh).
"""
import argparse
import importlib
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mocklib import Request, Response, json_response, sse_response  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STATE = {}
LOCK = threading.Lock()


def default_models():
    with open(os.path.join(HERE, "models.json"), "rb") as f:
        return f.read()


def reset():
    with LOCK:
        STATE.update(requests=[], models=default_models(), models_status=200,
                     list_fetches=0, list_fetch_times=[], disconnects=0,
                     faults={}, calls={}, tokens=set())


def load_providers():
    providers = []
    pdir = os.path.join(HERE, "providers")
    for name in sorted(os.listdir(pdir)):
        if name.endswith(".py") and not name.startswith("_"):
            mod = importlib.import_module("providers." + name[:-3])
            for prefix in getattr(mod, "PREFIXES", []):
                providers.append((prefix, mod))
    # longest prefix first; "openai" serves everything else
    providers.sort(key=lambda pm: -len(pm[0]))
    return providers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-gateway/1"

    def log_message(self, fmt, *args):
        if os.environ.get("MOCK_VERBOSE"):
            sys.stderr.write("mock: " + (fmt % args) + "\n")

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: no Nagle delay
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with LOCK:
            STATE["connections"] = STATE.get("connections", 0) + 1

    def _send_list(self, name):
        """The model list t/mock/lists/NAME.json, or 404."""
        try:
            with open(os.path.join(HERE, "lists", name + ".json"), "rb") as f:
                return self._send(Response(
                    200, f.read(), {"Content-Type": "application/json"}))
        except OSError:
            return self._send(json_response({"error": "no list"}, 404))

    def _send(self, resp):
        body = resp.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if resp.delay:
            time.sleep(resp.delay)
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if resp.events is None:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for i, (delay, data) in enumerate(resp.events):
                if resp.drop_after is not None and i >= resp.drop_after:
                    # abrupt reset: no terminating chunk
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()
                    return
                if delay:
                    time.sleep(delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with LOCK:
                STATE["disconnects"] += 1
            self.close_connection = True

    def _handle(self):
        u = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, u.path, urllib.parse.parse_qs(u.query),
                      self.headers, body)
        if u.path.startswith("/__mock/"):
            return self._send(self._control(req))
        with LOCK:
            STATE["requests"].append({
                "method": self.command, "path": u.path, "query": u.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "time": time.time()})
        auth = self.headers.get("Authorization")
        if u.path == "/open/models":
            # a list published without authentication (LLMProxyAuthToken none)
            with LOCK:
                models = STATE["models"]
            return self._send(Response(200, models,
                                       {"Content-Type": "application/json"}))
        if u.path.startswith("/open/lists/") and "/" not in u.path[12:] \
                and ".." not in u.path:
            # a list of t/mock/lists/ without authentication
            return self._send_list(u.path[12:])
        with LOCK:
            extra = auth is not None and auth[6:] in STATE["tokens"] \
                and auth.startswith("OAuth ")
        if auth != "OAuth " + self.server.token and not extra:
            return self._send(json_response(
                {"error": {"message": "missing or wrong OAuth token"}}, 401))
        if u.path == self.server.models_path:
            with LOCK:
                STATE["list_fetches"] += 1
                STATE["list_fetch_times"].append(time.time())
                status, models = STATE["models_status"], STATE["models"]
            if status != 200:
                return self._send(json_response({"error": "list down"}, status))
            return self._send(Response(200, models,
                                       {"Content-Type": "application/json"}))
        if u.path.startswith("/lists/") and "/" not in u.path[7:] \
                and ".." not in u.path:
            return self._send_list(u.path[7:])
        with LOCK:
            STATE["calls"][u.path] = STATE["calls"].get(u.path, 0) + 1
            fault = STATE["faults"].get(u.path)
            if fault and fault.get("times") is not None:
                fault["times"] -= 1
                if fault["times"] <= 0:
                    del STATE["faults"][u.path]
        if fault and fault.get("status"):
            h = {}
            if fault.get("retry_after") is not None:
                h["Retry-After"] = str(fault["retry_after"])
            return self._send(json_response({"error": {
                "message": "injected fault", "type": "overloaded_error"
                if fault["status"] >= 500 else "invalid_request_error"}},
                fault["status"], h))
        if fault and fault.get("mode") == "empty-stream":
            return self._send(sse_response([b": nothing\n\n"], drop_after=0))
        for prefix, mod in self.server.providers:
            if u.path.startswith(prefix):
                resp = mod.handle(req)
                if fault and fault.get("mode") == "drop-after" and resp.events:
                    resp.drop_after = int(fault.get("n", 3))
                return self._send(resp)
        return self._send(json_response({"error": {"message": "no such path"}},
                                        404))

    def _control(self, req):
        what = req.path[len("/__mock/"):]
        if what == "requests":
            with LOCK:
                return json_response(STATE["requests"])
        if what == "reset":
            reset()
            return json_response({"ok": True})
        if what == "models":
            with LOCK:
                STATE["models"] = req.body
            return json_response({"ok": True})
        if what == "models-status":
            with LOCK:
                STATE["models_status"] = int(req.json["status"])
            return json_response({"ok": True})
        if what == "tls-alt" and getattr(self.server, "alt_ctx", None):
            n = int((req.query.get("n") or ["0"])[0])
            with LOCK:
                self.server.ctx = self.server.alt_ctx[n]
                others = [c for c in self.server.open if c is not self.connection]
            for c in others:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return json_response({"ok": True})
        if what == "fault":
            f = dict(req.json)
            with LOCK:
                if f.get("status") or f.get("mode"):
                    STATE["faults"][f.pop("path")] = f
                else:
                    STATE["faults"].pop(f.get("path"), None)
            return json_response({"ok": True})
        if what == "calls":
            with LOCK:
                return json_response(dict(STATE["calls"]))
        if what == "accept-token":
            with LOCK:
                STATE["tokens"].add(req.json["token"])
            return json_response({"ok": True})
        if what == "stats":
            with LOCK:
                return json_response({k: STATE.get(k) for k in (
                    "list_fetches", "list_fetch_times", "connections",
                    "disconnects")})
        return json_response({"error": "unknown control"}, 404)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class TLSServer(ThreadingHTTPServer):
    """https: each connection's handshake in its own thread."""

    def get_request(self):
        sock, addr = self.socket.accept()
        with LOCK:
            ctx = self.ctx
        return ctx.wrap_socket(sock, server_side=True,
                               do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            request.do_handshake()
        except (OSError, ssl.SSLError):
            # a client that does not trust the certificate, or went away
            return
        request.settimeout(None)
        with LOCK:
            self.open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with LOCK:
                self.open.discard(request)


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18089)
    ap.add_argument("--token", default="test-token")
    ap.add_argument("--models-path", default="/models")
    ap.add_argument("--pidfile")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--tls-alt", action="append", default=[],
                    metavar="CERT:KEY")
    args = ap.parse_args()
    reset()
    if args.tls_cert:
        srv = TLSServer(("127.0.0.1", args.port), Handler)
        srv.ctx = tls_context(args.tls_cert, args.tls_key)
        srv.alt_ctx = [tls_context(*a.split(":", 1)) for a in args.tls_alt]
        srv.open = set()
    else:
        srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.token = args.token
    srv.models_path = args.models_path
    srv.providers = load_providers()
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    srv.serve_forever()


if __name__ == "__main__":
    main()
