#!/usr/bin/env python3
"""A tiny capture server for what a Responses API client sends.

Usage: capture_server.py PORT OUTDIR
Then point Codex at it (HOME and CODEX_HOME in a temporary directory,
$CODEX_HOME/config.toml as in tests/sdk/codex_e2e.mjs with
base_url = "http://127.0.0.1:PORT/v1") and run
  codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \
    "llmp-tool: run the command"
(`BASE_URL=http://127.0.0.1:PORT/v1 node codex_e2e.mjs` passes against it
too: it answers like the mocks).
Records every request (method, path, headers, JSON body) as OUTDIR/NNN.json
and answers POST .../responses with a minimal valid Responses event stream
(response.created ... response.completed) whose text is "captured-ok"
(see answer() for the scripted tool turn).
Other paths: 404 with an OpenAI-shaped error. Listens on 127.0.0.1 only.
"""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
OUT = sys.argv[2]
os.makedirs(OUT, exist_ok=True)
lock = threading.Lock()
count = [0]


def record(h, body):
    with lock:
        count[0] += 1
        n = count[0]
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode('utf-8', 'replace')
    with open(os.path.join(OUT, '%03d.json' % n), 'w') as f:
        json.dump({'method': h.command, 'path': h.path,
                   'headers': dict(h.headers.items()), 'body': parsed},
                  f, indent=1)


def sse(ev):
    out = []
    for i, (t, d) in enumerate(ev):
        d = dict(d, type=t, sequence_number=i)
        out.append('event: %s\ndata: %s\n\n' % (t, json.dumps(d)))
    return ''.join(out).encode()


USAGE = {'input_tokens': 10, 'output_tokens': 2, 'total_tokens': 12,
         'input_tokens_details': {'cached_tokens': 0},
         'output_tokens_details': {'reasoning_tokens': 0}}


def call_events(model, name, args):
    """A function_call of NAME with ARGS (a JSON string)."""
    base = {'id': 'resp_capture0', 'object': 'response',
            'created_at': int(time.time()), 'model': model, 'output': [],
            'status': 'in_progress', 'parallel_tool_calls': True,
            'tool_choice': 'auto', 'tools': []}
    item = {'id': 'fc_capture1', 'type': 'function_call', 'status':
            'in_progress', 'call_id': 'call_capture1', 'name': name,
            'arguments': ''}
    done = dict(item, status='completed', arguments=args)
    return sse([
        ('response.created', {'response': base}),
        ('response.output_item.added', {'output_index': 0, 'item': item}),
        ('response.function_call_arguments.delta',
         {'item_id': item['id'], 'output_index': 0, 'delta': args}),
        ('response.function_call_arguments.done',
         {'item_id': item['id'], 'output_index': 0, 'arguments': args}),
        ('response.output_item.done', {'output_index': 0, 'item': done}),
        ('response.completed', {'response': dict(base, status='completed',
                                                 output=[done],
                                                 usage=USAGE)}),
    ])


def events(model, text='captured-ok'):
    rid = 'resp_capture1'
    base = {'id': rid, 'object': 'response', 'created_at': int(time.time()),
            'model': model, 'output': [], 'status': 'in_progress',
            'parallel_tool_calls': True, 'tool_choice': 'auto', 'tools': []}
    msg = {'id': 'msg_capture1', 'type': 'message', 'role': 'assistant',
           'status': 'in_progress', 'content': []}
    part = {'type': 'output_text', 'text': text, 'annotations': []}
    done_msg = dict(msg, status='completed', content=[part])
    final = dict(base, status='completed', output=[done_msg],
                 usage={'input_tokens': 10, 'output_tokens': 2,
                        'total_tokens': 12,
                        'input_tokens_details': {'cached_tokens': 0},
                        'output_tokens_details': {'reasoning_tokens': 0}})
    ev = [
        ('response.created', {'response': base}),
        ('response.in_progress', {'response': base}),
        ('response.output_item.added', {'output_index': 0, 'item': msg}),
        ('response.content_part.added', {'item_id': msg['id'], 'output_index': 0,
                                         'content_index': 0,
                                         'part': dict(part, text='')}),
        ('response.output_text.delta', {'item_id': msg['id'], 'output_index': 0,
                                        'content_index': 0, 'delta': text,
                                        'logprobs': []}),
        ('response.output_text.done', {'item_id': msg['id'], 'output_index': 0,
                                       'content_index': 0, 'text': text,
                                       'logprobs': []}),
        ('response.content_part.done', {'item_id': msg['id'], 'output_index': 0,
                                        'content_index': 0, 'part': part}),
        ('response.output_item.done', {'output_index': 0, 'item': done_msg}),
        ('response.completed', {'response': final}),
    ]
    return sse(ev)


def answer(req):
    """A prompt with "llmp-tool" (or "run_exec: echo WORD") gets a call of the exec_command (or
    shell) tool; once its output is in the input, a text quoting it."""
    model = req.get('model', 'x')
    items = req.get('input') if isinstance(req.get('input'), list) else []
    outs = [i for i in items if isinstance(i, dict)
            and i.get('type') in ('function_call_output',
                                  'custom_tool_call_output')]
    if outs:
        o = outs[-1].get('output')
        if not isinstance(o, str):
            o = json.dumps(o)
        return events(model, 'tool said: ' + o)
    last = json.dumps(items[-1:] if items else req.get('input'))
    m = re.search(r'run_exec: (echo [A-Za-z0-9_.-]+)', last)
    if 'llmp-tool' in last or m:
        cmd = m.group(1) if m else 'echo llmp-capture-42'
        names = [t.get('name') for t in req.get('tools') or []]
        if 'exec_command' in names:
            return call_events(model, 'exec_command', json.dumps({'cmd': cmd}))
        return call_events(model, 'shell', json.dumps(
            {'command': ['bash', '-lc', cmd]}))
    m = re.search(r'Say ([A-Za-z0-9_.-]+)', last)
    return events(model, 'captured-ok' + (': ' + m.group(1) if m else ''))


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def _body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n else b''

    def _404(self):
        b = json.dumps({'error': {'message': 'not here', 'type':
                                  'invalid_request_error', 'param': None,
                                  'code': 'unknown_url'}}).encode()
        self.send_response(404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        record(self, b'')
        self._404()

    def do_POST(self):
        body = self._body()
        record(self, body)
        if not self.path.endswith('/responses'):
            return self._404()
        try:
            req = json.loads(body)
        except ValueError:
            req = {}
        b = answer(req)
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)


ThreadingHTTPServer(('127.0.0.1', PORT), H).serve_forever()
