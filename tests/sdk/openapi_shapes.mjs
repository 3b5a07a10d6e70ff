// Every answer shape mod_llmproxy produces, checked against OpenAI's own
// published API description (openapi.yaml, its components/schemas) with a
// JSON Schema validator (ajv).
// Usage: OPENAPI_YAML=path BASE_URL=http://127.0.0.1:8529 ROOT_URL=http://...
//        NOTOKEN_URL=http://... TIMEOUT_URL=http://... node openapi_shapes.mjs [part of a name ...]
//   BASE_URL     the main host (handler on /v1)
//   ROOT_URL     a host with LLMProxyMaxRequestBody 1K (the 413 case)
//   NOTOKEN_URL  a host whose model list cannot load (the 503 case)
//   TIMEOUT_URL  a host with LLMProxyTimeout 2 (the 504 case)
//   OPENAPI_STRICT=1  also refuse members the description does not name
// Prints one JSON line per check: {"name", "ok", "detail"}; exits 0 always
// (t/13_openapi.t turns the lines into test results). Only global fetch.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const BASE = process.env.BASE_URL;
const ROOT = process.env.ROOT_URL;
const NOTOKEN = process.env.NOTOKEN_URL;
const TIMEOUT = process.env.TIMEOUT_URL;
const SPEC = process.env.OPENAPI_YAML;

function report(name, ok, detail, todo) {
  const r = { name, ok: !!ok, detail: String(detail ?? '') };
  if (todo) r.todo = todo;
  console.log(JSON.stringify(r));
}

// ---- the schemas ---------------------------------------------------------

// OpenAPI -> JSON Schema: the file mixes 3.1 (type: "null") with the 3.0
// keyword nullable: true, which JSON Schema does not know (ajv would ignore
// it and refuse every null).
function adapt(node) {
  if (Array.isArray(node)) return node.map(adapt);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = adapt(v);
  if (out.nullable === true) {
    delete out.nullable;
    if (out.type !== undefined) {
      out.type = [].concat(out.type, 'null');
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum.push(null);
    } else if (out.$ref !== undefined) {
      const ref = out.$ref;
      delete out.$ref;
      out.anyOf = [{ $ref: ref }, { type: 'null' }];
    } else if (Array.isArray(out.anyOf)) {
      out.anyOf.push({ type: 'null' });
    } else if (Array.isArray(out.oneOf)) {
      out.oneOf.push({ type: 'null' });
    }
  } else if (out.nullable === false) {
    delete out.nullable;
  }
  // draft 2019-09 recursion keywords (not in 2020-12): not on our shapes
  delete out.$recursiveAnchor;
  if (out.$recursiveRef !== undefined) { delete out.$recursiveRef; }
  return out;
}

const DOC_ID = 'https://openapi.invalid/openai.json';
const where = new Map();     // schema node -> its JSON pointer in the file
let ajv;
let specSchemas;             // components/schemas, adapted

function loadSpec() {
  if (!SPEC) throw new Error('OPENAPI_YAML is not set');
  const doc = YAML.parse(readFileSync(SPEC, 'utf8'), { maxAliasCount: -1 });
  const version = String(doc.openapi || '');
  const schemas = doc.components && doc.components.schemas;
  if (!schemas) throw new Error(`${SPEC} has no components/schemas`);
  // verbose: each error names the schema node it comes from (parentSchema)
  const opts = { strict: false, allErrors: true, validateFormats: true, verbose: true };
  // OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0 is close to draft-07
  ajv = version.startsWith('3.0') ? new Ajv(opts) : new Ajv2020(opts);
  addFormats(ajv);
  ajv.addFormat('unixtime', { type: 'number',
                              validate: (x) => Number.isInteger(x) && x >= 0 });
  // the document itself, so that '#/components/schemas/X' resolves as is
  const adapted = adapt(schemas);
  specSchemas = adapted;
  // OPENAPI_STRICT=1: a member the description does not name is a violation
  // too (the description itself allows them), to catch a translator that
  // leaks a provider's own fields
  if (process.env.OPENAPI_STRICT === '1') (function close(n) {
    if (Array.isArray(n)) return n.forEach(close);
    if (!n || typeof n !== 'object') return;
    if (n.properties && n.additionalProperties === undefined
        && n.unevaluatedProperties === undefined) n.unevaluatedProperties = false;
    Object.values(n).forEach(close);
  })(adapted);
  ajv.addSchema({ $id: DOC_ID, components: { schemas: adapted } });
  (function walk(node, path) {
    if (!node || typeof node !== 'object') return;
    if (!Array.isArray(node)) where.set(node, path);
    for (const [k, v] of Object.entries(node)) walk(v, `${path}/${k}`);
  })(adapted, '#/components/schemas');
  return `OpenAPI ${version}, API ${doc.info && doc.info.version}, ` +
         `${Object.keys(schemas).length} component schemas`;
}

const validators = {};
function validator(name) {
  if (!validators[name]) {
    const v = ajv.getSchema(`${DOC_ID}#/components/schemas/${name}`);
    if (!v) throw new Error(`no component schema ${name}`);
    validators[name] = v;
  }
  return validators[name];
}

// [] when obj matches components/schemas/<name>, else readable violations
function violations(name, obj) {
  const v = validator(name);
  if (v(obj)) return [];
  return v.errors.map((e) => `${e.instancePath || '/'}: ${e.message}` +
    (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '') +
    ` (schema ${schemaPath(name, e)})`);
}

// where in openapi.yaml: #/components/schemas/<component>/.../<keyword>
function schemaPath(name, e) {
  const at = where.get(e.parentSchema);
  if (at) return `${at}/${e.keyword}`;
  return `#/components/schemas/${name} ${e.schemaPath}`;
}

// ---- HTTP ----------------------------------------------------------------

// a body sent with Transfer-Encoding: chunked (no Content-Length)
function chunked(obj) {
  const bytes = new TextEncoder().encode(JSON.stringify(obj));
  return { chunked: bytes };
}

async function call(base, method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body && body.chunked) {
    const bytes = body.chunked;
    init.body = new ReadableStream({ start(c) {
      for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
      c.close();
    } });
    init.duplex = 'half';
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(base + path, { ...init, signal: AbortSignal.timeout(30000) });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, type: r.headers.get('content-type') || '', text, json };
}

// a streamed answer: its "data:" payloads ([DONE] kept as the string)
async function stream(model, extra) {
  const r = await call(BASE, 'POST', '/v1/chat/completions',
                       { model, stream: true, ...extra });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  if (!r.type.startsWith('text/event-stream')) throw new Error(`Content-Type ${r.type}`);
  const events = [];
  for (const block of r.text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data) continue;
    if (data === '[DONE]') { events.push(data); continue; }
    let j;
    try { j = JSON.parse(data); } catch { throw new Error(`event not JSON: ${data.slice(0, 200)}`); }
    events.push(j);
  }
  return events;
}

// ---- what the checks ask -------------------------------------------------

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } },
                  required: ['city'] },
  },
}];
const say = (text) => [{ role: 'user', content: text }];

const checks = [];
// todo: why a failure is known: the mock's own answer, or a module defect
// reported but not fixed here (t/13_openapi.t marks the test TODO)
function check(name, fn, todo) { checks.push({ name, fn, todo }); }

// one JSON answer, its status and the schema it must match
function jsonShape(label, schema, status, req, extra, todo) {
  check(`${label} matches ${schema}`, async () => {
    const r = await req();
    if (r.status !== status) throw new Error(`HTTP ${r.status}, want ${status}: ${r.text.slice(0, 300)}`);
    if (r.json === undefined) throw new Error(`body not JSON: ${r.text.slice(0, 200)}`);
    const v = violations(schema, r.json);
    if (v.length) throw new Error(v.join('; '));
    if (extra) return extra(r.json);
    return r.text.slice(0, 120);
  }, todo);
}

function chat(label, model, body, toolCalls, todo) {
  jsonShape(`chat completion${toolCalls ? ' with tool calls' : ''} (${label})`,
    'CreateChatCompletionResponse', 200,
    () => call(BASE, 'POST', '/v1/chat/completions', { model, ...body }),
    (j) => {
      const c = j.choices[0];
      if (toolCalls) {
        if (!c.message.tool_calls || !c.message.tool_calls.length) throw new Error('no tool_calls');
        if (c.finish_reason !== 'tool_calls') throw new Error(`finish_reason ${c.finish_reason}`);
        return JSON.stringify(c.message.tool_calls[0].function);
      }
      return `finish_reason ${c.finish_reason}`;
    }, todo);
}

// every chunk of a stream; [DONE] last; an error event is an ErrorResponse
function chatStream(label, model, body, what, wantError = false) {
  check(`every stream chunk of ${what} (${label}) matches CreateChatCompletionStreamResponse` +
        (wantError ? ', its last event ErrorResponse' : ''),
    async () => {
      const ev = await stream(model, body);
      // the end: [DONE], or an error event (an error after the 200)
      const end = ev[ev.length - 1];
      const failed = end && end.error !== undefined;
      if (end !== '[DONE]' && !failed) throw new Error('ends with neither [DONE] nor an error event');
      if (failed !== wantError)
        throw new Error(failed ? `error event: ${JSON.stringify(end)}` : 'no error event at the end');
      const chunks = failed ? ev : ev.slice(0, -1);
      if (chunks.includes('[DONE]')) throw new Error('[DONE] before the end');
      chunks.slice(0, -1).forEach((ch, i) => {
        if (ch && ch.error !== undefined) throw new Error(`error event ${i} is not the last one`);
      });
      const bad = [];
      chunks.forEach((ch, i) => {
        const v = ch && ch.error ? violations('ErrorResponse', ch)
                                 : violations('CreateChatCompletionStreamResponse', ch);
        if (v.length) bad.push(`chunk ${i}: ${v.join('; ')}`);
      });
      if (bad.length) throw new Error(bad.join(' | '));
      return `${chunks.length} chunks${failed ? ', ' + JSON.stringify(end) : ''}`;
    });
}

// OpenAI: with stream_options.include_usage every chunk carries "usage": null
// except the last, which carries the usage of the whole request (and no
// choices). Marked [usage-null] so that it is easy to find.
function usageNull(label, model) {
  check(`[usage-null] stream with include_usage (${label}): usage is null on every chunk but the last`,
    async () => {
      const ev = await stream(model, { messages: say('Count to three'),
                                       stream_options: { include_usage: true } });
      const chunks = ev.filter((e) => e !== '[DONE]');
      const last = chunks[chunks.length - 1];
      const bad = [];
      chunks.slice(0, -1).forEach((ch, i) => {
        if (!('usage' in ch)) bad.push(`chunk ${i}: no "usage" member`);
        else if (ch.usage !== null) bad.push(`chunk ${i}: usage ${JSON.stringify(ch.usage)}`);
      });
      if (!last || !last.usage) bad.push('the last chunk has no usage');
      else {
        const v = violations('CompletionUsage', last.usage);
        if (v.length) bad.push(`last chunk: ${v.join('; ')}`);
        if (!Array.isArray(last.choices) || last.choices.length)
          bad.push(`last chunk: choices ${JSON.stringify(last.choices)}, want []`);
      }
      if (bad.length) throw new Error(`${bad.join('; ')} (schema #/components/schemas/` +
        'CreateChatCompletionStreamResponse/properties/usage/description: "When present, it ' +
        'contains a null value except for the last chunk")');
      return `${chunks.length} chunks, usage ${JSON.stringify(last.usage)}`;
    });
}

function embeddings(label, model, base64, todo) {
  const input = ['hello', 'world'];
  const name = base64 ? 'embeddings base64' : 'embeddings float';
  jsonShape(`${name} (${label})`, 'CreateEmbeddingResponse', 200,
    async () => {
      const r = await call(BASE, 'POST', '/v1/embeddings',
                           { model, input, encoding_format: base64 ? 'base64' : 'float' });
      if (base64 && r.json && Array.isArray(r.json.data)) {
        // The description models only the float form: decode each base64
        // string (little-endian float32, as the SDKs do) and check that.
        for (const e of r.json.data) {
          if (typeof e.embedding !== 'string')
            throw new Error(`embedding is ${typeof e.embedding}, not a base64 string`);
          const buf = Buffer.from(e.embedding, 'base64');
          if (buf.toString('base64') !== e.embedding || buf.length % 4)
            throw new Error(`not base64 float32: ${e.embedding.slice(0, 40)}`);
          e.embedding = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(4 * i));
        }
      }
      return r;
    },
    (j) => {
      if (j.data.length !== input.length) throw new Error(`${j.data.length} embeddings`);
      return `${j.data.length} x dim ${j.data[0].embedding.length}`;
    }, todo);
}

function images(label, model, extra = {}) {
  jsonShape(`images${extra.response_format ? ' ' + extra.response_format : ''} (${label})`,
    'ImagesResponse', 200,
    () => call(BASE, 'POST', '/v1/images/generations',
               { model, prompt: 'a cute otter', size: '1024x1024', ...extra }),
    (j) => {
      if (!j.data || !j.data.length) throw new Error('no image');
      return j.data[0].url || 'b64_json';
    });
}

function errorShape(label, status, req) {
  jsonShape(`error ${status}: ${label}`, 'ErrorResponse', status, req,
            (j) => `${j.error.code}: ${j.error.message}`);
}

// ---- the checks ----------------------------------------------------------

// models
jsonShape('models list', 'ListModelsResponse', 200,
          () => call(BASE, 'GET', '/v1/models'), (j) => `${j.data.length} models`);
jsonShape('one model', 'Model', 200, () => call(BASE, 'GET', '/v1/models/gpt-4o-mini'));
jsonShape('one model (id with slashes)', 'Model', 200,
          () => call(BASE, 'GET', '/v1/models/accounts/fireworks/models/llama-v3p1-405b-instruct'));

// chat: the OpenAI-compatible mock never calls a tool, so the pass-through
// family has no tool-call case
const CHAT = { 'pass-through': 'gpt-4o-mini', anthropic: 'claude-3-7-sonnet-20250219',
               gemini: 'gemini-2.0-flash', cohere: 'command-r-plus' };
for (const [label, model] of Object.entries(CHAT)) {
  const translated = label !== 'pass-through';
  chat(label, model, { messages: [{ role: 'system', content: 'Be brief.' }, ...say('Say hi')] },
       false);
  if (translated)
    chat(label, model, { tools, tool_choice: 'auto',
                         messages: say('use_tool: weather in Paris?') }, true);
  chatStream(label, model, { messages: say('Count to three') }, 'a chat stream');
  chatStream(label, model, { messages: say('Count to three'),
                             stream_options: { include_usage: true } },
             'a chat stream with include_usage');
  if (translated) {
    chatStream(label, model, { tools, messages: say('use_tool: weather in Paris?') },
               'a chat stream with tool calls');
    // the pass-through mock ignores stream_options: no usage chunk to check
    usageNull(label, model);
  }
}
// the translators' other answers: several tool calls, refusals and blocks,
// cut lengths, reasoning, cache usage, several choices
const tools2 = [...tools, { type: 'function', function: {
  name: 'get_time', parameters: { type: 'object', properties: {} } } }];
for (const [label, model, body, toolCalls] of [
  ['anthropic: two tool calls', CHAT.anthropic, { tools, messages: say('use_tool twice') }, true],
  ['anthropic: refusal', CHAT.anthropic, { messages: say('refuse') }],
  ['anthropic: thinking', CHAT.anthropic, { messages: say('thinking') }],
  ['anthropic: cached prompt', CHAT.anthropic, { messages: say('cache') }],
  ['anthropic: max_tokens reached', CHAT.anthropic, { max_tokens: 2, messages: say('one two three four') }],
  ['gemini: two tool calls', CHAT.gemini, { tools: tools2, messages: say('two_tools') }, true],
  ['gemini: blocked answer', CHAT.gemini, { messages: say('blocked') }],
  ['gemini: blocked prompt', CHAT.gemini, { messages: say('prompt_blocked') }],
  ['gemini: max_tokens reached', CHAT.gemini, { messages: say('max_tokens') }],
  ['gemini: thinking', CHAT.gemini, { messages: say('thinking') }],
  ['gemini: n=2', CHAT.gemini, { n: 2, messages: say('hi') }],
  ['cohere: max_tokens reached', CHAT.cohere, { max_tokens: 2, messages: say('one two three four') }],
]) {
  chat(label, model, body, toolCalls);
  chatStream(label, model, { ...body, stream_options: { include_usage: true } },
             'a chat stream with include_usage');
}

// the answer to a tool result (the round trip: call, result, answer)
for (const label of ['anthropic', 'gemini', 'cohere']) {
  const model = CHAT[label];
  jsonShape(`chat completion after a tool result (${label})`, 'CreateChatCompletionResponse', 200,
    async () => {
      const first = await call(BASE, 'POST', '/v1/chat/completions',
                               { model, tools, messages: say('use_tool: weather in Paris?') });
      const msg = first.json && first.json.choices && first.json.choices[0].message;
      const tc = msg && msg.tool_calls && msg.tool_calls[0];
      if (!tc) throw new Error(`no tool call to answer: ${first.text.slice(0, 200)}`);
      return call(BASE, 'POST', '/v1/chat/completions', { model, tools, messages: [
        ...say('use_tool: weather in Paris?'), msg,
        { role: 'tool', tool_call_id: tc.id, content: '{"temp":21}' }] });
    },
    (j) => j.choices[0].message.content);
}
chat('gemini: json_schema response_format', CHAT.gemini, { messages: say('give json'),
  response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true,
    schema: { type: 'object', properties: { answer: { type: 'string' } },
              required: ['answer'], additionalProperties: false } } } });

// an error after the 200: the last event is an ErrorResponse, no [DONE]
for (const [label, model, text] of [
  ['anthropic', CHAT.anthropic, 'stream_error'], ['anthropic', CHAT.anthropic, 'stream_cut'],
  ['gemini', CHAT.gemini, 'stream_error'], ['gemini', CHAT.gemini, 'stream_cut'],
  ['cohere', CHAT.cohere, 'stream_error']]) {
  chatStream(`${label}: ${text}`, model, { messages: say(text) },
             'a stream that fails after the 200', true);
}

embeddings('pass-through', 'text-embedding-3-small', false);
// the mock ignores encoding_format and answers floats: the module encodes them
embeddings('pass-through', 'text-embedding-3-small', true);
jsonShape('embeddings of one string (gemini)', 'CreateEmbeddingResponse', 200,
          () => call(BASE, 'POST', '/v1/embeddings', { model: 'text-embedding-004', input: 'hello' }));
jsonShape('embeddings with dimensions (gemini)', 'CreateEmbeddingResponse', 200,
          () => call(BASE, 'POST', '/v1/embeddings',
                     { model: 'text-embedding-004', input: ['hello'], dimensions: 8 }),
          (j) => `dim ${j.data[0].embedding.length}`);
for (const [label, model] of [['gemini', 'text-embedding-004'], ['cohere', 'embed-english-v3.0']]) {
  embeddings(label, model, false);
  embeddings(label, model, true);
}

// images
images('pass-through', 'dall-e-3');
images('ideogram', 'ideogram-v2');
images('ideogram v3', 'ideogram-v3');
images('recraft', 'recraftv3');
images('recraft', 'recraftv3', { response_format: 'b64_json' });

// legacy completions (pass-through only: translated models refuse them)
jsonShape('legacy completion (pass-through)', 'CreateCompletionResponse', 200,
          () => call(BASE, 'POST', '/v1/completions',
                     { model: 'gpt-3.5-turbo-instruct', prompt: 'Say done' }));

// errors
const chatReq = (model, content, prefix = '/v1') => () =>
  call(BASE, 'POST', `${prefix}/chat/completions`, { model, messages: say(content) });
errorShape('invalid JSON', 400,
           () => call(BASE, 'POST', '/v1/chat/completions', '{"model": "gpt-4o-mini", '));
errorShape('chat without messages', 400,
           () => call(BASE, 'POST', '/v1/chat/completions', { model: 'gpt-4o-mini' }));
errorShape('legacy completions on a translated model', 400,
           () => call(BASE, 'POST', '/v1/completions', { model: CHAT.anthropic, prompt: 'x' }));
errorShape('backend 400 (anthropic)', 400,
           () => call(BASE, 'POST', '/v1/chat/completions', { model: CHAT.anthropic,
             messages: [{ role: 'user', content: 'x' },
                        { role: 'tool', tool_call_id: 'nope', content: 'r' }] }));
errorShape('unknown model', 404, chatReq('no-such-model', 'x'));
errorShape('unknown model on /v1/models/{id}', 404,
           () => call(BASE, 'GET', '/v1/models/no-such-model'));
errorShape('unknown endpoint', 404, () => call(BASE, 'POST', '/v1/nothing-here', {}));
errorShape('GET on chat', 405, () => call(BASE, 'GET', '/v1/chat/completions'));
errorShape('POST on /v1/models', 405, () => call(BASE, 'POST', '/v1/models', {}));
errorShape('body over LLMProxyMaxRequestBody', 413,
           () => call(ROOT, 'POST', '/v1/chat/completions',
                      { model: 'gpt-4o-mini', messages: say('x'.repeat(3000)) }));
errorShape('chunked body over LLMProxyMaxRequestBody', 413,
           () => call(ROOT, 'POST', '/v1/chat/completions',
                      chunked({ model: 'gpt-4o-mini', messages: say('x'.repeat(3000)) })));
// <Location /limited/v1> (LimitRequestBody 2048): a mount without a
// directive of ours routes, and httpd's refusal is answered as JSON
jsonShape('chat completion (anthropic) under <Location /limited/v1>', 'CreateChatCompletionResponse',
          200, chatReq(CHAT.anthropic, 'hi', '/limited/v1'));
jsonShape('error 413: body over LimitRequestBody', 'ErrorResponse', 413,
          () => call(BASE, 'POST', '/limited/v1/chat/completions',
                     { model: CHAT.anthropic, messages: say('x'.repeat(3000)) }));
jsonShape('error 413: chunked body over LimitRequestBody', 'ErrorResponse', 413,
          () => call(BASE, 'POST', '/limited/v1/chat/completions',
                     chunked({ model: CHAT.anthropic, messages: say('x'.repeat(3000)) })));
errorShape('non-JSON success body (pass-through)', 502, chatReq('mock-garbage', 'x'));
errorShape('backend redirect (pass-through)', 502, chatReq('mock-redirect', 'x'));
errorShape('backend slower than LLMProxyTimeout', 504,
           () => call(TIMEOUT, 'POST', '/v1/chat/completions',
                      { model: 'mock-stall', messages: say('x') }));
errorShape('model list not loaded', 503,
           () => call(NOTOKEN, 'POST', '/v1/chat/completions',
                      { model: 'gpt-4o-mini', messages: say('x') }));
errorShape('backend overloaded (anthropic)', 503, chatReq(CHAT.anthropic, 'overloaded'));
errorShape('backend overloaded (gemini)', 503, chatReq(CHAT.gemini, 'overloaded'));
errorShape('backend overloaded (cohere)', 503, chatReq(CHAT.cohere, 'overloaded'));
errorShape('backend rate limit (gemini)', 429, chatReq(CHAT.gemini, 'rate_limit'));
errorShape('backend rate limit (cohere)', 429, chatReq(CHAT.cohere, 'rate_limit'));
errorShape('a stream refused before the 200 (anthropic)', 503,
           () => call(BASE, 'POST', '/v1/chat/completions',
                      { model: CHAT.anthropic, stream: true, messages: say('overloaded') }));
errorShape('b64_json refused (ideogram)', 400,
           () => call(BASE, 'POST', '/v1/images/generations',
                      { model: 'ideogram-v2', prompt: 'x', response_format: 'b64_json' }));
errorShape('backend 422 (ideogram)', 422,
           () => call(BASE, 'POST', '/v1/images/generations',
                      { model: 'ideogram-v2', prompt: 'safety' }));
errorShape('backend 500 (ideogram)', 500,
           () => call(BASE, 'POST', '/v1/images/generations',
                      { model: 'ideogram-v2', prompt: 'please fail' }));
errorShape('backend 500 (recraft)', 500,
           () => call(BASE, 'POST', '/v1/images/generations',
                      { model: 'recraftv3', prompt: 'please fail' }));

// the validator itself: it must refuse what OpenAI's description refuses
// (a validator that resolved no $ref would accept anything)
const good = { id: 'x', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, logprobs: null, finish_reason: 'stop',
              message: { role: 'assistant', content: 'hi', refusal: null } }] };
check('the validator accepts a minimal chat completion (CreateChatCompletionResponse)',
  async () => {
    const v = violations('CreateChatCompletionResponse', good);
    if (v.length) throw new Error(v.join('; '));
    return 'accepted';
  });
for (const [what, schema, obj] of [
  ['a chat completion whose finish_reason is not OpenAI\'s', 'CreateChatCompletionResponse',
   { ...good, choices: [{ ...good.choices[0], finish_reason: 'end_turn' }] }],
  ['a chat completion without message.content', 'CreateChatCompletionResponse',
   { ...good, choices: [{ ...good.choices[0], message: { role: 'assistant', refusal: null } }] }],
  ['a chunk whose usage is not an object', 'CreateChatCompletionStreamResponse',
   { ...good, object: 'chat.completion.chunk', choices: [], usage: 'n/a' }],
  ['a tool call without its id', 'CreateChatCompletionResponse',
   { ...good, choices: [{ ...good.choices[0], message: { ...good.choices[0].message,
     tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] } }] }],
  ['an error without param', 'ErrorResponse', { error: { message: 'm', type: 't', code: null } }],
]) {
  check(`the validator refuses ${what} (${schema})`, async () => {
    const v = violations(schema, obj);
    if (!v.length) throw new Error('accepted');
    return v[0];
  });
}

// ---- the Responses API (/v1/responses) -----------------------------------
// Every answer matches Response, every stream event the schema its "type"
// names (one of ResponseStreamEvent's), an error ErrorResponse.

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, '..', 'fixtures', 'responses');
// the Responses-native model: the one whose handle ends with /responses
const NATIVE = (() => {
  try {
    const list = JSON.parse(readFileSync(process.env.MODELS_JSON
      || join(HERE, '..', '..', 't', 'mock', 'models.json'), 'utf8')).models || [];
    const m = list.find((x) => typeof x.handle === 'string' && /\/responses$/.test(x.handle)
                               && x.model_version);
    return m ? m.model_version : null;
  } catch { return null; }
})();

// event type -> the component schema of that event (from ResponseStreamEvent)
let eventSchemas;
function eventSchema(type) {
  if (!eventSchemas) {
    eventSchemas = {};
    const doc = specSchemas;
    for (const alt of doc.ResponseStreamEvent.anyOf) {
      const name = alt.$ref.split('/').pop();
      const t = doc[name].properties && doc[name].properties.type;
      for (const v of (t && (t.enum || [t.const])) || []) eventSchemas[v] = name;
    }
  }
  return eventSchemas[type];
}

// a streamed Responses answer: [{event, data}] (data parsed)
async function rstream(body) {
  const r = await call(BASE, 'POST', '/v1/responses', { ...body, stream: true });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  if (!r.type.startsWith('text/event-stream')) throw new Error(`Content-Type ${r.type}`);
  const events = [];
  for (const block of r.text.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/);
    const data = lines.filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (!data) continue;
    const ev = lines.filter((l) => l.startsWith('event:')).map((l) => l.slice(6).trim())[0];
    let j;
    try { j = JSON.parse(data); } catch { throw new Error(`event not JSON: ${data.slice(0, 200)}`); }
    events.push({ event: ev, data: j });
  }
  return events;
}

const TERMINAL = ['response.completed', 'response.incomplete', 'response.failed'];

// every event valid; sequence_number increasing; the "event:" name is the
// data's type; response.created first; exactly one terminal event, last
// (wantEnd: the terminal type wanted, or 'error' for a failure mid-stream)
function checkEvents(events, wantEnd = 'response.completed') {
  const bad = [];
  let seq = -1;
  events.forEach(({ event, data }, i) => {
    const schema = eventSchema(data.type);
    if (!schema) { bad.push(`event ${i}: unknown type ${JSON.stringify(data.type)}`); return; }
    const v = violations(schema, data);
    if (v.length) bad.push(`event ${i} (${data.type}): ${v.join('; ')}`);
    if (event !== undefined && event !== data.type) bad.push(`event ${i}: "event: ${event}" but type ${data.type}`);
    if (!(data.sequence_number > seq)) bad.push(`event ${i}: sequence_number ${data.sequence_number} after ${seq}`);
    seq = data.sequence_number;
  });
  const types = events.map((e) => e.data.type);
  if (types[0] !== 'response.created') bad.push(`first event ${types[0]}`);
  const ends = types.filter((t) => TERMINAL.includes(t));
  if (wantEnd === 'error') {
    if (!types.includes('error') && !types.includes('response.failed'))
      bad.push(`no error or response.failed event: ${types.join(',')}`);
    if (types.includes('response.completed')) bad.push('response.completed after a failure');
  } else {
    if (ends.length !== 1 || ends[0] !== wantEnd) bad.push(`terminal events [${ends}], want [${wantEnd}]`);
    if (types[types.length - 1] !== wantEnd) bad.push(`last event ${types[types.length - 1]}`);
    if (types.includes('error')) bad.push('an error event');
  }
  if (bad.length) throw new Error(bad.join(' | '));
  const counts = {};
  for (const t of types) counts[t] = (counts[t] || 0) + 1;
  return Object.entries(counts).map(([t, n]) => `${t.replace('response.', '')}x${n}`).join(' ');
}

function responses(label, body, extra, status = 200) {
  jsonShape(`response (${label})`, 'Response', status,
            () => call(BASE, 'POST', '/v1/responses', body), extra);
}

function responsesStream(label, body, wantEnd, extra) {
  check(`every event of a response stream (${label}) matches its ResponseStreamEvent schema`,
    async () => {
      const ev = await rstream(body);
      const summary = checkEvents(ev, wantEnd);
      if (extra) extra(ev);
      return summary;
    });
}

const rtools = [{ type: 'function', name: 'get_weather', description: 'Weather in a city',
                  parameters: { type: 'object', properties: { city: { type: 'string' } },
                                required: ['city'] } }];
// a custom (free-form) tool like Codex's apply_patch
const patchTool = { type: 'custom', name: 'apply_patch', description: 'Apply a patch',
                    format: { type: 'grammar', syntax: 'lark',
                              definition: 'start: "*** Begin Patch" /(.|\\n)*/' } };
const outputTypes = (j) => j.output.map((o) => o.type).join(',');
const want = (j, type) => {
  if (!j.output.some((o) => o.type === type)) throw new Error(`no ${type} item: ${outputTypes(j)}`);
  return outputTypes(j);
};
const RFAM = { ...CHAT };
if (NATIVE) RFAM['responses pass-through'] = NATIVE;
for (const [label, model] of Object.entries(RFAM)) {
  responses(label, { model, instructions: 'Be brief.', input: 'Say hi' }, (j) => {
    if (j.status !== 'completed') throw new Error(`status ${j.status}`);
    return want(j, 'message');
  });
  responses(`${label}: input items`, { model, input: [
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Be brief.' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hi' }] }] },
    (j) => want(j, 'message'));
  responses(`${label}: function call`, { model, tools: rtools, input: 'use_tool: weather in Paris?' },
            (j) => want(j, 'function_call'));
  responses(`${label}: after a function_call_output`, { model, tools: rtools, store: false, input: [
    { type: 'message', role: 'user', content: 'use_tool: weather in Paris?' },
    { type: 'function_call', call_id: 'call_llmp1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_llmp1', output: '{"temp":21}' }] },
    (j) => want(j, 'message'));
  // a translated model gets the custom tool as a function: its call comes
  // back as a custom_tool_call (the Responses mock calls function tools only)
  const native = label === 'responses pass-through';
  responses(`${label}: a custom tool`, { model, tools: [patchTool], input: 'use_tool: patch it' },
            (j) => want(j, native ? 'message' : 'custom_tool_call'));
  responsesStream(label, { model, input: 'Count to three' }, 'response.completed', (ev) => {
    const types = ev.map((e) => e.data.type);
    for (const t of ['response.output_item.added', 'response.content_part.added',
                     'response.output_text.delta', 'response.output_text.done',
                     'response.content_part.done', 'response.output_item.done'])
      if (!types.includes(t)) throw new Error(`no ${t}`);
  });
  responsesStream(`${label}: function call`, { model, tools: rtools, input: 'use_tool: weather in Paris?' },
    'response.completed', (ev) => {
      const types = ev.map((e) => e.data.type);
      for (const t of ['response.function_call_arguments.delta', 'response.function_call_arguments.done'])
        if (!types.includes(t)) throw new Error(`no ${t}`);
    });
  responsesStream(`${label}: a custom tool`, { model, tools: [patchTool], input: 'use_tool: patch it' },
    'response.completed', (ev) => {
      if (native) return;
      const types = ev.map((e) => e.data.type);
      for (const t of ['response.custom_tool_call_input.delta', 'response.custom_tool_call_input.done'])
        if (!types.includes(t)) throw new Error(`no ${t}`);
      const item = ev.find((e) => e.data.type === 'response.output_item.done'
                              && e.data.item.type === 'custom_tool_call');
      if (!item) throw new Error('no custom_tool_call item done');
    });
  // what the real Codex CLI sends (tests/fixtures/responses/), as it is
  for (const f of ['codex_request.json', 'codex_request_tool_output.json', 'codex_request_gpt55.json']) {
    let body;
    try { body = JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')); } catch { body = null; }
    responsesStream(`${label}: Codex's ${f}`, body ? { ...body, model } : { model, input: 'x' });
  }
}
// text.format json_schema, max_output_tokens reached, failures mid-stream
const longPrompt = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
for (const [label, model] of [['anthropic', CHAT.anthropic], ['gemini', CHAT.gemini],
                              ['cohere', CHAT.cohere]]) {
  responses(`${label}: text.format json_schema`, { model, input: 'give json',
    text: { format: { type: 'json_schema', name: 'a', strict: true,
      schema: { type: 'object', properties: { answer: { type: 'string' } },
                required: ['answer'], additionalProperties: false } } } },
    (j) => want(j, 'message'));
  const cut = label === 'gemini' ? 'max_tokens' : longPrompt;
  responses(`${label}: max_output_tokens reached`, { model, input: cut, max_output_tokens: 16 },
    (j) => {
      if (j.status !== 'incomplete' || !j.incomplete_details
          || j.incomplete_details.reason !== 'max_output_tokens')
        throw new Error(`status ${j.status}, incomplete_details ${JSON.stringify(j.incomplete_details)}`);
      return j.status;
    });
  responsesStream(`${label}: max_output_tokens reached`, { model, input: cut, max_output_tokens: 16 },
                  'response.incomplete');
  responsesStream(`${label}: stream_error`, { model, input: 'stream_error' }, 'error');
}
// stored answers: GET /v1/responses/{id}, previous_response_id
check('GET /v1/responses/{id} of a stored answer matches Response', async () => {
  const r = await call(BASE, 'POST', '/v1/responses', { model: CHAT.anthropic, input: 'Say hi' });
  if (r.status !== 200 || !r.json) throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 200)}`);
  const g = await call(BASE, 'GET', `/v1/responses/${encodeURIComponent(r.json.id)}`);
  if (g.status !== 200) throw new Error(`GET: HTTP ${g.status}: ${g.text.slice(0, 200)}`);
  const v = violations('Response', g.json);
  if (v.length) throw new Error(v.join('; '));
  if (g.json.id !== r.json.id) throw new Error(`id ${g.json.id}`);
  return g.json.id;
});
check('an answer with previous_response_id matches Response', async () => {
  const r = await call(BASE, 'POST', '/v1/responses', { model: CHAT.gemini, input: 'Say hi' });
  if (r.status !== 200 || !r.json) throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 200)}`);
  const r2 = await call(BASE, 'POST', '/v1/responses', { model: CHAT.gemini, input: 'And again',
                                                         previous_response_id: r.json.id });
  if (r2.status !== 200) throw new Error(`HTTP ${r2.status}: ${r2.text.slice(0, 200)}`);
  const v = violations('Response', r2.json);
  if (v.length) throw new Error(v.join('; '));
  return r2.json.previous_response_id;
});
// errors
const rerr = (label, status, req) => jsonShape(`error ${status}: ${label}`, 'ErrorResponse', status, req,
  (j) => {
    // not the 404 of an endpoint the module does not serve
    if (j.error.code === 'unknown_url') throw new Error(`unknown_url: ${j.error.message}`);
    return `${j.error.code}: ${j.error.message}`;
  });
rerr('responses: invalid JSON', 400, () => call(BASE, 'POST', '/v1/responses', '{"model": "x", '));
rerr('responses: without input', 400, () => call(BASE, 'POST', '/v1/responses', { model: CHAT.anthropic }));
rerr('responses: unknown role', 400, () => call(BASE, 'POST', '/v1/responses', { model: CHAT.anthropic,
  input: [{ type: 'message', role: 'wizard', content: 'x' }] }));
rerr('responses: function_call_output without its call', 400, () => call(BASE, 'POST', '/v1/responses',
  { model: CHAT.anthropic, store: false,
    input: [{ type: 'function_call_output', call_id: 'call_nowhere', output: 'x' }] }));
rerr('responses: unknown model', 404, () => call(BASE, 'POST', '/v1/responses',
  { model: 'no-such-model', input: 'x' }));
rerr('responses: unknown previous_response_id', 404, () => call(BASE, 'POST', '/v1/responses',
  { model: CHAT.anthropic, input: 'x', previous_response_id: 'resp_nosuchthing0000' }));
rerr('GET /v1/responses/{unknown id}', 404, () => call(BASE, 'GET', '/v1/responses/resp_nosuchthing0000'));
rerr('responses: backend overloaded (anthropic)', 503, () => call(BASE, 'POST', '/v1/responses',
  { model: CHAT.anthropic, input: 'overloaded' }));
rerr('responses: a stream refused before the 200 (anthropic)', 503, () => call(BASE, 'POST',
  '/v1/responses', { model: CHAT.anthropic, input: 'overloaded', stream: true }));

// the validator: it refuses what the description refuses
const goodResponse = { id: 'resp_1', object: 'response', created_at: 1, status: 'completed',
  error: null, incomplete_details: null, instructions: null, model: 'm', tools: [],
  tool_choice: 'auto', parallel_tool_calls: true, metadata: {}, temperature: 1, top_p: 1,
  output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed',
             content: [{ type: 'output_text', text: 'hi', annotations: [], logprobs: [] }] }] };
check('the validator accepts a minimal response (Response)', async () => {
  const v = violations('Response', goodResponse);
  if (v.length) throw new Error(v.join('; '));
  return 'accepted';
});
for (const [what, schema, obj] of [
  ['a response without output', 'Response', (() => { const o = { ...goodResponse }; delete o.output; return o; })()],
  ['a response whose status is not OpenAI\'s', 'Response', { ...goodResponse, status: 'done' }],
  ['a function_call item without call_id', 'Response', { ...goodResponse,
    output: [{ type: 'function_call', id: 'fc_1', name: 'f', arguments: '{}' }] }],
  ['a text delta without logprobs', 'ResponseTextDeltaEvent', { type: 'response.output_text.delta',
    item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'x', sequence_number: 1 }],
  ['an error event with the error nested', 'ResponseErrorEvent', { type: 'error', sequence_number: 3,
    error: { message: 'm', type: 't', code: null, param: null } }],
]) {
  check(`the validator refuses ${what} (${schema})`, async () => {
    const v = violations(schema, obj);
    if (!v.length) throw new Error('accepted');
    return v[0];
  });
}

// ---- run -----------------------------------------------------------------

let loaded;
try {
  loaded = loadSpec();
  report(`the OpenAPI description loads (${SPEC})`, true, loaded);
} catch (e) {
  report(`the OpenAPI description loads (${SPEC})`, false, `${e.constructor.name}: ${e.message}`);
  process.exit(0);
}
const wanted = process.argv.slice(2);
for (const { name, fn, todo } of checks) {
  if (wanted.length && !wanted.some((w) => name.includes(w))) continue;
  try {
    report(name, true, await fn(), todo);
  } catch (e) {
    report(name, false, `${e.constructor.name}: ${e.message}`, todo);
  }
}
