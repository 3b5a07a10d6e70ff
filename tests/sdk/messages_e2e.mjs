// End-to-end checks of mod_llmproxy's Messages API (/v1/messages,
// /v1/messages/count_tokens) with the official Anthropic TypeScript SDK
// (@anthropic-ai/sdk), for a model of each backend family: messages.create,
// messages.stream (its events and finalMessage), a tool round trip
// (tool_use, then tool_result) streamed and not, messages.countTokens, and
// errors as the SDK's typed errors. The SDK parses every answer and event:
// that is the check of their shapes.
// Usage: BASE_URL=http://127.0.0.1:8529 node messages_e2e.mjs [part of a name ...]
// Prints one JSON line per case: {"name", "ok", "detail"}; exits 0 always
// (t/22_messages_sdk.t turns the lines into test results).
import Anthropic from '@anthropic-ai/sdk';
import { report, assert, only } from './cases.mjs';

const BASE = process.env.BASE_URL;
const KEY = 'sk-llmp-anthropic-sdk-client-key';

const FAMILIES = [
  ['anthropic', 'claude-sonnet-4-5'],
  ['chat pass-through', 'gpt-4o-mini'],
  ['gemini', 'gemini-2.0-flash'],
  ['cohere', 'command-r-plus'],
];

const weather = {
  name: 'get_weather',
  description: 'Weather of a city',
  input_schema: { type: 'object', properties: { location: { type: 'string' } },
                  required: ['location'] },
};


const client = new Anthropic({ baseURL: BASE, apiKey: KEY, maxRetries: 0, timeout: 30000 });
// Claude Code's way: a bearer token
const bearer = new Anthropic({ baseURL: BASE, authToken: KEY, apiKey: null,
                               maxRetries: 0, timeout: 30000 });

const textOf = (m) => m.content.filter((b) => b.type === 'text').map((b) => b.text).join('');

function checkMessage(m, model) {
  assert(m.type === 'message' && m.role === 'assistant', `not a message: ${JSON.stringify(m)}`);
  assert(/^msg_/.test(m.id), `id ${m.id}`);
  assert(m.model === model, `model ${m.model}`);
  assert(m.usage && m.usage.input_tokens > 0 && m.usage.output_tokens > 0,
         `usage ${JSON.stringify(m.usage)}`);
}

async function create(model) {
  const m = await client.messages.create({
    model, max_tokens: 100, system: 'Be brief.',
    messages: [{ role: 'user', content: 'hello from the sdk' }],
  });
  checkMessage(m, model);
  assert(textOf(m).includes('hello from the sdk'), `text ${textOf(m)}`);
  assert(m.stop_reason === 'end_turn', `stop_reason ${m.stop_reason}`);
  return textOf(m).slice(0, 80);
}

async function bearerCreate(model) {
  const m = await bearer.messages.create({
    model, max_tokens: 100, messages: [{ role: 'user', content: 'with a bearer token' }],
  });
  checkMessage(m, model);
  return textOf(m).slice(0, 80);
}

async function stream(model) {
  const s = client.messages.stream({
    model, max_tokens: 100, messages: [{ role: 'user', content: 'stream to me please' }],
  });
  const types = [];
  let text = '';
  s.on('streamEvent', (e) => { types.push(e.type); });
  s.on('text', (t) => { text += t; });
  const m = await s.finalMessage();
  checkMessage(m, model);
  assert(textOf(m).includes('stream to me please'), `final text ${textOf(m)}`);
  assert(text === textOf(m), `text events ${JSON.stringify(text)}`);
  const seq = types.filter((t) => t !== 'ping');
  assert(seq[0] === 'message_start' && seq[seq.length - 1] === 'message_stop'
         && seq.includes('content_block_start') && seq.includes('content_block_delta')
         && seq.includes('content_block_stop') && seq.includes('message_delta'),
         `events ${seq.join(',')}`);
  assert(m.stop_reason === 'end_turn', `stop_reason ${m.stop_reason}`);
  return seq.join(',').slice(0, 120);
}

async function toolRoundTrip(model, streamed) {
  const messages = [{ role: 'user', content: 'use_tool for Paris' }];
  const ask = { model, max_tokens: 200, tools: [weather], messages };
  const m = streamed ? await client.messages.stream(ask).finalMessage()
    : await client.messages.create(ask);
  checkMessage(m, model);
  assert(m.stop_reason === 'tool_use', `stop_reason ${m.stop_reason}`);
  const use = m.content.find((b) => b.type === 'tool_use');
  assert(use && use.name === 'get_weather' && use.id && typeof use.input === 'object',
         `content ${JSON.stringify(m.content)}`);
  const back = {
    ...ask,
    messages: [...messages, { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id,
                                  content: 'sunny and 21C' }] }],
  };
  const m2 = streamed ? await client.messages.stream(back).finalMessage()
    : await client.messages.create(back);
  checkMessage(m2, model);
  assert(textOf(m2).includes('sunny and 21C'), `answer ${textOf(m2)}`);
  return `${use.name}(${JSON.stringify(use.input)}) -> ${textOf(m2).slice(0, 60)}`;
}

async function countTokens(model) {
  const r = await client.messages.countTokens({
    model, system: 'Be brief.', tools: [weather],
    messages: [{ role: 'user', content: 'how many tokens are these words' }],
  });
  assert(Number.isInteger(r.input_tokens) && r.input_tokens > 0, JSON.stringify(r));
  return `input_tokens ${r.input_tokens}`;
}

async function errors(model) {
  // the SDK's typed errors from Anthropic-shaped bodies and statuses
  try {
    await client.messages.create({ model: 'no-such-model', max_tokens: 10,
                                   messages: [{ role: 'user', content: 'x' }] });
    throw new Error('no error for an unknown model');
  } catch (e) {
    assert(e instanceof Anthropic.NotFoundError, `${e.constructor.name}: ${e.message}`);
    assert(e.error && e.error.type === 'error' && e.error.error.type === 'not_found_error',
           JSON.stringify(e.error));
  }
  try {
    await client.messages.create({ model, max_tokens: 10, messages: [] });
    throw new Error('no error for empty messages');
  } catch (e) {
    assert(e instanceof Anthropic.BadRequestError, `${e.constructor.name}: ${e.message}`);
    assert(e.error && e.error.error.type === 'invalid_request_error', JSON.stringify(e.error));
  }
  return 'NotFoundError, BadRequestError';
}

for (const [fam, model] of FAMILIES) {
  const cases = [
    ['messages.create', () => create(model)],
    ['messages.stream finalMessage', () => stream(model)],
    ['tool round trip', () => toolRoundTrip(model, false)],
    ['tool round trip streamed', () => toolRoundTrip(model, true)],
    ['messages.countTokens', () => countTokens(model)],
    ['errors', () => errors(model)],
  ];
  if (fam === 'anthropic' || fam === 'chat pass-through')
    cases.push(['bearer token', () => bearerCreate(model)]);
  for (const [what, fn] of cases) {
    const name = `anthropic sdk ${fam} (${model}): ${what}`;
    if (only.length && !only.some((o) => name.includes(o))) continue;
    try {
      report(name, true, await fn());
    } catch (e) {
      report(name, false, e.stack || e.message);
    }
  }
}
