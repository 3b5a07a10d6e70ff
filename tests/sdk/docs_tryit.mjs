// t/30_docs.t: the /docs page in the system's Chromium (headless, offline:
// every host but the test server's is unresolvable), driven by
// puppeteer-core: the page lists the endpoints and a live model, and "Try
// it out" on POST /v1/chat/completions calls this server and shows its
// answer. A screenshot goes to SCREENSHOT. One JSON line per case.
import puppeteer from "puppeteer-core";

const { DOCS_URL, CHROMIUM, SCREENSHOT, MODEL } = process.env;
const out = (name, ok, detail) =>
  console.log(JSON.stringify({ name, ok: !!ok, detail: String(detail || "").slice(0, 1500) }));
const origin = new URL(DOCS_URL).origin;
const op = "#operations-OpenAI-createChatCompletion";

let browser;
try {
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions", "--disable-sync",
           "--disable-background-networking", "--disable-component-update",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1600 });
  const urls = [];
  const failed = [];
  page.on("request", (r) => urls.push(r.url()));
  page.on("requestfailed", (r) => failed.push(r.url()));
  await page.goto(DOCS_URL, { waitUntil: "networkidle0", timeout: 60000 });
  await page.waitForSelector('.opblock-summary-path[data-path="/v1/chat/completions"]',
                            { timeout: 30000 });
  const paths = await page.$$eval(".opblock-summary-path", (els) =>
    els.map((e) => e.getAttribute("data-path")));
  for (const p of ["/v1/chat/completions", "/v1/responses", "/v1/messages",
                   "/v1/messages/count_tokens", "/v1/embeddings",
                   "/v1/images/generations", "/v1/completions", "/v1/models",
                   "/health"])
    out(`puppeteer: the page lists ${p}`, paths.includes(p), paths.join(" "));
  const text = await page.$eval("body", (b) => b.innerText);
  out(`puppeteer: the page names the live model ${MODEL}`, text.includes(MODEL), "");

  // Try it out: POST /v1/chat/completions with the example body
  await page.click(`${op} .opblock-summary-control`);
  await page.waitForSelector(`${op} .try-out__btn`, { timeout: 15000 });
  await page.click(`${op} .try-out__btn`);
  await page.waitForSelector(`${op} textarea.body-param__text`, { timeout: 15000 });
  const body = await page.$eval(`${op} textarea.body-param__text`, (e) => e.value);
  let model;
  try { model = JSON.parse(body).model; } catch { model = undefined; }
  out("puppeteer: the example body names a live model", model === MODEL, body);
  await page.click(`${op} .btn.execute`);
  const row = `${op} .live-responses-table tr.response`;
  await page.waitForSelector(`${row} .response-col_status`, { timeout: 30000 });
  const status = await page.$eval(`${row} .response-col_status`,
                                  (e) => e.textContent.trim());
  out("puppeteer: Try it out answers 200", status.startsWith("200"), status);
  const answer = await page.$eval(`${row} .response-col_description`,
                                  (e) => e.innerText);
  out("puppeteer: ... with the model's answer", /chat\.completion/.test(answer), answer);
  const curl = await page.$eval(`${op} .curl-command`, (e) => e.innerText).catch(() => "");
  out("puppeteer: ... sent to this server", curl.includes(`${origin}/v1/chat/completions`), curl);
  const elsewhere = urls.filter((u) => !u.startsWith(origin) && !u.startsWith("data:"));
  out("puppeteer: every request went to this server", elsewhere.length === 0,
      elsewhere.join(" "));
  const broken = failed.filter((u) => !u.endsWith(".map"));
  out("puppeteer: no request failed", broken.length === 0, broken.join(" "));
  // the whole page: the list of endpoints and the answer of the call
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  out("puppeteer: screenshot", true, SCREENSHOT);
} catch (e) {
  out("puppeteer: the page", false, e.stack || e);
} finally {
  if (browser) await browser.close();
}
