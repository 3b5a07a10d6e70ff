// End-to-end checks of LLMProxyLimit's refusals with the official SDKs:
// a token budget and a cost budget used up are the OpenAI SDK's
// RateLimitError (code rate_limit_exceeded / insufficient_quota, with
// Retry-After and the x-ratelimit-* headers) and, on /v1/messages, the
// Anthropic SDK's RateLimitError (rate_limit_error, anthropic-ratelimit-*).
// Each case calls until it is refused (a budget may have been used up by
// the Perl tests before, or be reset by a new minute in between).
// Usage: BASE_URL=http://127.0.0.1:8557 node limits_e2e.mjs [part of a name ...]
// Prints one JSON line per case: {"name", "ok", "detail"}; exits 0 always
// (t/28_limits.t turns the lines into test results).
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { report, assert, runCases } from './cases.mjs';

const BASE = process.env.BASE_URL;


// no retries: the SDKs would wait for Retry-After (up to a minute)
const opts = { maxRetries: 0, timeout: 30000 };
const openai = (prefix) => new OpenAI({ baseURL: `${BASE}${prefix}/v1`, apiKey: 'x', ...opts });
const anthropic = (prefix) => new Anthropic({ baseURL: `${BASE}${prefix}`, apiKey: 'x', ...opts });

// call until the SDK throws; the error, after at least one call served
// unless the budget was used up already
async function untilRefused(call) {
  for (let i = 0; i < 12; i++) {
    try {
      await call();
    } catch (e) {
      return e;
    }
  }
  throw new Error('12 calls, none refused');
}

function retryAfter(e) {
  const s = Number(e.headers.get('retry-after'));
  assert(s >= 1 && s <= 60, `Retry-After ${e.headers.get('retry-after')}`);
  return s;
}

async function openaiTokens() {
  const c = openai('/tokens');
  const e = await untilRefused(() => c.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'one two three four five' }] }));
  assert(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
  assert(e.status === 429, `status ${e.status}`);
  assert(e.code === 'rate_limit_exceeded', `code ${e.code}`);
  assert(e.type === 'rate_limit_exceeded', `type ${e.type}`);
  assert(e.headers.get('x-ratelimit-limit-tokens') === '30',
         `x-ratelimit-limit-tokens ${e.headers.get('x-ratelimit-limit-tokens')}`);
  assert(e.headers.get('x-ratelimit-remaining-tokens') === '0',
         `x-ratelimit-remaining-tokens ${e.headers.get('x-ratelimit-remaining-tokens')}`);
  assert(/^\d+(\.\d+)?(ms|s|m)/.test(e.headers.get('x-ratelimit-reset-tokens') ?? ''),
         `x-ratelimit-reset-tokens ${e.headers.get('x-ratelimit-reset-tokens')}`);
  return `Retry-After ${retryAfter(e)}: ${e.message}`;
}

async function openaiCost() {
  const c = openai('/cost');
  const e = await untilRefused(() => c.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
  assert(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
  assert(e.code === 'insufficient_quota', `code ${e.code}`);
  assert(e.type === 'insufficient_quota', `type ${e.type}`);
  return `Retry-After ${retryAfter(e)}: ${e.message}`;
}

async function anthropicTokens() {
  const c = anthropic('/tokens');
  const e = await untilRefused(() => c.messages.create({
    model: 'gpt-4o-mini', max_tokens: 20,
    messages: [{ role: 'user', content: 'one two three four five' }] }));
  assert(e instanceof Anthropic.RateLimitError, `${e.constructor.name}: ${e.message}`);
  assert(e.status === 429, `status ${e.status}`);
  assert(e.error && e.error.type === 'error'
         && e.error.error.type === 'rate_limit_error', JSON.stringify(e.error));
  assert(e.headers.get('anthropic-ratelimit-tokens-remaining') === '0',
         `anthropic-ratelimit-tokens-remaining ${e.headers.get('anthropic-ratelimit-tokens-remaining')}`);
  assert(!Number.isNaN(Date.parse(e.headers.get('anthropic-ratelimit-tokens-reset') ?? '')),
         `anthropic-ratelimit-tokens-reset ${e.headers.get('anthropic-ratelimit-tokens-reset')}`);
  return `Retry-After ${retryAfter(e)}: ${e.error.error.message}`;
}

async function anthropicCost() {
  const c = anthropic('/cost');
  const e = await untilRefused(() => c.messages.create({
    model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }));
  assert(e instanceof Anthropic.RateLimitError, `${e.constructor.name}: ${e.message}`);
  assert(e.error && e.error.error && e.error.error.type === 'rate_limit_error',
         JSON.stringify(e.error));
  return `Retry-After ${retryAfter(e)}: ${e.error.error.message}`;
}

const cases = [
  ['openai sdk: token budget used up: RateLimitError rate_limit_exceeded', openaiTokens],
  ['openai sdk: cost budget used up: RateLimitError insufficient_quota', openaiCost],
  ['anthropic sdk: token budget used up: RateLimitError rate_limit_error', anthropicTokens],
  ['anthropic sdk: cost budget used up: RateLimitError rate_limit_error', anthropicCost],
];
await runCases(cases);
