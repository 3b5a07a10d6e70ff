// End-to-end checks of mod_llmproxy's /v1/responses with the real Codex CLI
// (@openai/codex from npm, its native binary), for a model of each backend
// family: a plain answer; a turn where the model calls Codex's shell tool
// (exec_command), Codex runs it and sends the output back, and the model's
// next answer (quoting that output) is Codex's final message; a turn where
// the model calls Codex's apply_patch (a custom tool, offered when a model
// catalog gives the model metadata) and Codex writes the file.
// The mocks call the tools on "run_exec: echo WORD" and "run_patch: FILE
// WORD" (t/mock/mocklib.py).
// Usage: BASE_URL=http://127.0.0.1:8529/v1 node codex_e2e.mjs [part of a name ...]
//   MODELS_JSON  the mock's model list (default t/mock/models.json): the
//                Responses-native model is the one whose handle ends with
//                /responses
// Prints one JSON line per case: {"name", "ok", "detail"[, "todo"]}; exits 0
// always (t/18_codex.t turns the lines into test results).
// Codex runs with HOME and CODEX_HOME in a fresh temporary directory, no
// terminal, CI=true, approvals and sandbox off (it runs only `echo` and
// writes one file in its temporary work directory), and talks only to
// BASE_URL.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, assert } from './cases.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.BASE_URL;
const CODEX = process.env.CODEX_BIN || join(HERE, 'node_modules', '.bin', 'codex');
const MODELS_JSON = process.env.MODELS_JSON || join(HERE, '..', '..', 't', 'mock', 'models.json');
const KEY = 'sk-llmp-e2e-client-key';


// the model of each backend family; the Responses-native one from the list
function families() {
  const fam = [
    ['chat pass-through', 'gpt-4o-mini'],
    ['anthropic', 'claude-3-7-sonnet-20250219'],
    ['gemini', 'gemini-2.0-flash'],
    ['cohere', 'command-r-plus'],
  ];
  let native;
  try {
    const list = JSON.parse(readFileSync(MODELS_JSON, 'utf8')).models || [];
    native = list.find((m) => typeof m.handle === 'string' && /\/responses$/.test(m.handle)
                              && m.model_version);
  } catch { native = undefined; }
  fam.push(['responses pass-through', native ? native.model_version : null]);
  return fam;
}

// A model catalog (model_catalog_json) that gives the model metadata, so
// that Codex offers its apply_patch tool as a custom (free-form) tool, as it
// does for OpenAI's own models
function catalog(model) {
  return { models: [{
    slug: model, display_name: `${model} (mod_llmproxy)`,
    base_instructions: 'You are a coding agent in the Codex CLI. Use the tools to run ' +
                       'commands and to edit files.',
    apply_patch_tool_type: 'freeform', shell_type: 'shell_command',
    supported_reasoning_levels: [], visibility: 'list', supported_in_api: true, priority: 1,
    support_verbosity: false, truncation_policy: { mode: 'tokens', limit: 10000 },
    experimental_supported_tools: [], context_window: 128000,
  }] };
}

// config.toml as the README documents it
function makeCodexHome(root, model, withCatalog) {
  const home = join(root, 'home');
  const codexHome = join(root, 'codex');
  const work = join(root, 'work');
  for (const d of [home, codexHome, work]) mkdirSync(d, { recursive: true });
  let cat = '';
  if (withCatalog) {
    writeFileSync(join(codexHome, 'models.json'), JSON.stringify(catalog(model)));
    cat = `model_catalog_json = ${JSON.stringify(join(codexHome, 'models.json'))}\n`;
  }
  writeFileSync(join(codexHome, 'config.toml'), `# written by tests/sdk/codex_e2e.mjs
${cat}model_provider = "llmproxy"
check_for_update_on_startup = false

[model_providers.llmproxy]
name = "mod_llmproxy"
base_url = ${JSON.stringify(BASE)}
wire_api = "responses"
env_key = "LLMPROXY_KEY"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 30000

[analytics]
enabled = false
`);
  return { home, codexHome, work };
}

// codex exec ...: {code, stdout, stderr, file}; killed after 60 s
// opt.catalog: with a model catalog; opt.readBack: a file of the work
// directory to read once Codex is done (file: its text, or null)
function codexExec(model, prompt, json, opt = {}) {
  const root = mkdtempSync(join(tmpdir(), 'llmp-codex-'));
  const { home, codexHome, work } = makeCodexHome(root, model, opt.catalog);
  const args = ['exec', '--skip-git-repo-check', '--ephemeral', '--color', 'never',
                '--dangerously-bypass-approvals-and-sandbox', '-m', model];
  if (json) args.push('--json');
  args.push(prompt);
  // only what Codex needs: no OPENAI_API_KEY, no proxy, no terminal
  const env = { PATH: process.env.PATH, HOME: home, CODEX_HOME: codexHome,
                LLMPROXY_KEY: KEY, CI: 'true', TERM: 'dumb', NO_COLOR: '1',
                LANG: 'C.UTF-8', TMPDIR: root };
  return new Promise((resolve) => {
    const p = spawn(CODEX, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { stderr += '\n[killed after 60 s]'; p.kill('SIGKILL'); }, 60000);
    p.on('error', (e) => { stderr += `\n[spawn: ${e.message}]`; });
    p.on('close', (code) => {
      clearTimeout(timer);
      let file = null;
      if (opt.readBack) {
        try { file = readFileSync(join(work, opt.readBack), 'utf8'); } catch { file = null; }
      }
      rmSync(root, { recursive: true, force: true });
      resolve({ code, stdout, stderr, file });
    });
  });
}

const tail = (s, n = 600) => s.replace(/\s+/g, ' ').slice(-n);

// a plain answer: the final message (stdout) is the mock's text, which
// quotes the prompt
async function plain(model) {
  const word = `llmp-plain-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const r = await codexExec(model, `Say ${word}`, false);
  assert(r.code === 0, `exit ${r.code}: ${tail(r.stderr)}`);
  assert(r.stdout.includes(word), `stdout ${JSON.stringify(r.stdout.slice(0, 300))}; ` +
         `stderr: ${tail(r.stderr)}`);
  return r.stdout.trim().slice(0, 120);
}

// the tool turn, with --json (JSONL events): a command_execution item that
// ran "echo WORD" and printed WORD, then an agent_message that quotes the
// tool's output (so the mock saw the result of the call), turn.completed
async function toolTurn(model) {
  const word = `llmp-e2e-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const r = await codexExec(model, `run_exec: echo ${word}`, true);
  assert(r.code === 0, `exit ${r.code}: ${tail(r.stderr)} ${tail(r.stdout)}`);
  const events = r.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch { return { type: 'not-json', line: l }; }
  });
  const done = (type) => events.filter((e) => e.type === 'item.completed' && e.item
                                          && e.item.type === type).map((e) => e.item);
  const cmds = done('command_execution');
  assert(cmds.length === 1, `${cmds.length} commands run: ${tail(r.stdout)}`);
  const cmd = cmds[0];
  assert(cmd.command.includes(`echo ${word}`), `command ${cmd.command}`);
  assert(cmd.exit_code === 0, `exit code ${cmd.exit_code}`);
  assert(cmd.aggregated_output.includes(word), `output ${JSON.stringify(cmd.aggregated_output)}`);
  const msgs = done('agent_message');
  assert(msgs.length >= 1, `no agent message: ${tail(r.stdout)}`);
  const last = msgs[msgs.length - 1].text;
  // the answer quotes what Codex sent back ("Process exited with code 0 ...
  // Output: WORD"), not the prompt
  assert(last.includes(word) && !last.includes('run_exec'),
         `final message ${JSON.stringify(last.slice(0, 300))}`);
  assert(/exited with code 0/.test(last), `final message without the tool's output: ` +
         JSON.stringify(last.slice(0, 300)));
  const turn = events.find((e) => e.type === 'turn.completed');
  assert(turn, `no turn.completed: ${tail(r.stdout)}`);
  const failed = events.find((e) => e.type === 'turn.failed' || e.type === 'error');
  assert(!failed, JSON.stringify(failed));
  return `${cmd.command} -> ${JSON.stringify(last.slice(0, 100))}`;
}

// Codex's apply_patch (a custom tool; a function with one string "input"
// for backends without custom tools): the model adds a file, Codex writes
// it and sends the result back, the answer quotes it
async function patchTurn(model) {
  const word = `llmp-patch-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const file = 'llmp_e2e.txt';
  const r = await codexExec(model, `run_patch: ${file} ${word}`, true,
                            { catalog: true, readBack: file });
  assert(r.code === 0, `exit ${r.code}: ${tail(r.stderr)} ${tail(r.stdout)}`);
  assert(r.file === `${word}\n`, `${file}: ${JSON.stringify(r.file)}; ${tail(r.stdout)}`);
  const events = r.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch { return { type: 'not-json', line: l }; }
  });
  const msgs = events.filter((e) => e.type === 'item.completed' && e.item
                             && e.item.type === 'agent_message').map((e) => e.item.text);
  const last = msgs[msgs.length - 1] || '';
  assert(last.includes(file) && !last.includes('run_patch'),
         `final message ${JSON.stringify(last.slice(0, 300))}`);
  assert(events.find((e) => e.type === 'turn.completed'), `no turn.completed: ${tail(r.stdout)}`);
  return `${file} written; ${JSON.stringify(last.slice(0, 100))}`;
}

// the module must answer at all (else every case would wait for Codex's
// own timeouts)
let down;
try {
  const r = await fetch(`${BASE}/models`, { signal: AbortSignal.timeout(10000) });
  if (r.status !== 200) down = `GET ${BASE}/models: HTTP ${r.status}`;
} catch (e) { down = `GET ${BASE}/models: ${e.message}`; }

// a backend failure (the Anthropic mock's "overloaded": a 529, the
// module's 503) reaches Codex as an error it shows, and Codex fails
async function backendError(model) {
  const r = await codexExec(model, 'overloaded', true);
  const events = r.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch { return { type: 'not-json', line: l }; }
  });
  assert(r.code !== 0, `exit ${r.code}: ${tail(r.stdout)}`);
  const failed = events.find((e) => e.type === 'turn.failed');
  assert(failed, `no turn.failed: ${tail(r.stdout)} ${tail(r.stderr)}`);
  // what the user sees names the failure (the status or the backend's message)
  assert(/Overloaded|503/.test(JSON.stringify(failed)), `turn.failed ${JSON.stringify(failed)}`);
  return `${r.code}: ${JSON.stringify(failed).slice(0, 200)}`;
}

const wanted = process.argv.slice(2);
if (!wanted.length || wanted.some((w) => 'codex exec: backend error'.includes(w))) {
  const name = 'codex exec: a backend error fails the turn (anthropic)';
  try {
    report(name, true, await (down ? Promise.reject(new Error(down))
                                   : backendError('claude-3-7-sonnet-20250219')));
  } catch (e) {
    report(name, false, `${e.constructor.name}: ${e.message}`);
  }
}
for (const [label, model] of families()) {
  for (const [what, fn] of [['plain answer', plain], ['exec_command tool turn', toolTurn],
                            ['apply_patch (custom tool) turn', patchTurn]]) {
    const name = `codex exec: ${what} (${label}${model ? ': ' + model : ''})`;
    if (wanted.length && !wanted.some((w) => name.includes(w))) continue;
    if (down) { report(name, false, down); continue; }
    if (!model) {
      report(name, false, `no model with a handle ending in /responses in ${MODELS_JSON}`);
      continue;
    }
    try {
      report(name, true, await fn(model));
    } catch (e) {
      report(name, false, `${e.constructor.name}: ${e.message}`);
    }
  }
}
