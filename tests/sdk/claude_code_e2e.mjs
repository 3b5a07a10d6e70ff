// End-to-end checks of mod_llmproxy's /v1/messages with the real Claude Code
// (@anthropic-ai/claude-code from npm, its native binary), for a model of
// each backend family: a plain answer; a turn where the model calls Claude
// Code's Bash tool, Claude Code runs it and sends the tool_result back, and
// the model's next answer (quoting that output) is Claude Code's result.
// The mocks call Bash on "run_bash: echo WORD" (t/mock/mocklib.py).
// Usage: BASE_URL=http://127.0.0.1:8529 node claude_code_e2e.mjs [part of a name ...]
// Prints one JSON line per case: {"name", "ok", "detail"}; exits 0 always
// (t/21_claude_code.t turns the lines into test results).
// Claude Code runs with HOME in a fresh temporary directory, no terminal,
// ANTHROPIC_BASE_URL=BASE_URL, ANTHROPIC_AUTH_TOKEN, nonessential traffic
// off (it talks only to BASE_URL), and may run only `echo` through Bash.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, assert, only } from './cases.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.BASE_URL;
const CLAUDE = process.env.CLAUDE_BIN || join(HERE, 'node_modules', '.bin', 'claude');
const KEY = 'sk-llmp-claude-code-client-key';

const FAMILIES = [
  ['anthropic', 'claude-sonnet-4-5'],
  ['chat pass-through', 'gpt-4o-mini'],
  ['gemini', 'gemini-2.0-flash'],
  ['gemini thinking', 'gemini-2.5-flash'],
  ['openai reasoning', 'o4-mini'],
  ['cohere', 'command-r-plus'],
];
// LLMP_ALIAS_RUN: only Claude Code's own name for Sonnet, which the server
// at BASE_URL aliases to an OpenAI model (LLMProxyModelAlias
// claude-sonnet-4-5 gpt-4o-mini in t/conf/extra.conf.in's llmp_alias)
if (process.env.LLMP_ALIAS_RUN)
  FAMILIES.splice(0, FAMILIES.length, ['alias of gpt-4o-mini', 'claude-sonnet-4-5']);


const tail = (s, n = 600) => s.replace(/\s+/g, ' ').slice(-n);

// claude -p PROMPT --model MODEL --output-format stream-json: {code,
// events, stdout, stderr}; killed after 60 s
function claude(model, prompt) {
  const root = mkdtempSync(join(tmpdir(), 'llmp-claude-'));
  const home = join(root, 'home');
  const work = join(root, 'work');
  for (const d of [home, work]) mkdirSync(d, { recursive: true });
  const args = ['-p', prompt, '--model', model, '--output-format', 'stream-json',
                '--verbose', '--allowedTools', 'Bash(echo:*)', '--max-turns', '4'];
  const env = { PATH: process.env.PATH, HOME: home, TMPDIR: root, TERM: 'dumb',
                NO_COLOR: '1', LANG: 'C.UTF-8', CI: 'true',
                ANTHROPIC_BASE_URL: BASE, ANTHROPIC_AUTH_TOKEN: KEY,
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
                DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1',
                DISABLE_ERROR_REPORTING: '1', CLAUDE_CODE_MAX_RETRIES: '0' };
  return new Promise((resolve) => {
    const p = spawn(CLAUDE, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { stderr += '\n[killed after 60 s]'; p.kill('SIGKILL'); }, 60000);
    p.on('error', (e) => { stderr += `\n[spawn: ${e.message}]`; });
    p.on('close', (code) => {
      clearTimeout(timer);
      rmSync(root, { recursive: true, force: true });
      const events = stdout.split('\n').filter((l) => l.trim()).map((l) => {
        try { return JSON.parse(l); } catch { return { type: 'not-json', line: l }; }
      });
      resolve({ code, events, stdout, stderr });
    });
  });
}

function result(r) {
  const res = r.events.find((e) => e.type === 'result');
  assert(res, `no result event: ${tail(r.stdout)} ${tail(r.stderr)}`);
  assert(!res.is_error && res.subtype === 'success',
         `result ${JSON.stringify(res).slice(0, 400)}`);
  return res.result || '';
}

// a plain answer: the result is the mock's text, which quotes the prompt
async function plain(model) {
  const word = `llmp-plain-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const r = await claude(model, `Say ${word}`);
  assert(r.code === 0, `exit ${r.code}: ${tail(r.stderr)} ${tail(r.stdout)}`);
  const text = result(r);
  assert(text.includes(word), `result ${JSON.stringify(text.slice(0, 300))}`);
  return text.slice(0, 120);
}

// the tool turn: a Bash tool_use running "echo WORD", Claude Code's
// tool_result with WORD (not an error), and the final answer quoting it
async function toolTurn(model) {
  const word = `llmp-bash-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const r = await claude(model, `run_bash: echo ${word}`);
  assert(r.code === 0, `exit ${r.code}: ${tail(r.stderr)} ${tail(r.stdout)}`);
  const blocks = (role) => r.events.filter((e) => e.type === role && e.message)
    .flatMap((e) => (Array.isArray(e.message.content) ? e.message.content : []));
  const uses = blocks('assistant').filter((b) => b.type === 'tool_use');
  assert(uses.length === 1 && uses[0].name === 'Bash'
         && uses[0].input.command === `echo ${word}`,
         `tool uses ${JSON.stringify(uses).slice(0, 300)}`);
  const results = blocks('user').filter((b) => b.type === 'tool_result');
  assert(results.length === 1 && results[0].tool_use_id === uses[0].id
         && !results[0].is_error, `tool results ${JSON.stringify(results).slice(0, 300)}`);
  const out = typeof results[0].content === 'string' ? results[0].content
    : JSON.stringify(results[0].content);
  assert(out.includes(word), `the command's output ${JSON.stringify(out)}`);
  const text = result(r);
  assert(/tool (said|result)/.test(text) && text.includes(word) && !text.includes('run_bash'),
         `result ${JSON.stringify(text.slice(0, 300))}`);
  return `${uses[0].input.command} -> ${JSON.stringify(text.slice(0, 100))}`;
}

for (const [fam, model] of FAMILIES) {
  for (const [what, fn] of [['plain answer', plain], ['Bash tool turn', toolTurn]]) {
    const name = `claude code ${fam} (${model}): ${what}`;
    if (only.length && !only.some((o) => name.includes(o))) continue;
    try {
      report(name, true, await fn(model));
    } catch (e) {
      report(name, false, e.message);
    }
  }
}
