// What every end-to-end script of tests/sdk shares: one JSON line per case
// ({"name", "ok", "detail"[, "todo"]}), which the Perl tests turn into test
// results (LLMPTest::node_cases), and the loop over named cases (those
// whose name contains one of the command line's words, or all).

export function report(name, ok, detail, todo) {
  const r = { name, ok: !!ok, detail: String(detail ?? '') };
  if (todo) r.todo = todo;
  console.log(JSON.stringify(r));
}

export function assert(cond, msg) { if (!cond) throw new Error(msg); }

// the command line's words: a case runs when its name contains one
export const only = process.argv.slice(2);
export const selected = (name) => !only.length || only.some((o) => name.includes(o));

// cases: [name, async function returning the detail]; a throw fails it
export async function runCases(cases, { stack = true } = {}) {
  for (const [name, fn] of cases) {
    if (!selected(name)) continue;
    try {
      report(name, true, await fn());
    } catch (e) {
      report(name, false, stack ? (e.stack || e.message) : e.message);
    }
  }
}
