"""Backends that misbehave while streaming (t/10_hostile_stream.t).

Handles under /hostile-stream/: ".../chat/completions" speaks OpenAI
(pass-through), ".../messages" speaks Anthropic (translated). Behaviour is
chosen by the request's "model" (each answers a stream request only):
  hostile-truncated     3 chunks, then a clean end without "data: [DONE]"
  hostile-notjson       2 chunks, an event whose data is HTML, more, [DONE]
  hostile-notjson-first an event whose data is plain text, then [DONE]
  hostile-error-event   a chunk, an OpenAI error event, a clean end
  hostile-shapes        comments, "event:" and "id:" fields, CRLF line ends,
                        a JSON chunk split over two "data:" lines, [DONE]
  hostile-html          200 text/html
  hostile-brace         200 text/plain whose body starts with "{" (not JSON)
  hostile-json-other    200 application/json that is not a completion
  hostile-gzip          ~1.2 MB of chunks, gzip-compressed (Content-Encoding:
                        gzip) when the request accepts gzip; a few KB on the
                        wire
  hostile-echo-auth     chunks whose content, event name and a comment
                        echo the request's Authorization header, [DONE]
  hostile-badutf8       a chunk whose content holds invalid UTF-8, [DONE]
  hostile-trailing      a chunk whose data has bytes after its JSON, [DONE]
  hostile-esc           a chunk whose content holds a raw ESC byte, [DONE]
  hostile-dirty-meta    a comment with an ESC byte and an event name with
                        a space, around good chunks, [DONE]
  hostile-anthropic-html   200 text/html
  hostile-anthropic-stall  message_start and one delta, then 5 s of silence
  hostile-anthropic-cut    a delta, then a clean end without message_stop
  hostile-anthropic-long   40 deltas 0.25 s apart
  hostile-anthropic-echo-auth  a delta that echoes the Authorization header
"""
import json
import zlib

from mocklib import Response, json_response, sse_event, sse_response
from providers.anthropic import Invalid, error as anthropic_error, validate

PREFIXES = ["/hostile-stream/"]


def _chunk(model, delta, finish=None):
    return {"id": "chatcmpl-hostile", "object": "chat.completion.chunk",
            "created": 1700000000, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _role(model):
    return sse_event(_chunk(model, {"role": "assistant", "content": ""}))


def _word(model, w):
    return sse_event(_chunk(model, {"content": w}))


DONE = b"data: [DONE]\n\n"


def _gzip_stream(model, accepts_gzip):
    pad = "x" * 500
    events = [_role(model)]
    events += [_word(model, "%d%s " % (i, pad)) for i in range(2400)]
    events.append(sse_event(_chunk(model, {}, "stop")))
    events.append(DONE)
    if not accepts_gzip:
        return sse_response(events)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)          # gzip wrapper
    pieces = []
    for i in range(0, len(events), 200):
        piece = z.compress(b"".join(events[i:i + 200]))
        piece += z.flush(zlib.Z_SYNC_FLUSH)
        pieces.append(piece)
    pieces.append(z.flush())
    return sse_response([p for p in pieces if p],
                        headers={"Content-Encoding": "gzip"})


def _openai(req, body):
    model = body.get("model", "")
    if "messages" not in body:
        return json_response({"error": {"message": "messages is required",
                                        "type": "invalid_request_error"}}, 400)
    if body.get("stream") is not True:
        return json_response({"error": {"message": "only streams here",
                                        "type": "invalid_request_error"}}, 400)
    if model == "hostile-truncated":
        return sse_response([_role(model), _word(model, "a"),
                             _word(model, "b")], 0.05)
    if model == "hostile-notjson":
        return sse_response([_role(model), _word(model, "a"),
                             b"data: <html><body>502 Bad Gateway</body></html>"
                             b"\n\n", _word(model, "b"), DONE], 0.05)
    if model == "hostile-notjson-first":
        return sse_response([b"data: Internal error, try again\n\n", DONE])
    if model == "hostile-error-event":
        return sse_response([_role(model), _word(model, "a"), sse_event(
            {"error": {"message": "upstream overloaded",
                       "type": "server_error", "param": None,
                       "code": None}})], 0.05)
    if model == "hostile-shapes":
        split = json.dumps(_chunk(model, {"content": "c"}))
        half = split.index(', "object"') + 1           # one JSON, two lines
        return sse_response([
            b": keep-alive\n\n",
            _role(model),
            b"id: 7\r\nevent: message\r\ndata: " +
            json.dumps(_chunk(model, {"content": "a"})).encode() + b"\r\n\r\n",
            b": still thinking\n",
            b"data: " + json.dumps(_chunk(model, {"content": "b"})).encode()
            + b"\nretry: 100\n\n",
            ("data: %s\ndata: %s\n\n" % (split[:half], split[half:])).encode(),
            sse_event(_chunk(model, {}, "stop")),
            DONE], 0.05)
    if model == "hostile-echo-auth":
        auth = req.headers.get("Authorization") or ""
        return sse_response([
            _role(model),
            _word(model, "your header was: " + auth),
            (": debug %s\n\n" % auth).encode(),
            ("event: x-%s\ndata: %s\n\n" % (
                auth.replace(" ", "-"),
                json.dumps(_chunk(model, {"content": "!"})))).encode(),
            sse_event(_chunk(model, {}, "stop")), DONE], 0.05)
    if model == "hostile-badutf8":
        bad = json.dumps(_chunk(model, {"content": "AB"})).encode().replace(
            b"AB", b"A\xff\xfeB")
        return sse_response([_role(model), b"data: " + bad + b"\n\n",
                             _word(model, "c"), DONE], 0.05)
    if model == "hostile-trailing":
        return sse_response([_role(model), b"data: " + json.dumps(
            _chunk(model, {"content": "a"})).encode() + b"junk\n\n",
            _word(model, "b"), DONE], 0.05)
    if model == "hostile-esc":
        bad = json.dumps(_chunk(model, {"content": "AB"})).encode().replace(
            b"AB", b"A\x1b[2JB")
        return sse_response([_role(model), b"data: " + bad + b"\n\n",
                             _word(model, "c"), DONE], 0.05)
    if model == "hostile-dirty-meta":
        return sse_response([
            _role(model), b": \x1b[2J clear\n\n",
            b"event: bad name\ndata: " + json.dumps(
                _chunk(model, {"content": "a"})).encode() + b"\n\n",
            sse_event(_chunk(model, {}, "stop")), DONE], 0.05)
    if model == "hostile-html":
        return Response(200, b"<html><body>Service temporarily unavailable"
                        b"</body></html>", {"Content-Type": "text/html"})
    if model == "hostile-brace":
        return Response(200, b"{oops: this is not JSON}",
                        {"Content-Type": "text/plain"})
    if model == "hostile-json-other":
        return json_response({"status": "queued", "id": "job-1"})
    if model == "hostile-gzip":
        enc = req.headers.get("Accept-Encoding") or ""
        return _gzip_stream(model, "gzip" in enc)
    return json_response({"error": {"message": "unknown hostile model",
                                     "type": "invalid_request_error"}}, 404)


def _anthropic(req, body):
    try:
        validate(body)
    except Invalid as e:
        return anthropic_error(400, "invalid_request_error", str(e))
    model = body.get("model", "")
    if body.get("stream") is not True:
        return anthropic_error(400, "invalid_request_error", "only streams")
    if model == "hostile-anthropic-html":
        return Response(200, b"<html><body>Service temporarily unavailable"
                        b"</body></html>", {"Content-Type": "text/html"})
    start = sse_event({"type": "message_start", "message": {
        "id": "msg_hostile", "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1}}}, "message_start")
    block = sse_event({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}},
                      "content_block_start")

    def delta(t):
        return sse_event({"type": "content_block_delta", "index": 0,
                          "delta": {"type": "text_delta", "text": t}},
                         "content_block_delta")
    end = [sse_event({"type": "content_block_stop", "index": 0},
                     "content_block_stop"),
           sse_event({"type": "message_delta",
                      "delta": {"stop_reason": "end_turn",
                                "stop_sequence": None},
                      "usage": {"output_tokens": 40}}, "message_delta"),
           sse_event({"type": "message_stop"}, "message_stop")]
    if model == "hostile-anthropic-stall":
        r = sse_response([start, block, delta("x")] + end)
        r.events = r.events[:3] + [(5, e) for _, e in r.events[3:]]
        return r
    if model == "hostile-anthropic-cut":
        return sse_response([start, block, delta("x"), delta("y")], 0.05)
    if model == "hostile-anthropic-echo-auth":
        auth = req.headers.get("Authorization") or ""
        return sse_response([start, block, delta("header: " + auth)] + end,
                            0.05)
    if model == "hostile-anthropic-long":
        return sse_response([start, block] + [delta("w%d " % i)
                                              for i in range(40)] + end, 0.25)
    return anthropic_error(404, "not_found_error", "unknown hostile model")


def handle(req):
    if req.method != "POST":
        return json_response({"error": {"message": "method not allowed"}}, 405)
    body = req.json
    if not isinstance(body, dict):
        return json_response({"error": {"message": "body is not JSON",
                                        "type": "invalid_request_error"}}, 400)
    if req.path.endswith("/chat/completions"):
        return _openai(req, body)
    if req.path.endswith("/v1/messages"):
        return _anthropic(req, body)
    return json_response({"error": {"message": "no such path"}}, 404)
