// The preview page: a commit title (or a webhook payload) and a fleet in, Grove's diagnostics,
// plan, graph and YAML out, on every keystroke, through the WebAssembly build of Grove's core
// (pkg/grove_wasm.js).
//
// State: the mode (title or webhook), the title, the payload, the fleet's files (the demo fleet
// from examples/cluster, edited, or dropped) and the file being edited. All but the file being
// edited are kept in the URL hash (the demo fleet as no files at all).

import init, { Fleet, isFleetFile, version } from './pkg/grove_wasm.js';
import demoFiles from './demo-fleet.js';
import demoPayloads from './demo-payloads.js';
import { byteOffsetsToIndices, escape } from './text.js';
import { graphSvg } from './graph.js';
import { fromDrop, fromInput } from './folder.js';
import { encode, decode } from './share.js';

const $ = (id) => document.getElementById(id);
const el = {
  title: $('title'),
  titlePanel: $('title-panel'),
  webhookPanel: $('webhook-panel'),
  payload: $('payload'),
  payloadExamples: $('payload-examples'),
  mirror: $('mirror'),
  examples: $('examples'),
  diagnostics: $('diagnostics'),
  status: $('status'),
  plan: $('plan'),
  planText: $('plan-text'),
  planJson: $('plan-json'),
  graph: $('graph'),
  graphCount: $('graph-count'),
  yaml: $('yaml'),
  yamlFile: $('yaml-file'),
  fleetLabel: $('fleet-label'),
  fleetSummary: $('fleet-summary'),
  drop: $('drop'),
  folder: $('folder'),
  resetFleet: $('reset-fleet'),
  fileCount: $('file-count'),
  fileSelect: $('file-select'),
  fileText: $('file-text'),
  newPath: $('new-path'),
  addFile: $('add-file'),
  removeFile: $('remove-file'),
  share: $('share'),
  version: $('version'),
};

const DEFAULT_TITLE = '[AutoDeploy][Update] campus|42';
const EXAMPLES = [
  ['Update', '[AutoDeploy][Update] research|7, academy'],
  ['Create', '[AutoDeploy][Create] campus|101,newcampus|102'],
  ['Archive', '[AutoDeploy][Archive] staging,labs'],
  ['Batch upgrade', '[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|open-release/sumac.1,https://github.com/open-craft/edx-platform.git|opencraft-release/sumac.1'],
  ['Upgrade to', '[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d'],
  ['Infrastructure', '[AutoDeploy][Infrastructure] Grow the node pool to 6 nodes'],
  ['Older form', '[AutoDeploy] newcampus:555 - deploy new instance'],
  ['No tag', 'Fix the footer links on the landing page'],
  ['A mistake', '[AutoDeploy][Updte] campus,Labs'],
];

const state = {
  /** `title` or `webhook`: what is previewed. */
  mode: 'title',
  title: DEFAULT_TITLE,
  /** The webhook payload (JSON text). */
  payload: demoPayloads[0][1],
  /** @type {Map<string, string>} */
  files: new Map(),
  label: 'demo',
  isDemo: true,
  /** @type {Fleet | null} */
  fleet: null,
  file: '',
  /** The pipeline file shown: `generated.yml`, or one of its shards. */
  yamlFile: 'generated.yml',
  last: {},
};

/** Timings of render(), in ms, when `grove.measure` is on (for the budget test). */
const timings = [];
let measure = false;

// ---------------------------------------------------------------------------------------------
// Rendering

/** Previews the title (or payload) against the fleet and shows everything. Runs on every keystroke. */
function render() {
  const start = measure ? performance.now() : 0;
  const webhook = state.mode === 'webhook';
  const preview = webhook ? state.fleet.previewWebhook(state.payload) : state.fleet.preview(state.title);
  if (!webhook) {
    renderTitle(preview.diagnostics);
    renderDiagnostics(preview.diagnostics);
  }
  renderStatus(preview);
  renderOutputs(preview);
  scheduleHash();
  if (measure) {
    void el.graph.getBoundingClientRect(); // include style and layout in the measure
    timings.push(performance.now() - start);
  }
  return preview;
}

/** Underlines the diagnostics in the mirror behind the title, at their exact characters. */
function renderTitle(diagnostics) {
  const text = state.title;
  const offsets = diagnostics.flatMap((d) => [d.start, d.end]);
  const indices = byteOffsetsToIndices(text, offsets);
  // Boundaries where a mark opens or closes; errors are drawn over warnings.
  const marks = diagnostics.map((d, i) => ({ from: indices[2 * i], to: indices[2 * i + 1], severity: d.severity, i }));
  const cuts = new Set([0, text.length]);
  for (const m of marks) { cuts.add(m.from); cuts.add(m.to); }
  const points = [...cuts].sort((a, b) => a - b);
  let html = '';
  for (let k = 0; k < points.length; k++) {
    const at = points[k];
    for (const m of marks) {
      if (m.from === m.to && m.from === at) html += `<span class="point ${m.severity}" data-diagnostic="${m.i}"></span>`;
    }
    if (k === points.length - 1) break;
    const next = points[k + 1];
    const covering = marks.filter((m) => m.from <= at && m.to >= next && m.from < m.to);
    const piece = escape(text.slice(at, next));
    if (covering.length) {
      const worst = covering.find((m) => m.severity === 'error') || covering[0];
      html += `<mark class="${worst.severity}" data-diagnostic="${worst.i}">${piece}</mark>`;
    } else {
      html += piece;
    }
  }
  // A trailing newline in a textarea takes a line; keep the mirror the same height.
  el.mirror.innerHTML = `${html}\u200b`;
  el.mirror.scrollTop = el.title.scrollTop;
}

/** Lists the diagnostics under the title; a click selects the offending characters. */
function renderDiagnostics(diagnostics) {
  const text = state.title;
  const indices = byteOffsetsToIndices(text, diagnostics.flatMap((d) => [d.start, d.end]));
  el.diagnostics.innerHTML = diagnostics
    .map((d, i) => {
      const from = indices[2 * i];
      const column = [...text.slice(0, from)].length + 1;
      const hint = d.hint ? `<span class="hint">${escape(d.hint)}</span>` : '';
      return `<li class="${d.severity}" data-from="${from}" data-to="${indices[2 * i + 1]}"><span class="badge">${d.severity}</span> <span class="where">column ${column}</span> <span class="message">${escape(d.message)}</span>${hint}</li>`;
    })
    .join('');
}

/** One line that says what Grove would do, or why it would fail. */
function renderStatus(preview) {
  const s = el.status;
  if (preview.error) {
    s.className = 'status bad';
    const command = state.mode === 'webhook' ? 'grove webhookpipeline' : 'grove pipeline';
    s.innerHTML = `<strong>No pipeline:</strong> <code>${command}</code> would exit ${preview.error.exitCode}: ${escape(preview.error.summary)}`;
    return;
  }
  const jobs = preview.graph.jobs.length;
  const stages = preview.graph.stages.length;
  const warn = preview.diagnostics.length ? ` · ${preview.diagnostics.length} warning${preview.diagnostics.length === 1 ? '' : 's'}` : '';
  const shardJobs = preview.shards.reduce((sum, shard) => sum + shard.jobs, 0);
  const shards = preview.shards.length
    ? ` · triggers ${preview.shards.length} shard pipeline${preview.shards.length === 1 ? '' : 's'} (${shardJobs} jobs)`
    : '';
  s.className = preview.diagnostics.length ? 'status warn' : 'status good';
  s.innerHTML = `<strong>${escape(preview.plan.kind)}</strong> · ${jobs} job${jobs === 1 ? '' : 's'} in ${stages} stage${stages === 1 ? '' : 's'}${shards}${warn}`;
}

/** The plan, the graph and the YAML; each is redrawn only when it changed. */
function renderOutputs(preview) {
  const errorMessage = preview.error ? preview.error.message : null;
  if (preview.planText !== state.last.planText || errorMessage !== state.last.error) {
    el.plan.innerHTML = preview.error ? errorHtml(preview.error) : planHtml(preview.planText);
    el.planText.textContent = preview.planText ?? preview.error.message;
    state.last.planText = preview.planText;
    state.last.error = errorMessage;
  }
  if (preview.planJson !== state.last.planJson) {
    el.planJson.textContent = preview.planJson ?? '';
    state.last.planJson = preview.planJson;
  }
  renderYaml(preview);
  if (preview.yaml !== state.last.yaml) {
    state.last.yaml = preview.yaml;
    if (preview.graph) {
      el.graph.innerHTML = graphSvg(preview.graph).svg;
      el.graphCount.textContent = `${preview.graph.jobs.length} jobs`;
    } else {
      el.graph.innerHTML = '<p class="muted">No pipeline.</p>';
      el.graphCount.textContent = '';
    }
  }
}

/**
 * The pipeline file chosen in the YAML card: `generated.yml`, or one of the shard files it
 * triggers (the chooser appears only when there are shards).
 */
function renderYaml(preview) {
  const files = preview.yaml === null
    ? []
    : [{ file: 'generated.yml', jobs: preview.graph.jobs.length, yaml: preview.yaml }, ...preview.shards];
  const names = files.map((f) => `${f.file} ${f.jobs}`).join('\n');
  if (names !== state.last.yamlFiles) {
    state.last.yamlFiles = names;
    el.yamlFile.innerHTML = files
      .map((f) => `<option value="${escape(f.file)}">${escape(f.file)} · ${f.jobs} job${f.jobs === 1 ? '' : 's'}</option>`)
      .join('');
    el.yamlFile.hidden = files.length < 2;
  }
  if (!files.some((f) => f.file === state.yamlFile)) state.yamlFile = 'generated.yml';
  if (files.length) el.yamlFile.value = state.yamlFile;
  const shown = files.find((f) => f.file === state.yamlFile)?.yaml ?? '';
  if (shown !== state.last.shown) {
    state.last.shown = shown;
    el.yaml.textContent = shown;
    el.yaml.classList.toggle('empty', !shown);
  }
}

/** The plan text of `grove plan`, with its headline, steps and what is left out set apart. */
function planHtml(text) {
  const lines = text.replace(/\n$/, '').split('\n');
  let html = `<p class="headline">${escape(lines[0])}</p><ul class="plan-lines">`;
  let section = '';
  for (const line of lines.slice(1)) {
    if (line === 'Left out:') {
      section = 'left-out';
      html += '</ul><p class="left-out-title">Left out, and why:</p><ul class="plan-lines left-out">';
      continue;
    }
    const cls = line.startsWith('Why:') ? 'why' : line.startsWith('Note:') || line.startsWith('Unknown patches:') ? 'note' : section;
    html += `<li class="${cls}">${escape(line.trim())}</li>`;
  }
  return `${html}</ul>`;
}

/** A failure of Grove, with its whole message. */
function errorHtml(error) {
  return `<p class="headline bad">Grove would exit ${error.exitCode} (${escape(error.kind)}).</p><pre class="error-message">${escape(error.message)}</pre>`;
}

// ---------------------------------------------------------------------------------------------
// The fleet

/** Replaces the fleet and redraws. `isDemo` marks the untouched demo fleet (left out of links). */
function setFleet(files, label, isDemo) {
  state.files = files;
  state.label = label;
  state.isDemo = isDemo;
  rebuildFleet();
  renderFileList();
}

/** Reads the fleet's files again (after an edit) and redraws. */
function rebuildFleet() {
  const next = new Fleet(state.files);
  if (state.fleet) state.fleet.free();
  state.fleet = next;
  state.last = {};
  renderFleetSummary();
  render();
}

function renderFleetSummary() {
  const summary = state.fleet.summary();
  el.fleetLabel.textContent = state.isDemo ? 'demo fleet (examples/cluster)' : state.label;
  if (summary.error) {
    el.fleetSummary.innerHTML = `<span class="bad">This fleet cannot be used:</span> <code>${escape(summary.error.message)}</code>`;
    return;
  }
  const names = summary.instances.map((n) => `<code class="chip">${escape(n)}</code>`).join(' ');
  const ignored = summary.ignored.length
    ? `<br><span class="warn">Not instances:</span> ${summary.ignored.map((i) => `<code>${escape(i.folder)}</code> (${escape(i.reason)})`).join(', ')}`
    : '';
  el.fleetSummary.innerHTML = `<span id="instance-count">${summary.instances.length}</span> instance${summary.instances.length === 1 ? '' : 's'}: ${names || '<span class="muted">none</span>'}${ignored}`;
}

function renderFileList() {
  const paths = [...state.files.keys()];
  if (!state.files.has(state.file)) state.file = paths.find((p) => p.endsWith('config.yml')) || paths[0] || '';
  el.fileCount.textContent = String(paths.length);
  el.fileSelect.innerHTML = paths.map((p) => `<option${p === state.file ? ' selected' : ''}>${escape(p)}</option>`).join('');
  el.fileText.value = state.files.get(state.file) ?? '';
  el.fileText.disabled = !state.file;
}

let editTimer = 0;
function onFileEdit() {
  if (!state.file) return;
  state.files.set(state.file, el.fileText.value);
  if (state.isDemo) { state.isDemo = false; state.label = 'demo fleet, edited'; }
  clearTimeout(editTimer);
  editTimer = setTimeout(rebuildFleet, 120);
}

function addFile() {
  const path = el.newPath.value.trim().replace(/^\/+/, '');
  if (!path) return;
  if (!state.files.has(path)) state.files.set(path, '');
  state.file = path;
  el.newPath.value = '';
  if (state.isDemo) { state.isDemo = false; state.label = 'demo fleet, edited'; }
  rebuildFleet();
  renderFileList();
  el.fileText.focus();
}

function removeFile() {
  if (!state.file) return;
  state.files.delete(state.file);
  state.file = '';
  if (state.isDemo) { state.isDemo = false; state.label = 'demo fleet, edited'; }
  rebuildFleet();
  renderFileList();
}

async function useFolder(reading) {
  el.drop.classList.add('busy');
  try {
    const { label, files, skipped } = await reading;
    if (!files.size) {
      el.fleetSummary.innerHTML = '<span class="bad">Nothing Grove reads was in that folder</span> (it looks for <code>instances/NAME/config.yml</code>).';
      return;
    }
    setFleet(files, `${label} (dropped, ${files.size} files read, ${skipped} left alone)`, false);
  } catch (e) {
    el.fleetSummary.innerHTML = `<span class="bad">The folder could not be read:</span> ${escape(e.message || e)}`;
  } finally {
    el.drop.classList.remove('busy', 'over');
  }
}

// ---------------------------------------------------------------------------------------------
// The URL hash

let hashTimer = 0;
let hashWrite = Promise.resolve();
function scheduleHash() {
  clearTimeout(hashTimer);
  hashTimer = setTimeout(() => { hashWrite = writeHash(); }, 250);
}

async function writeHash() {
  const { hash, fleetLeftOut, payloadLeftOut } = await encode({
    title: state.title,
    payload: state.mode === 'webhook' ? state.payload : undefined,
    label: state.label,
    files: state.isDemo ? undefined : state.files,
  });
  if (location.hash !== hash) history.replaceState(null, '', hash);
  const leftOut = [fleetLeftOut && 'fleet', payloadLeftOut && 'payload'].filter(Boolean);
  el.share.title = leftOut.length ? `The ${leftOut.join(' and the ')} ${leftOut.length > 1 ? 'are' : 'is'} too large for a link, and left out of it.` : '';
}

async function readHash() {
  try {
    const view = await decode(location.hash);
    if (!view) return false;
    state.title = view.title;
    state.mode = view.mode;
    if (view.payload !== undefined) state.payload = view.payload;
    if (view.files) { state.files = view.files; state.label = view.label; state.isDemo = false; }
    return true;
  } catch (e) {
    console.warn('grove: the link could not be read', e);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function setTitle(title) {
  state.title = title;
  el.title.value = title;
  render();
}

function setPayload(payload) {
  state.payload = payload;
  el.payload.value = payload;
  render();
}

/** Shows the title or the webhook panel (`mode` is `title` or `webhook`), without redrawing. */
function showMode(mode) {
  state.mode = mode;
  for (const tab of document.querySelectorAll('[data-mode]')) tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
  el.titlePanel.hidden = mode !== 'title';
  el.webhookPanel.hidden = mode !== 'webhook';
}

/** Switches to the title or the webhook panel and previews what it holds. */
function setMode(mode) {
  showMode(mode);
  render();
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  const before = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = before; }, 1200);
}

function wire() {
  el.title.addEventListener('input', () => { state.title = el.title.value; render(); });
  el.title.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); });
  el.title.addEventListener('scroll', () => { el.mirror.scrollTop = el.title.scrollTop; });
  el.examples.innerHTML = EXAMPLES.map(([name], i) => `<button type="button" class="chip-button" data-example="${i}">${escape(name)}</button>`).join('');
  el.examples.addEventListener('click', (e) => {
    const i = e.target.closest('[data-example]')?.dataset.example;
    if (i !== undefined) { setTitle(EXAMPLES[Number(i)][1]); el.title.focus(); }
  });
  el.payload.addEventListener('input', () => { state.payload = el.payload.value; render(); });
  el.payloadExamples.innerHTML = demoPayloads.map(([name], i) => `<button type="button" class="chip-button" data-payload="${i}">${escape(name)}</button>`).join('');
  el.payloadExamples.addEventListener('click', (e) => {
    const i = e.target.closest('[data-payload]')?.dataset.payload;
    if (i !== undefined) { setPayload(demoPayloads[Number(i)][1]); el.payload.focus(); }
  });
  for (const tab of document.querySelectorAll('[data-mode]')) {
    tab.addEventListener('click', () => setMode(tab.dataset.mode));
  }
  el.diagnostics.addEventListener('click', (e) => {
    const li = e.target.closest('li');
    if (!li) return;
    el.title.focus();
    el.title.setSelectionRange(Number(li.dataset.from), Math.max(Number(li.dataset.to), Number(li.dataset.from) + 1));
  });
  for (const button of document.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', () => copy($(button.dataset.copy).textContent, button));
  }
  el.share.addEventListener('click', async () => {
    clearTimeout(hashTimer);
    await writeHash();
    copy(location.href, el.share);
  });
  el.graph.addEventListener('mouseover', (e) => {
    const job = e.target.closest('[data-job]')?.dataset.job;
    for (const p of el.graph.querySelectorAll('path.hl')) p.classList.remove('hl');
    if (!job) return;
    for (const p of el.graph.querySelectorAll('path')) {
      if (p.dataset.from === job || p.dataset.to === job) p.classList.add('hl');
    }
  });
  el.yamlFile.addEventListener('change', () => { state.yamlFile = el.yamlFile.value; render(); });
  el.fileSelect.addEventListener('change', () => { state.file = el.fileSelect.value; el.fileText.value = state.files.get(state.file) ?? ''; });
  el.fileText.addEventListener('input', onFileEdit);
  el.addFile.addEventListener('click', addFile);
  el.newPath.addEventListener('keydown', (e) => { if (e.key === 'Enter') addFile(); });
  el.removeFile.addEventListener('click', removeFile);
  el.resetFleet.addEventListener('click', () => setFleet(new Map(Object.entries(demoFiles)), 'demo', true));
  el.folder.addEventListener('change', () => { if (el.folder.files.length) useFolder(fromInput(el.folder.files, isFleetFile)); el.folder.value = ''; });
  for (const target of [el.drop, document.body]) {
    target.addEventListener('dragover', (e) => { e.preventDefault(); el.drop.classList.add('over'); });
  }
  el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
  document.body.addEventListener('drop', (e) => {
    e.preventDefault();
    useFolder(fromDrop(e.dataTransfer, isFleetFile));
  });
  window.addEventListener('hashchange', async () => {
    const before = { title: state.title, payload: state.payload, mode: state.mode, files: state.files };
    if (!(await readHash())) return;
    el.title.value = state.title;
    el.payload.value = state.payload;
    showMode(state.mode);
    if (state.files !== before.files) setFleet(state.files, state.label, false);
    else if (state.title !== before.title || state.payload !== before.payload || state.mode !== before.mode) render();
  });
}

async function main() {
  await init();
  el.version.textContent = `grove ${version()}`;
  state.files = new Map(Object.entries(demoFiles));
  await readHash();
  el.title.value = state.title;
  el.payload.value = state.payload;
  showMode(state.mode);
  wire();
  setFleet(state.files, state.label, state.isDemo);
  document.documentElement.dataset.ready = 'true';
  if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
    navigator.serviceWorker.register('sw.js').catch((e) => console.warn('grove: no offline copy', e));
  }
}

/** Hooks for tests and the budget script. */
window.grove = {
  /** Replaces the fleet with `files` (an object of path → text). */
  loadFleet(files, label = 'test fleet') { setFleet(new Map(Object.entries(files)), label, false); },
  setTitle,
  setPayload,
  /** `title` or `webhook`. */
  setMode,
  get state() { return state; },
  /** Whether the link in the address is up to date. */
  hashWritten: () => hashWrite,
  timings,
  set measure(on) { measure = on; timings.length = 0; },
};

main().catch((e) => {
  el.status.className = 'status bad';
  el.status.textContent = `Grove could not start: ${e.message || e}`;
  throw e;
});
