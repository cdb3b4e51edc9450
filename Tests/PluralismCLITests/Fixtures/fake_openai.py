#!/usr/bin/env python3
"""A scripted OpenAI-compatible model server for the CLI tests (loopback only).

Every reply is a function of the request's messages alone (sha256), so two runs against
it are reproducible and comparable by digest. Log-probability requests get the letters
A-F and yes/no as alternatives, with hash-derived values.

usage: fake_openai.py LOG_FILE DELAY_SECONDS PORT_FILE
Writes its port to PORT_FILE (by rename, so a reader never sees half of it); appends one
line per request to LOG_FILE.
"""
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]
DELAY = float(sys.argv[2])
PORT_FILE = sys.argv[3]
LOCK = threading.Lock()
WORDS = ["people", "fairness", "tradition", "freedom", "care", "duty", "trust", "change"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        # The model listing the client reads once per run to settle the served identity.
        if self.path.rstrip("/") != "/v1/models":
            self.send_error(404)
            return
        payload = json.dumps({"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "pluralism-tests"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = json.loads(body)
        digest = hashlib.sha256(json.dumps(request["messages"], sort_keys=True).encode()).hexdigest()
        with LOCK:
            with open(LOG, "a") as log:
                log.write(digest + "\n")
        time.sleep(DELAY)
        seed = int(digest[:8], 16)
        choice = {"index": 0, "finish_reason": "stop"}
        if request.get("logprobs"):
            tokens = ["A", "B", "C", "D", "E", "F", "yes", "no"][: max(2, request.get("top_logprobs", 8))]
            alternatives = [{"token": t, "logprob": -0.5 - ((seed >> (3 * i)) % 7) / 3.0} for i, t in enumerate(tokens)]
            best = max(alternatives, key=lambda a: a["logprob"])
            choice["message"] = {"role": "assistant", "content": best["token"]}
            choice["logprobs"] = {"content": [{"token": best["token"], "logprob": best["logprob"], "top_logprobs": alternatives}]}
        else:
            words = [WORDS[(seed >> (3 * i)) % len(WORDS)] for i in range(5)]
            text = "We care about %s and %s. %s matters to %s, as does %s. Ref %s." % (*words, digest[:6])
            choice["message"] = {"role": "assistant", "content": text[0].upper() + text[1:]}
        reply = json.dumps({"id": digest[:12], "object": "chat.completion", "model": request.get("model", ""),
                            "choices": [choice]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".partial", "w") as port:
    port.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".partial", PORT_FILE)
server.serve_forever()
