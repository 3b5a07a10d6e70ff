"""A hostile OpenAI-compatible backend: answers that a real gateway or a
load balancer in front of it may send, which the module must never relay
as they are. Served under /hostile/ (models mock-h-*); the behaviour is
chosen by the request's "model":
  mock-h-echo-auth      200 completion whose content echoes Authorization
  mock-h-echo-auth-500  500 JSON error whose message echoes Authorization
  mock-h-html-500       500 HTML page (raw bytes, the Authorization header)
  mock-h-nul            200 JSON with a raw NUL byte inside a string
  mock-h-badutf8        200 JSON with invalid UTF-8 inside a string
  mock-h-truncated      200 JSON cut in the middle (Content-Length right)
  mock-h-deep           200 JSON nested deeper than any parser's limit
  mock-h-trailing       200 JSON completion followed by an HTML page
  mock-h-esc            200 JSON with a raw ESC byte inside a string
  mock-h-envelope       the gateway's envelope with an escaped key name
  mock-h-status-600     HTTP status 600
  mock-h-status-101     a final "101" with a body
  mock-h-stall-body     headers and half the body, then 5 s of silence
  mock-h-anthropic-html (an Anthropic handle, /hostile/v1/messages) the
                        HTML 500 page of mock-h-html-500
"""
import json
import time

from mocklib import Response, json_response

PREFIXES = ["/hostile/"]


def _completion(model, text):
    return {"id": "chatcmpl-hostile", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": text},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2,
                      "total_tokens": 5}}


def _raw(status, body, ctype="application/json"):
    return Response(status, body, {"Content-Type": ctype})


def handle(req):
    if req.method != "POST" or not isinstance(req.json, dict):
        return json_response({"error": {"message": "bad request",
                                        "type": "invalid_request_error"}}, 400)
    model = req.json.get("model", "")
    auth = req.headers.get("Authorization") or ""
    if model == "mock-h-echo-auth":
        return json_response(_completion(
            model, "you sent Authorization: %s (json: %s)"
            % (auth, json.dumps(auth))),
            headers={"Content-Type": 'application/json; echo="%s"' % auth})
    if model == "mock-h-echo-auth-500":
        return json_response({"error": {
            "message": "internal error; request headers: Authorization: %s"
                       % auth, "type": "server_error", "code": None}}, 500)
    if model in ("mock-h-html-500", "mock-h-anthropic-html"):
        page = (b"<html><head><title>500 Internal Server Error</title></head>"
                b"<body><h1>Internal Server Error</h1><p>Authorization: " +
                auth.encode() + b"</p>\x00\xff\xfe\x1b[31m" +
                b"<!-- padding -->" * 40 + b"</body></html>\n")
        return _raw(500, page, "text/html")
    if model == "mock-h-nul":
        return _raw(200, json.dumps(_completion(model, "a@b")).encode()
                    .replace(b"a@b", b"a\x00b"))
    if model == "mock-h-badutf8":
        return _raw(200, json.dumps(_completion(model, "a@b")).encode()
                    .replace(b"a@b", b"a\xc3\x28\xff b"))
    if model == "mock-h-truncated":
        whole = json.dumps(_completion(model, "cut")).encode()
        return _raw(200, whole[:len(whole) // 2])
    if model == "mock-h-trailing":
        return _raw(200, json.dumps(_completion(model, "ok")).encode()
                    + b"<html><body>cached by a proxy</body></html>")
    if model == "mock-h-esc":
        return _raw(200, json.dumps(_completion(model, "a@b")).encode()
                    .replace(b"a@b", b"a\x1b[2Jb"))
    if model == "mock-h-deep":
        return _raw(200, b'{"id":"x","object":"chat.completion","deep":'
                    + b"[" * 5000 + b"]" * 5000 + b"}")
    if model == "mock-h-envelope":
        inner = json.dumps(_completion(model, "unwrapped"))
        return _raw(200, '{ "respons\\u0065" : %s }' % inner)
    if model == "mock-h-status-600":
        return _raw(600, json.dumps({"error": {"message": "odd status"}}))
    if model == "mock-h-status-101":
        return _raw(101, b"SECRET-RAW-BYTES \x00\xff")
    if model == "mock-h-stall-body":
        whole = json.dumps(_completion(model, "late")).encode()
        half = len(whole) // 2
        return Response(200, b"", {"Content-Type": "application/json"},
                        [(0, whole[:half]), (5, whole[half:])])
    return json_response(_completion(model, "hostile default"))
