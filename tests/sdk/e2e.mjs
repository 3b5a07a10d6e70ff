// End-to-end checks of mod_llmproxy with the official OpenAI Node SDK.
// Usage: BASE_URL=http://127.0.0.1:8529/v1 node e2e.mjs [case ...]
// Prints one JSON line per case: {"name", "ok", "detail"}; exits 0 always
// (t/07_sdk.t turns the lines into test results).
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.BASE_URL,
  apiKey: 'not-sent-to-the-backend',
  maxRetries: 0,
  timeout: 20000,
});

const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } },
                  required: ['city'] },
  },
}];

function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function chatPlain(model) {
  const r = await client.chat.completions.create({
    model, messages: [{ role: 'system', content: 'Be brief.' },
                      { role: 'user', content: 'Say hi' }] });
  assert(r.object === 'chat.completion', `object ${r.object}`);
  assert(r.model === model, `model ${r.model}`);
  const c = r.choices[0];
  assert(typeof c.message.content === 'string' && c.message.content.length > 0,
         'no content');
  assert(c.finish_reason === 'stop', `finish_reason ${c.finish_reason}`);
  assert(r.usage && r.usage.total_tokens >= 0, 'usage');
  return c.message.content;
}

async function chatStream(model) {
  const stream = await client.chat.completions.create({
    model, stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Count to three' }] });
  let text = '', chunks = 0, finish = null, usage = null;
  for await (const ch of stream) {
    chunks++;
    assert(ch.object === 'chat.completion.chunk', `object ${ch.object}`);
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      if (c.delta && c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert(chunks >= 2, `only ${chunks} chunks`);
  assert(text.length > 0, 'no text');
  assert(finish === 'stop', `finish ${finish}`);
  return `${chunks} chunks, usage ${usage ? 'yes' : 'no'}: ${text.slice(0, 40)}`;
}

async function toolsPlain(model) {
  const r = await client.chat.completions.create({
    model, tools, tool_choice: 'auto',
    messages: [{ role: 'user', content: 'use_tool: weather in Paris?' }] });
  const c = r.choices[0];
  assert(c.finish_reason === 'tool_calls', `finish_reason ${c.finish_reason}`);
  const call = c.message.tool_calls && c.message.tool_calls[0];
  assert(call && call.id && call.function.name === 'get_weather', 'tool call');
  JSON.parse(call.function.arguments);
  // send the result back: the provider must accept the round trip
  const r2 = await client.chat.completions.create({
    model, tools,
    messages: [{ role: 'user', content: 'use_tool: weather in Paris?' },
               c.message,
               { role: 'tool', tool_call_id: call.id, content: '{"temp":21}' }] });
  assert(r2.choices[0].message.content, 'no answer after the tool result');
  return `${call.function.name}(${call.function.arguments})`;
}

async function toolsStream(model) {
  const stream = await client.chat.completions.create({
    model, tools, stream: true,
    messages: [{ role: 'user', content: 'use_tool: weather in Paris?' }] });
  const calls = {};
  let finish = null;
  for await (const ch of stream) {
    for (const c of ch.choices) {
      for (const tc of (c.delta && c.delta.tool_calls) || []) {
        const k = tc.index;
        calls[k] = calls[k] || { id: '', name: '', args: '' };
        if (tc.id) calls[k].id = tc.id;
        if (tc.function && tc.function.name) calls[k].name += tc.function.name;
        if (tc.function && tc.function.arguments) calls[k].args += tc.function.arguments;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  const call = calls[0];
  assert(call && call.id && call.name === 'get_weather', 'streamed tool call');
  JSON.parse(call.args);
  assert(finish === 'tool_calls', `finish ${finish}`);
  return `${call.name}(${call.args})`;
}

async function embeddings(model) {
  // the SDK asks for base64 by default and decodes it
  const r = await client.embeddings.create({ model, input: ['hello', 'world'] });
  assert(r.data.length === 2, `${r.data.length} embeddings`);
  assert(Array.isArray(r.data[0].embedding) && r.data[0].embedding.length > 0,
         'embedding vector');
  assert(r.data[0].embedding.every((v) => typeof v === 'number' && isFinite(v)),
         'finite numbers');
  return `dim ${r.data[0].embedding.length}`;
}

async function images(model) {
  const r = await client.images.generate({ model, prompt: 'a cute otter',
                                           size: '1024x1024' });
  assert(r.data.length >= 1 && (r.data[0].url || r.data[0].b64_json), 'image');
  assert(Number.isInteger(r.created), 'created');
  return r.data[0].url || 'b64';
}

const cases = {
  'models.list': async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert(ids.includes('gpt-4o-mini'), 'gpt-4o-mini listed');
    return `${ids.length} models`;
  },
  'models.retrieve slash id': async () => {
    const m = await client.models.retrieve(
      'accounts/fireworks/models/llama-v3p1-405b-instruct');
    assert(m.id === 'accounts/fireworks/models/llama-v3p1-405b-instruct', m.id);
    return m.owned_by;
  },
  'openai chat': () => chatPlain('gpt-4o-mini'),
  'openai stream': () => chatStream('gpt-4o-mini'),
  'openai unknown model': async () => {
    try {
      await client.chat.completions.create({ model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }] });
    } catch (e) {
      assert(e.status === 404, `status ${e.status}`);
      assert(e.code === 'model_not_found', `code ${e.code}`);
      return e.message;
    }
    throw new Error('no error');
  },
  'openai embeddings': () => embeddings('text-embedding-3-small'),
  'openai images': () => images('dall-e-3'),
  'anthropic chat': () => chatPlain('claude-3-7-sonnet-20250219'),
  'anthropic stream': () => chatStream('claude-3-7-sonnet-20250219'),
  'anthropic tools': () => toolsPlain('claude-3-7-sonnet-20250219'),
  'anthropic tools stream': () => toolsStream('claude-3-7-sonnet-20250219'),
  'gemini chat': () => chatPlain('gemini-2.0-flash'),
  'gemini stream': () => chatStream('gemini-2.0-flash'),
  'gemini tools': () => toolsPlain('gemini-2.0-flash'),
  'gemini tools stream': () => toolsStream('gemini-2.0-flash'),
  'gemini embeddings': () => embeddings('text-embedding-004'),
  'cohere chat': () => chatPlain('command-r-plus'),
  'cohere stream': () => chatStream('command-r-plus'),
  'cohere tools': () => toolsPlain('command-r-plus'),
  'cohere tools stream': () => toolsStream('command-r-plus'),
  'cohere embeddings': () => embeddings('embed-english-v3.0'),
  'ideogram images': () => images('ideogram-v2'),
  'ideogram v3 images': () => images('ideogram-v3'),
  'recraft images': () => images('recraftv3'),
};

const wanted = process.argv.slice(2);
for (const [name, fn] of Object.entries(cases)) {
  if (wanted.length && !wanted.includes(name)) continue;
  try {
    const detail = await fn();
    console.log(JSON.stringify({ name, ok: true, detail: String(detail) }));
  } catch (e) {
    console.log(JSON.stringify({ name, ok: false,
      detail: `${e.constructor.name}: ${e.status || ''} ${e.message}` }));
  }
}
