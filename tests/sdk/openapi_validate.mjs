// t/30_docs.t: the document that SetHandler llmproxy-docs serves
// (DOC_URL) is a valid OpenAPI 3.1 description (@seriousme's validator,
// the official 3.1 JSON schema) whose every $ref resolves. One JSON line
// per case ({"name","ok","detail"}).
import { Validator } from "@seriousme/openapi-schema-validator";

const url = process.env.DOC_URL;
const out = (name, ok, detail) =>
  console.log(JSON.stringify({ name, ok: !!ok, detail: detail || "" }));

let doc;
try {
  const res = await fetch(url);
  out("GET " + url + " is 200", res.status === 200, "status " + res.status);
  doc = await res.json();
} catch (e) {
  out("GET " + url, false, String(e));
  process.exit(0);
}

const v = new Validator();
const res = await v.validate(doc);
out("the document validates as OpenAPI", res.valid,
    JSON.stringify(res.errors || "").slice(0, 2000));
out("... version 3.1", v.version === "3.1", "version " + v.version);

// every local $ref points at something
const missing = new Set();
const at = (ptr) => ptr.slice(2).split("/").reduce((o, k) =>
  o === undefined ? o : o[k.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
(function walk(o) {
  if (Array.isArray(o)) return o.forEach(walk);
  if (o && typeof o === "object") {
    for (const [k, val] of Object.entries(o)) {
      if (k === "$ref" && typeof val === "string") {
        if (!val.startsWith("#/") || at(val) === undefined) missing.add(val);
      } else walk(val);
    }
  }
})(doc);
out("every $ref resolves", missing.size === 0, [...missing].join(", "));
try {
  v.resolveRefs();
  out("the references dereference", true);
} catch (e) {
  out("the references dereference", false, String(e));
}
