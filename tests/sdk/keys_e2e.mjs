// End-to-end checks of AuthType llmproxy-key with the official SDKs: a key
// made by llmproxy-keys as the OpenAI SDK's apiKey (Authorization: Bearer)
// and as the Anthropic SDK's apiKey (x-api-key) or authToken (Bearer); a
// wrong key is the SDK's AuthenticationError, whose body never shows it.
// Usage: BASE_URL=http://127.0.0.1:8529 KEY=sk-llmp-... BAD_KEY=sk-llmp-...
//        node keys_e2e.mjs [part of a name ...]
// Prints one JSON line per case: {"name", "ok", "detail"}; exits 0 always
// (t/24_keys.t turns the lines into test results).
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { report, assert, runCases } from './cases.mjs';

const BASE = process.env.BASE_URL;
const KEY = process.env.KEY;
const BAD = process.env.BAD_KEY;


const opts = { maxRetries: 0, timeout: 30000 };
const openai = (key) => new OpenAI({ baseURL: `${BASE}/v1`, apiKey: key, ...opts });
const anthropic = (key) => new Anthropic({ baseURL: BASE, apiKey: key, ...opts });
const anthropicBearer = (key) => new Anthropic({ baseURL: BASE, authToken: key,
                                                 apiKey: null, ...opts });

async function openaiChat() {
  const r = await openai(KEY).chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello with a key' }] });
  assert(r.object === 'chat.completion', `object ${r.object}`);
  assert(r.choices[0].message.content.length > 0, 'no content');
  return r.choices[0].message.content.slice(0, 60);
}

async function openaiStream() {
  const stream = await openai(KEY).chat.completions.create({
    model: 'claude-sonnet-4-5', stream: true,
    messages: [{ role: 'user', content: 'count to three' }] });
  let text = '', chunks = 0;
  for await (const ch of stream) {
    chunks++;
    for (const c of ch.choices) if (c.delta && c.delta.content) text += c.delta.content;
  }
  assert(chunks >= 2 && text.length > 0, `${chunks} chunks, text ${text}`);
  return `${chunks} chunks`;
}

async function openaiModels() {
  const page = await openai(KEY).models.list();
  assert(page.data.length > 0, 'no models');
  return `${page.data.length} models`;
}

function checkNoKey(e) {
  const body = JSON.stringify(e.error ?? {}) + String(e.message);
  assert(!body.includes(BAD) && !body.includes(KEY), `the key in the error: ${body}`);
}

async function openaiBadKey() {
  try {
    await openai(BAD).chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    throw new Error('no error for a wrong key');
  } catch (e) {
    assert(e instanceof OpenAI.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert(e.status === 401, `status ${e.status}`);
    assert(e.code === 'invalid_api_key', `code ${e.code}`);
    assert(/^Bearer/.test(e.headers.get('www-authenticate') ?? ''),
           `WWW-Authenticate ${e.headers.get('www-authenticate')}`);
    checkNoKey(e);
    return e.message;
  }
}

async function messagesCreate(client) {
  const m = await client.messages.create({
    model: 'claude-sonnet-4-5', max_tokens: 50,
    messages: [{ role: 'user', content: 'hello with a key' }] });
  assert(m.type === 'message' && m.content.length > 0, JSON.stringify(m));
  return m.content.map((b) => b.text ?? '').join('').slice(0, 60);
}

async function messagesBadKey() {
  try {
    await anthropic(BAD).messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 10,
      messages: [{ role: 'user', content: 'x' }] });
    throw new Error('no error for a wrong key');
  } catch (e) {
    assert(e instanceof Anthropic.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert(e.error && e.error.type === 'error'
           && e.error.error.type === 'authentication_error', JSON.stringify(e.error));
    checkNoKey(e);
    return e.error.error.message;
  }
}

const cases = [
  ['openai sdk apiKey: chat', openaiChat],
  ['openai sdk apiKey: chat stream', openaiStream],
  ['openai sdk apiKey: models.list', openaiModels],
  ['openai sdk wrong key: AuthenticationError', openaiBadKey],
  ['anthropic sdk apiKey (x-api-key): messages.create', () => messagesCreate(anthropic(KEY))],
  ['anthropic sdk authToken (Bearer): messages.create',
   () => messagesCreate(anthropicBearer(KEY))],
  ['anthropic sdk wrong key: AuthenticationError', messagesBadKey],
];
await runCases(cases);
