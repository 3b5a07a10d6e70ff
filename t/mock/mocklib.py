"""Shared pieces of the mock upstream: the request and response types.

A provider module in providers/ defines PREFIXES (path prefixes it serves)
and handle(req) -> Response. upstream.py does the HTTP, checks the OAuth
token, records every request and writes the response.
"""
import json
import re


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method          # "POST"
        self.path = path              # "/anthropic/v1/messages" (no query)
        self.query = query            # dict: name -> [values]
        self.headers = headers        # http.client.HTTPMessage (case-insensitive)
        self.body = body              # bytes
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None


class Response:
    """status; body (bytes, str, dict or list: dicts/lists are sent as JSON);
    headers (dict); events: for a stream, a list of (delay_seconds, bytes) sent
    and flushed one by one with chunked encoding; drop_after: close the
    connection abruptly after that many events (a backend reset)."""

    def __init__(self, status=200, body=b"", headers=None, events=None,
                 drop_after=None, delay=0.0):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.events = events
        self.drop_after = drop_after
        self.delay = delay            # seconds to wait before answering


def json_response(obj, status=200, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return Response(status, obj, h)


def error_response(status, obj):
    return json_response(obj, status)


def sse_event(data, event=None):
    """One SSE event as bytes; data is a dict (sent as JSON) or a str."""
    if not isinstance(data, str):
        data = json.dumps(data, separators=(",", ":"))
    out = ""
    if event:
        out += "event: %s\n" % event
    for line in data.split("\n"):
        out += "data: %s\n" % line
    return (out + "\n").encode()


def sse_response(events, delay=0.0, drop_after=None, headers=None):
    """events: list of bytes (from sse_event) sent delay seconds apart."""
    h = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    h.update(headers or {})
    return Response(200, b"", h, [(delay, e) for e in events], drop_after)


# Model ids the mock gateway made up for a real model (as a company gateway
# may): the backend judges the real model. The gateway's thinking rule does
# not know them (LLMProxyReasoningModels names them in t/conf).
GATEWAY_ALIASES = {"house-claude-thinker": "claude-sonnet-4-5"}


def model_version(model, family):
    """(major, minor) read from a model id the way mod_llmproxy reads it
    (llmp_model_version): after the family name, words are skipped, the
    first number of one or two digits is the major, a number right after it
    the minor; a longer number or a word after the major ends it. None
    when there is no version."""
    low = model.lower()
    i = low.find(family)
    if i < 0:
        return None
    major = minor = None
    for tok in re.split(r"[^a-z0-9]+", low[i + len(family):]):
        if not tok:
            continue
        if not tok.isdigit():
            if major is not None:
                break
            continue
        if len(tok) > 2:
            break
        if major is None:
            major = int(tok)
        else:
            minor = int(tok)
            break
    return None if major is None else (major, minor or 0)


def model_thinks(model, family):
    """Does the real API take thinking settings for this model? Anthropic:
    Claude 3.7 and 4 or later; Gemini: 2.5 and later and "thinking" models;
    Cohere: "reasoning" models."""
    model = GATEWAY_ALIASES.get(model, model)
    low = model.lower()
    v = model_version(model, family)
    if family == "claude":
        return v is not None and (v[0] >= 4 or v >= (3, 7))
    if family == "gemini":
        return "thinking" in low or (v is not None and v >= (2, 5)) or (
            v is None and "gemini" in low and "-latest" in low)
    return "reasoning" in low
# ---- the Codex CLI end-to-end tests (tests/sdk/codex_e2e.mjs) ----
_EXEC = re.compile(r"run_exec: (echo [A-Za-z0-9_.-]+)")
_PATCH = re.compile(r"run_patch: ([A-Za-z0-9_.-]+) ([A-Za-z0-9_.-]+)")
_BASH = re.compile(r"run_bash: (echo [A-Za-z0-9_.-]+)")
SHELL_TOOLS = ("exec_command", "shell")


def exec_call(text, tool_names):
    """What a model would call for the Codex tests: -> (name, arguments
    dict) or None.
    "run_exec: echo WORD": Codex's shell tool (exec_command, else shell; only
    if it is among the tools offered) running that command.
    "run_patch: FILE WORD": Codex's apply_patch tool (a custom tool: as a
    function, its one string parameter "input") adding FILE with the line
    WORD.
    "run_bash: echo WORD": Claude Code's Bash tool (if offered) running
    that command."""
    m = _BASH.search(text or "")
    if m and "Bash" in tool_names:
        return "Bash", {"command": m.group(1),
                        "description": "Print a word"}
    m = _PATCH.search(text or "")
    if m and "apply_patch" in tool_names:
        return "apply_patch", {"input": "*** Begin Patch\n*** Add File: %s\n"
                               "+%s\n*** End Patch\n" % m.groups()}
    m = _EXEC.search(text or "")
    if not m:
        return None
    for name in SHELL_TOOLS:
        if name in tool_names:
            if name == "exec_command":
                return name, {"cmd": m.group(1)}
            return name, {"command": ["bash", "-lc", m.group(1)]}
    return None
