"""A Cohere v2 embed backend with big answers, for the memory test
(t/14_memory.t): the request is validated as Cohere's, and each text gets
a vector of DIM numbers written as Cohere writes them (about 12 bytes
each), so 96 texts make an answer of about 38 MB.
"""
import json
import uuid

from mocklib import Response
from providers import cohere

PREFIXES = ["/bigembed/"]
DIM = 32768

# 65536 numbers of the shape Cohere answers (-0.0099999 to 0.0099999, at
# most 8 significant digits), in their shortest text
_TABLE = [repr(((k * 2654435761) % 2000001 - 1000000) / 1e8)
          for k in range(65536)]
_CACHE = {}


def _vector(i):
    return "[" + ",".join(_TABLE[(i * 7919 + j * 31) & 0xFFFF]
                          for j in range(DIM)) + "]"


def handle(req):
    if req.method != "POST":
        return cohere._err(405, "method not allowed")
    if not isinstance(req.json, dict):
        return cohere._err(400, "invalid request: body is not a JSON object")
    if not req.path.endswith("/v2/embed"):
        return cohere._err(404, "no such endpoint: %s" % req.path)
    try:
        cohere._validate_embed(req.json)
    except cohere.Invalid as e:
        return cohere._err(400, "invalid request: %s" % e)
    texts = req.json["texts"]
    n = len(texts)
    if n not in _CACHE:
        _CACHE.clear()
        _CACHE[n] = ("[" + ",".join(_vector(i) for i in range(n)) + "]").encode()
    head = json.dumps({"id": str(uuid.uuid4())})[:-1].encode()
    tail = json.dumps({
        "texts": texts,
        "meta": {"api_version": {"version": "2"},
                 "billed_units": {"input_tokens": n}},
        "response_type": "embeddings_by_type"})[1:].encode()
    body = head + b',"embeddings":{"float":' + _CACHE[n] + b"}," + tail
    return Response(200, body, {"Content-Type": "application/json"})
