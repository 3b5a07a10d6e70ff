// End-to-end checks of mod_llmproxy's Responses API (/v1/responses) with the
// clients that speak it: the official OpenAI Node SDK (client.responses),
// the OpenAI Agents SDK (@openai/agents: its default model is the Responses
// API) and the AI SDK (ai + @ai-sdk/openai: openai(model) is the Responses
// API), for a model of each backend family.
// Usage: BASE_URL=http://127.0.0.1:8529/v1 node responses_e2e.mjs [part of a name ...]
//   MODELS_JSON  the mock's model list (default t/mock/models.json): the
//                Responses-native model is the one whose handle ends with
//                /responses
// Prints one JSON line per case: {"name", "ok", "detail"[, "todo"]}; exits 0
// always (t/19_responses_sdk.t turns the lines into test results).
// The mocks: "use_tool" makes the model call the first tool; after a tool
// result, the answer quotes it ("tool said: ..." or an echo).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { Agent, run, tool as agentTool, setDefaultOpenAIClient,
         setTracingDisabled } from '@openai/agents';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool as aiTool, stepCountIs, jsonSchema } from 'ai';
import { z } from 'zod';
import { report, assert } from './cases.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.BASE_URL;
const MODELS_JSON = process.env.MODELS_JSON || join(HERE, '..', '..', 't', 'mock', 'models.json');

const client = new OpenAI({ baseURL: BASE, apiKey: 'not-sent-to-the-backend',
                            maxRetries: 0, timeout: 30000 });


function nativeModel() {
  try {
    const list = JSON.parse(readFileSync(MODELS_JSON, 'utf8')).models || [];
    const m = list.find((x) => typeof x.handle === 'string' && /\/responses$/.test(x.handle)
                               && x.model_version);
    return m ? m.model_version : null;
  } catch { return null; }
}

const FAMILIES = {
  'chat pass-through': 'gpt-4o-mini',
  anthropic: 'claude-3-7-sonnet-20250219',
  gemini: 'gemini-2.0-flash',
  cohere: 'command-r-plus',
  'responses pass-through': nativeModel(),
};

const weather = {
  type: 'function', name: 'get_weather', description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } },
                required: ['city'], additionalProperties: false },
  strict: true,
};

// ---- the openai SDK ------------------------------------------------------

function checkResponse(r, model) {
  assert(r.object === 'response', `object ${r.object}`);
  assert(typeof r.id === 'string' && r.id.length > 0, 'id');
  assert(r.model === model, `model ${r.model}`);
  assert(Number.isInteger(r.created_at), `created_at ${r.created_at}`);
  assert(Array.isArray(r.output) && r.output.length > 0, 'no output items');
  assert(r.usage && Number.isInteger(r.usage.input_tokens)
         && Number.isInteger(r.usage.output_tokens)
         && r.usage.total_tokens === r.usage.input_tokens + r.usage.output_tokens,
         `usage ${JSON.stringify(r.usage)}`);
}

async function plain(model) {
  const r = await client.responses.create({ model, instructions: 'Be brief.',
                                            input: 'Say hi llmp-plain' });
  checkResponse(r, model);
  assert(r.status === 'completed', `status ${r.status}`);
  const msg = r.output.find((o) => o.type === 'message');
  assert(msg && msg.role === 'assistant', 'no assistant message item');
  assert(msg.content.some((c) => c.type === 'output_text'), 'no output_text part');
  // output_text: the SDK's concatenation of the output_text parts
  assert(r.output_text.includes('llmp-plain'), `output_text ${JSON.stringify(r.output_text)}`);
  return r.output_text.slice(0, 80);
}

// the events of a stream, checked: increasing sequence_number, created
// first, exactly one terminal event (last), the deltas add up to the text
async function streamed(model) {
  const stream = await client.responses.create({ model, stream: true,
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'Count llmp-stream to three' }] }] });
  const types = [];
  let seq = -1, deltas = '', final, doneText;
  for await (const ev of stream) {
    types.push(ev.type);
    assert(Number.isInteger(ev.sequence_number) && ev.sequence_number > seq,
           `sequence_number ${ev.sequence_number} after ${seq} (${ev.type})`);
    seq = ev.sequence_number;
    if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    if (ev.type === 'response.output_text.done') doneText = ev.text;
    if (['response.completed', 'response.incomplete', 'response.failed'].includes(ev.type))
      final = ev;
    assert(ev.type !== 'error', `error event ${JSON.stringify(ev)}`);
  }
  assert(types[0] === 'response.created', `first event ${types[0]}`);
  const terminal = types.filter((t) => /^response\.(completed|incomplete|failed)$/.test(t));
  assert(terminal.length === 1 && terminal[0] === 'response.completed',
         `terminal events ${terminal.join(',')}`);
  assert(types[types.length - 1] === 'response.completed', `last event ${types[types.length - 1]}`);
  for (const t of ['response.output_item.added', 'response.content_part.added',
                   'response.output_text.delta', 'response.output_text.done',
                   'response.content_part.done', 'response.output_item.done'])
    assert(types.includes(t), `no ${t} in ${[...new Set(types)].join(',')}`);
  assert(deltas.includes('llmp-stream'), `deltas ${JSON.stringify(deltas)}`);
  assert(doneText === deltas, `output_text.done ${JSON.stringify(doneText)} != deltas`);
  checkResponse(final.response, model);
  const text = final.response.output.filter((o) => o.type === 'message')
    .flatMap((o) => o.content).filter((c) => c.type === 'output_text').map((c) => c.text).join('');
  assert(text === deltas, `completed text ${JSON.stringify(text)} != deltas`);
  return `${types.length} events, ${JSON.stringify(deltas.slice(0, 60))}`;
}

// a function call, its result sent back with the whole history (as Codex
// does: store false), the answer quotes the result
async function toolRoundTrip(model) {
  const input = [{ role: 'user', content: 'use_tool: weather in Paris?' }];
  const r = await client.responses.create({ model, input, tools: [weather], store: false });
  checkResponse(r, model);
  const call = r.output.find((o) => o.type === 'function_call');
  assert(call, `no function_call item: ${JSON.stringify(r.output).slice(0, 300)}`);
  assert(call.name === 'get_weather', `name ${call.name}`);
  assert(typeof call.call_id === 'string' && call.call_id, 'call_id');
  const args = JSON.parse(call.arguments);
  assert(typeof args.city === 'string', `arguments ${call.arguments}`);
  const r2 = await client.responses.create({ model, tools: [weather], store: false, input: [
    ...input, ...r.output,
    { type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }] });
  checkResponse(r2, model);
  assert(r2.status === 'completed', `status ${r2.status}`);
  assert(r2.output_text.includes('21'), `answer ${JSON.stringify(r2.output_text)}`);
  return `${call.name}(${call.arguments}) -> ${JSON.stringify(r2.output_text.slice(0, 60))}`;
}

// the same with previous_response_id (the answer stored by the module; for
// a Responses-native model, by the backend: GET /v1/responses/{id} names no
// model, so this server answers it from its own store only)
async function toolPrevious(model, native) {
  const r = await client.responses.create({ model, tools: [weather],
                                            input: 'use_tool: weather in Paris?' });
  const call = r.output.find((o) => o.type === 'function_call');
  assert(call, `no function_call item: ${JSON.stringify(r.output).slice(0, 300)}`);
  const r2 = await client.responses.create({ model, tools: [weather], previous_response_id: r.id,
    input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":22}' }] });
  checkResponse(r2, model);
  assert(r2.previous_response_id === r.id, `previous_response_id ${r2.previous_response_id}`);
  assert(r2.output_text.includes('22'), `answer ${JSON.stringify(r2.output_text)}`);
  if (!native) {
    const got = await client.responses.retrieve(r2.id);
    assert(got.id === r2.id && got.output_text === r2.output_text, 'GET /v1/responses/{id}');
  }
  return JSON.stringify(r2.output_text.slice(0, 60));
}

// a streamed function call: the arguments' events, then the item
async function toolStream(model) {
  const stream = await client.responses.create({ model, stream: true, tools: [weather],
                                                 input: 'use_tool: weather in Paris?' });
  let args = '', argsDone, item, final;
  for await (const ev of stream) {
    if (ev.type === 'response.function_call_arguments.delta') args += ev.delta;
    if (ev.type === 'response.function_call_arguments.done') argsDone = ev.arguments;
    if (ev.type === 'response.output_item.done' && ev.item.type === 'function_call') item = ev.item;
    if (ev.type === 'response.completed') final = ev.response;
  }
  assert(item && item.name === 'get_weather' && item.call_id, `item ${JSON.stringify(item)}`);
  assert(argsDone === args && item.arguments === args, `arguments ${args} / ${argsDone} / ${item.arguments}`);
  JSON.parse(args);
  assert(final && final.output.some((o) => o.type === 'function_call'), 'completed without the call');
  return `${item.name}(${args})`;
}

// ---- the Agents SDK ------------------------------------------------------

setTracingDisabled(true);               // nothing goes to api.openai.com
setDefaultOpenAIClient(client);         // its default API: the Responses API

async function agentTurn(model) {
  const getWeather = agentTool({
    name: 'get_weather', description: 'Weather in a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => `sunny llmp-agent in ${city}`,
  });
  const agent = new Agent({ name: 'Weather', instructions: 'Use the tool.', model,
                            tools: [getWeather] });
  const result = await run(agent, 'use_tool: weather in Paris?', { maxTurns: 4 });
  const out = String(result.finalOutput ?? '');
  assert(out.includes('llmp-agent'), `final output ${JSON.stringify(out)}`);
  // two model calls (the tool call, the answer), both Responses
  const ids = result.rawResponses.map((r) => r.responseId);
  assert(ids.length === 2 && ids.every((id) => /^resp_/.test(id)), `responses ${ids}`);
  return out.slice(0, 80);
}

// ---- the AI SDK ----------------------------------------------------------

const aiOpenAI = createOpenAI({ baseURL: BASE, apiKey: 'not-sent-to-the-backend' });

async function aiGenerate(model) {
  const r = await generateText({ model: aiOpenAI(model), prompt: 'Say hi llmp-ai',
                                 maxRetries: 0 });
  assert(r.text.includes('llmp-ai'), `text ${JSON.stringify(r.text)}`);
  assert(r.finishReason === 'stop', `finishReason ${r.finishReason}`);
  // openai(model) is the Responses API
  assert(/^resp_/.test(r.response.id), `response id ${r.response.id}`);
  return r.text.slice(0, 80);
}

async function aiStream(model) {
  const s = streamText({ model: aiOpenAI(model), prompt: 'Count llmp-ai-stream to three',
                         maxRetries: 0, onError: () => {} });
  let text = '', parts = 0;
  for await (const d of s.textStream) { text += d; parts++; }
  const finish = await s.finishReason;
  assert(text.includes('llmp-ai-stream'), `text ${JSON.stringify(text)}`);
  assert(finish === 'stop', `finishReason ${finish}`);
  const resp = await s.response;
  assert(/^resp_/.test(resp.id), `response id ${resp.id}`);
  return `${parts} parts: ${JSON.stringify(text.slice(0, 60))}`;
}

async function aiTools(model) {
  const r = await generateText({
    model: aiOpenAI(model), prompt: 'use_tool: weather in Paris?', maxRetries: 0,
    tools: { get_weather: aiTool({
      description: 'Weather in a city',
      inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } },
                                required: ['city'], additionalProperties: false }),
      execute: async ({ city }) => `rainy llmp-aitool in ${city}`,
    }) },
    stopWhen: stepCountIs(3),
  });
  assert(r.steps.length >= 2, `${r.steps.length} steps`);
  assert(r.text.includes('llmp-aitool'), `text ${JSON.stringify(r.text)}`);
  return r.text.slice(0, 80);
}

// ---- run -----------------------------------------------------------------

const cases = [];
for (const [label, model] of Object.entries(FAMILIES)) {
  const m = (fn) => (model ? () => fn(model, label === 'responses pass-through') : null);
  cases.push([`openai responses.create (${label})`, m(plain)]);
  cases.push([`openai responses.create stream (${label})`, m(streamed)]);
  cases.push([`openai function tool round trip (${label})`, m(toolRoundTrip)]);
  cases.push([`openai function tool stream (${label})`, m(toolStream)]);
  cases.push([`openai previous_response_id${label === 'responses pass-through' ? '' : ' + retrieve'} (${label})`,
              m(toolPrevious)]);
  cases.push([`agents SDK: one agent turn with a tool (${label})`, m(agentTurn)]);
  cases.push([`AI SDK generateText (${label})`, m(aiGenerate)]);
  cases.push([`AI SDK streamText (${label})`, m(aiStream)]);
  cases.push([`AI SDK generateText with a tool (${label})`, m(aiTools)]);
}

const wanted = process.argv.slice(2);
for (const [name, fn] of cases) {
  if (wanted.length && !wanted.some((w) => name.includes(w))) continue;
  if (!fn) {
    report(name, false, `no model with a handle ending in /responses in ${MODELS_JSON}`);
    continue;
  }
  try {
    report(name, true, await fn());
  } catch (e) {
    report(name, false, `${e.constructor.name}: ${e.status || ''} ${e.message}`);
  }
}
