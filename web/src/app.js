// The playground: a commit title (or a webhook payload) and a fleet in; Grove's diagnostics,
// plan, graph and YAML out, on every keystroke.
//
// Grove runs in a Web Worker (worker.js, through engine.js), so a keystroke only hands the input
// over and redraws the title; the outcome comes back as a message, and only the pipeline file
// shown crosses over (the others on demand). An outcome that comes back for an input that has
// changed since is dropped: the newer one is already on its way.
//
// State: the mode (title or webhook), the title, the payload, the fleet's files (the demo fleet
// from examples/cluster, edited, or read from a folder), the pipeline file shown and the file
// being edited. The first four are kept in the URL hash (the demo fleet as no files at all).

import { engine } from './engine.js';
import demoFiles from './demo-fleet.js';
import demoPayloads from './demo-payloads.js';
import { byteOffsetsToIndices, escape, lineColumn, markedHtml } from './text.js';
import { COLLAPSE_ABOVE, MODES, graphSvg } from './graph.js';
import { fromDrop, fromInput } from './folder.js';
import { LinkProblem, MAX_FLEET_CHARS, decode, encode } from './share.js';

const $ = (id) => document.getElementById(id);
const el = Object.fromEntries([
  'title', 'title-panel', 'webhook-panel', 'payload', 'payload-examples', 'mirror', 'examples',
  'diagnostics', 'status', 'plan', 'plan-text', 'plan-json', 'graph', 'graph-count',
  'graph-mode', 'pipeline-file', 'pipeline-file-choice', 'job', 'job-title', 'job-facts',
  'job-shard', 'job-yaml', 'job-close', 'yaml', 'yaml-name', 'fleet-label', 'fleet-summary',
  'folder-status', 'drop', 'folder', 'choose-folder', 'reset-fleet', 'files-details',
  'file-count', 'file-select', 'file-text', 'file-mirror', 'file-problem', 'new-path',
  'add-file', 'remove-file', 'share', 'share-status', 'version', 'link-problem',
  'link-problem-why', 'link-problem-start',
].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(id)]));

const DEFAULT_TITLE = '[AutoDeploy][Update] campus|42';
const MAIN_FILE = 'generated.yml';
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
/** What each kind of plan is called on the page. */
const KINDS = {
  none: 'Nothing to deploy',
  infrastructure: 'Infrastructure',
  create: 'Create',
  update: 'Update',
  archive: 'Archive',
  delete: 'Delete',
  'build-image': 'Build image',
  'batch-upgrade': 'Batch upgrade',
  'batch-upgrade-to': 'Batch upgrade to a commit',
  'preview-up': 'Preview environment up',
  'preview-down': 'Preview environment down',
};
/** A list of the plan longer than this shows its first lines (FOLDED_LINES), and the rest on request. */
const PLAN_LINES = 8;
const FOLDED_LINES = 3;

const plural = (n, word, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

const state = {
  /** `title` or `webhook`: what is shown. */
  mode: 'title',
  title: DEFAULT_TITLE,
  /** The webhook payload (JSON text). */
  payload: demoPayloads[0][1],
  /** @type {Map<string, string>} */
  files: new Map(),
  label: 'demo',
  isDemo: true,
  /** Counts the fleets handed to Grove; an outcome belongs to one. */
  fleetVersion: 0,
  /** The fleet's summary: its instances, or its error. */
  summary: null,
  /** The file in the editor. */
  file: '',
  /** The pipeline file shown: `generated.yml`, or one of its shards. */
  pipelineFile: MAIN_FILE,
  /** How the graph is drawn (`jobs`, `instance`, `stage`), or null: by its size. */
  graphMode: null,
  /** The last outcome asked for ({mode, input, fleet, at}) and the one shown. */
  asked: null,
  shown: null,
  /** The outcome shown: its outline, and its pipeline file ({file, yaml, graph}). */
  outline: null,
  pipeline: null,
  /** The graph drawn, and the box whose details are shown. */
  drawn: null,
  selected: null,
  /** Why the link the page was opened with cannot show its view, if it cannot. */
  linkProblem: null,
  /** The link of the view: {hash, leftOut, sizes}. */
  link: null,
};

/** Timings in ms, when `grove.measure` is on (for web/tests/budgets.mjs). */
const timings = { input: [], apply: [], latency: [], worker: [] };
let measure = false;
/** When the first plan was shown, in ms since the navigation started. */
let firstPlan = null;
/**
 * How the first plan came: when the worker was started (ms since the navigation started) and
 * how long it took to load Grove, how long each fleet took to read in it (the demo fleet: read
 * by the worker on its own, as soon as Grove was ready), when the first outcome was asked, how
 * long Grove took for it, and how long showing it took.
 */
const loading = { started: performance.getEntriesByName('grove-worker')[0]?.startTime ?? null, worker: null, fleet: [], asked: null, outcome: null, shown: null };

// ---------------------------------------------------------------------------------------------
// Outcomes

const currentInput = () => (state.mode === 'webhook' ? state.payload : state.title);

/** The input changed: hand it to Grove. Runs on every keystroke, so it does nothing else. */
function onInput() {
  const start = performance.now();
  if (state.linkProblem) clearLinkProblem();
  // The marks of the previous title would sit under the wrong characters; they come back with
  // the outcome.
  if (state.mode === 'title') el.mirror.textContent = `${state.title}\u200b`;
  requestOutcome();
  scheduleHash();
  if (measure) {
    void el.mirror.getBoundingClientRect(); // include style and layout
    timings.input.push(performance.now() - start);
  }
}

/** Asks Grove for the outcome of the current input; shows it if the input is still the same. */
function requestOutcome() {
  const ask = { mode: state.mode, input: currentInput(), fleet: state.fleetVersion, at: performance.now() };
  state.asked = ask;
  engine.request('outcome', { kind: ask.mode, input: ask.input, file: state.pipelineFile }).then((answer) => {
    if (answer && ask === state.asked) showOutcome(ask, answer);
  }, fatal);
}

/** Shows an outcome: underlines, diagnostics, status, plan, and the pipeline file it came with. */
function showOutcome(ask, { outline, pipeline, ms }) {
  const start = performance.now();
  state.shown = ask;
  state.outline = outline;
  if (ask.mode === 'title') {
    el.mirror.innerHTML = markedHtml(state.title, outline.diagnostics);
    el.mirror.scrollTop = el.title.scrollTop;
    renderDiagnostics(outline.diagnostics);
  }
  renderStatus(outline);
  renderPlan(outline);
  renderFileChoice(outline.files);
  const wanted = state.pipelineFile;
  showPipeline(pipeline);
  // A file chosen while this outcome was computed.
  if (pipeline && wanted !== pipeline.file && outline.files.some((f) => f.file === wanted)) requestFile(wanted);
  renderFileEditor();
  if (firstPlan === null) {
    firstPlan = performance.now();
    Object.assign(loading, { asked: ask.at, outcome: ms, shown: firstPlan - start });
    document.documentElement.dataset.ready = 'true';
  }
  if (measure) {
    void el.graph.getBoundingClientRect(); // include style and layout
    const end = performance.now();
    timings.apply.push(end - start);
    timings.latency.push(end - ask.at);
    timings.worker.push(ms);
  }
}

/** Asks Grove for another pipeline file of the outcome shown. */
function requestFile(file) {
  const ask = state.asked;
  state.pipelineFile = file;
  engine.request('file', { file }).then(({ pipeline }) => {
    if (pipeline && ask === state.asked && ask === state.shown) showPipeline(pipeline);
  }, fatal);
}

function fatal(error) {
  el.status.className = 'status bad';
  el.status.textContent = `Grove failed: ${error.message || error}`;
  console.error(error);
}

// ---------------------------------------------------------------------------------------------
// The title, the status and the plan

/** Lists the diagnostics under the title; each is a button that selects its characters. */
function renderDiagnostics(diagnostics) {
  const text = state.title;
  el.diagnostics.innerHTML = diagnostics.map((d) => {
    const { column } = lineColumn(text, d.start);
    const hint = d.hint ? `<span class="hint">${escape(d.hint)}</span>` : '';
    return `<li class="${d.severity}"><button type="button" class="diagnostic" data-start="${d.start}" data-end="${d.end}"><span class="badge">${d.severity}</span> <span class="where">column ${column}</span> <span class="message">${escape(d.message)}</span>${hint}</button></li>`;
  }).join('');
}

/** Selects the characters `start..end` (UTF-8 offsets; at least one) of a text field. */
function selectIn(field, start, end) {
  const [from, to] = byteOffsetsToIndices(field.value, [start, end]);
  field.focus();
  field.setSelectionRange(from, Math.max(to, from + 1));
}

/** The file of the fleet an error points into, if it points into one. */
function errorFile(error) {
  return error?.source && state.files.has(error.source) && error.diagnostics.length ? error.source : null;
}

/** Where an error's first diagnostic is in its file: `line 3, column 5`. */
function errorPlace(error) {
  const { line, column } = lineColumn(state.files.get(error.source), error.diagnostics[0].start);
  return `line ${line}, column ${column}`;
}

/** One line that says what Grove would do, or why it would fail. */
function renderStatus(outline) {
  const s = el.status;
  const error = outline.error;
  if (error) {
    const command = state.mode === 'webhook' ? 'grove webhookpipeline' : 'grove pipeline';
    const file = errorFile(error);
    // The message itself is in the plan card, once.
    const why = file ? `${file} has an error (${errorPlace(error)}), marked in the file editor` : escape(error.summary);
    s.className = 'status bad';
    s.innerHTML = `<strong>No pipeline:</strong> <code>${command}</code> would exit ${error.exitCode}: ${why}`;
    return;
  }
  const [main, ...shards] = outline.files;
  const warnings = outline.diagnostics.length ? ` · ${plural(outline.diagnostics.length, 'warning')}` : '';
  const shardJobs = shards.reduce((sum, shard) => sum + shard.jobs, 0);
  const shardText = shards.length ? ` · triggers ${plural(shards.length, 'shard pipeline')} (${shardJobs} jobs)` : '';
  const kind = KINDS[outline.plan.kind] ?? outline.plan.kind;
  s.className = outline.diagnostics.length ? 'status warn' : 'status good';
  s.innerHTML = `<strong>${escape(kind)}</strong> · ${plural(main.jobs, 'job')} in ${plural(main.stages, 'stage')}${shardText}${warnings}`;
}

/** The plan, or Grove's whole message when there is none. */
function renderPlan(outline) {
  const error = outline.error;
  const key = error ? `error\n${error.message}\n${errorFile(error)}` : outline.planText;
  if (key === state.planKey) return;
  state.planKey = key;
  el.plan.innerHTML = error ? errorHtml(error) : planHtml(outline.planText);
  el.planText.textContent = outline.planText ?? error.message;
  el.planJson.textContent = outline.planJson ?? '';
}

/** The plan text of `grove plan`, with its headline, steps and what is left out set apart. */
function planHtml(text) {
  const lines = text.replace(/\n$/, '').split('\n');
  // Sections: the steps; then each line that is not indented starts one (`Left out:`,
  // `Sharded: …`), but for the notes, which stand among the lines.
  const sections = [{ title: null, cls: '', lines: [] }];
  for (const line of lines.slice(1)) {
    if (line === 'Left out:') {
      sections.push({ title: 'Left out, and why:', cls: 'left-out', lines: [] });
    } else if (/^\S/.test(line) && !/^(Why|Note|Unknown patches):/.test(line)) {
      sections.push({ title: line, cls: '', lines: [] });
    } else {
      sections.at(-1).lines.push(line);
    }
  }
  const isNote = (line) => /^(Why|Note|Unknown patches):/.test(line);
  let html = `<p class="headline">${escape(lines[0])}</p>`;
  for (const section of sections) {
    if (section.title) html += `<p class="section-title ${section.cls}">${escape(section.title)}</p>`;
    const item = (line) => {
      const cls = line.startsWith('Why:') ? 'why' : isNote(line) ? 'note' : section.cls;
      return `<li class="${cls}">${escape(line.trim())}</li>`;
    };
    const items = section.lines.map(item);
    if (!items.length) continue;
    // The notes that end a section are about the whole plan: they are never folded away.
    let end = section.lines.length;
    while (end > 0 && isNote(section.lines[end - 1])) end -= 1;
    if (end <= PLAN_LINES) {
      html += `<ul class="plan-lines ${section.cls}">${items.join('')}</ul>`;
      continue;
    }
    // A long list: its first lines, and the rest folded; then its notes.
    const shown = FOLDED_LINES;
    const rest = section.lines.slice(shown, end);
    const instances = rest.every((line) => /^\s+[a-z][a-z0-9-]*: /.test(line));
    const what = instances ? plural(rest.length, 'more instance') : plural(rest.length, 'more line');
    html += `<ul class="plan-lines ${section.cls}">${items.slice(0, shown).join('')}</ul>`
      + `<details class="plan-more"><summary>Show ${what}</summary><ul class="plan-lines ${section.cls}">${items.slice(shown, end).join('')}</ul></details>`;
    if (end < items.length) html += `<ul class="plan-lines">${items.slice(end).join('')}</ul>`;
  }
  return html;
}

/** A failure of Grove, with its whole message, and where it is when it is in a file. */
function errorHtml(error) {
  const file = errorFile(error);
  const show = file ? `<p><button type="button" class="button small" data-show-file="${escape(file)}">Show ${escape(file)} in the file editor</button></p>` : '';
  const kind = { 'no-such-instance': 'no such instance', 'already-exists': 'already exists', 'invalid-input': 'invalid input' }[error.kind] ?? error.kind;
  // Core's message may say its first line twice (once as the summary, once as the diagnostic):
  // each line is shown once. The plan's Copy button copies the message exactly.
  const lines = [...new Set(error.message.split('\n'))].join('\n');
  return `<p class="headline bad">Grove would exit ${error.exitCode} (${escape(kind)}).</p><pre class="error-message">${escape(lines)}</pre>${show}`;
}

// ---------------------------------------------------------------------------------------------
// The pipeline file shown: its graph, its YAML, a job's part of it

/** The chooser of pipeline files, shown when there are shards. */
function renderFileChoice(files) {
  const names = files.map((f) => `${f.file} ${f.jobs}`).join('\n');
  if (names !== state.fileNames) {
    state.fileNames = names;
    el.pipelineFile.innerHTML = files
      .map((f) => `<option value="${escape(f.file)}">${escape(f.file)} · ${plural(f.jobs, 'job')}</option>`)
      .join('');
  }
  el.pipelineFileChoice.hidden = files.length < 2;
}

/** Shows a pipeline file (or none): the graph and the YAML, each redrawn only if it changed. */
function showPipeline(pipeline) {
  if (pipeline) {
    state.pipelineFile = pipeline.file;
    el.pipelineFile.value = pipeline.file;
  }
  if (pipeline?.yaml === state.pipeline?.yaml && pipeline?.file === state.pipeline?.file) {
    if (pipeline) state.pipeline = pipeline;
    return;
  }
  state.pipeline = pipeline;
  state.lines = null;
  el.yaml.textContent = pipeline?.yaml ?? '';
  el.yaml.classList.toggle('empty', !pipeline);
  el.yamlName.textContent = pipeline && state.outline.files.length > 1 ? pipeline.file : '';
  renderGraph();
}

/** How the graph is drawn: as the reader chose, or collapsed by stage when it is big. */
function graphMode(graph) {
  return state.graphMode ?? (graph.jobs.length > COLLAPSE_ABOVE ? 'stage' : 'jobs');
}

function renderGraph() {
  const pipeline = state.pipeline;
  if (!pipeline) {
    el.graph.innerHTML = '<p class="muted">No pipeline.</p>';
    el.graphCount.textContent = '';
    state.drawn = null;
    renderJob();
    return;
  }
  const mode = graphMode(pipeline.graph);
  const instances = state.outline.plan?.instances.map((i) => i.name) ?? [];
  const drawn = graphSvg(pipeline.graph, { mode, instances });
  state.drawn = drawn;
  el.graph.innerHTML = drawn.svg;
  // Shrink a wide graph to fit its box, but never below 3/4 of its size: then it scrolls.
  el.graph.firstElementChild.style.width = `min(${drawn.width}px, max(100%, ${Math.round(drawn.width * 0.75)}px))`;
  const jobs = pipeline.graph.jobs.length;
  const boxes = mode === 'jobs' ? '' : `, drawn as ${plural(drawn.model.nodes.size, 'box', 'boxes')}`;
  el.graphCount.textContent = `${plural(jobs, 'job')}${boxes}`;
  for (const radio of el.graphMode.querySelectorAll('input')) radio.checked = radio.value === mode;
  if (state.selected && !drawn.model.nodes.has(state.selected)) state.selected = null;
  renderJob();
}

/** The graph box with id `id`. */
const boxOf = (id) => el.graph.querySelector(`[data-node="${CSS.escape(id)}"]`);

/** Moves the keyboard focus to a box of the graph (one box of the graph is a Tab stop). */
function focusBox(id) {
  for (const box of el.graph.querySelectorAll('[data-node][tabindex="0"]')) box.setAttribute('tabindex', '-1');
  const box = boxOf(id);
  box.setAttribute('tabindex', '0');
  box.focus();
}

/** The lines of the YAML shown. */
function yamlLines() {
  state.lines ??= state.pipeline.yaml.split('\n');
  return state.lines;
}

/** Shows the selected box's part of the YAML (a job's, or each job's of a collapsed box). */
function renderJob() {
  for (const marked of el.graph.querySelectorAll('.selected, .hl')) marked.classList.remove('selected', 'hl');
  const node = state.selected && state.drawn?.model.nodes.get(state.selected);
  el.job.hidden = !node;
  if (!node) return;
  const box = boxOf(node.id);
  box.classList.add('selected');
  for (const path of el.graph.querySelectorAll('.edges path')) {
    if (path.dataset.from === node.id || path.dataset.to === node.id) path.classList.add('hl');
  }
  const lines = yamlLines();
  const part = (job) => (job.line ? lines.slice(job.line - 1, job.line - 1 + job.lines).join('\n') : `# ${job.name}: not found in the YAML`);
  const file = state.pipeline.file;
  if (node.group) {
    el.jobTitle.textContent = `${node.label} · ${plural(node.jobs.length, 'job')}`;
    el.jobFacts.textContent = `${node.detail}, in ${file}.`;
  } else {
    const job = node.jobs[0];
    const neededBy = state.pipeline.graph.jobs.filter((j) => j.needs.includes(job.name)).map((j) => j.name);
    const where = job.line ? `, lines ${job.line}–${job.line + job.lines - 1} of ${file}` : '';
    el.jobTitle.textContent = job.name;
    el.jobFacts.textContent = `Stage ${job.stage} · needs ${job.needs.join(', ') || 'no job'} · needed by ${neededBy.join(', ') || 'no job'}${where}.`;
  }
  const shard = node.trigger && state.outline.files.find((f) => f.file === node.trigger);
  el.jobShard.hidden = !shard;
  if (shard) {
    el.jobShard.textContent = `Show ${shard.file} (${plural(shard.jobs, 'job')}), the pipeline it triggers`;
    el.jobShard.dataset.file = shard.file;
  }
  el.jobYaml.textContent = node.jobs.map(part).join('\n\n');
}

function selectBox(id) {
  state.selected = id;
  renderJob();
}

// ---------------------------------------------------------------------------------------------
// The fleet

/** Replaces the fleet and shows the outcome again. `isDemo` marks the untouched demo fleet (left out of links). */
function setFleet(files, label, isDemo) {
  state.files = files;
  state.label = label;
  state.isDemo = isDemo;
  sendFleet();
  renderFileList();
}

/** Hands the fleet's files to Grove, then shows the outcome of the input against it. */
function sendFleet() {
  clearTimeout(editTimer);
  editTimer = 0;
  const version = ++state.fleetVersion;
  state.summary = null;
  // The worker reads the demo fleet on its own, as soon as it can.
  const fleet = state.isDemo ? { demo: true } : { files: [...state.files] };
  engine.request('fleet', fleet).then(({ summary, ms }) => {
    loading.fleet.push(ms);
    if (version !== state.fleetVersion) return;
    state.summary = summary;
    renderFleetSummary();
  }, fatal);
  if (!state.linkProblem) requestOutcome();
}

function renderFleetSummary() {
  el.fleetLabel.textContent = state.isDemo ? 'demo fleet (examples/cluster)' : state.label;
  const summary = state.summary;
  if (!summary) return;
  if (summary.error) {
    const file = errorFile(summary.error);
    const where = file ? `${escape(file)} has an error (${errorPlace(summary.error)})` : escape(summary.error.summary);
    const show = file ? ` <button type="button" class="button small" data-show-file="${escape(file)}">Show it in the file editor</button>` : '';
    el.fleetSummary.innerHTML = `<p><span class="bad">This fleet cannot be used:</span> ${where}; Grove's message is in the plan above.${show}</p>`;
    return;
  }
  const names = summary.instances.map((n) => `<code class="chip">${escape(n)}</code>`).join(' ');
  const ignored = summary.ignored.length
    ? `<br><span class="warn">Not instances:</span> ${summary.ignored.map((i) => `<code>${escape(i.folder)}</code> (${escape(i.reason)})`).join(', ')}`
    : '';
  const many = summary.instances.length > 40;
  const list = many ? `<details class="instance-list"><summary>Show their names</summary>${names}</details>` : names || '<span class="muted">none</span>';
  el.fleetSummary.innerHTML = `<p><span id="instance-count">${summary.instances.length}</span> ${summary.instances.length === 1 ? 'instance' : 'instances'}${many ? '.' : ':'} ${list}${ignored}</p>`;
}

function renderFileList() {
  const paths = [...state.files.keys()];
  if (!state.files.has(state.file)) state.file = paths.find((p) => p.endsWith('config.yml')) || paths[0] || '';
  el.fileCount.textContent = String(paths.length);
  el.fileSelect.innerHTML = paths.map((p) => `<option${p === state.file ? ' selected' : ''}>${escape(p)}</option>`).join('');
  el.fileText.value = state.files.get(state.file) ?? '';
  el.fileText.disabled = !state.file;
  renderFileEditor();
}

/**
 * The mirror behind the file editor, with the error of the file edited marked at its line: the
 * fleet's own error, or the error of the outcome shown, when it is in this file and Grove has
 * read the file as it is now.
 */
function renderFileEditor() {
  const text = el.fileText.value;
  const current = !editTimer && state.shown?.fleet === state.fleetVersion;
  const error = [state.summary?.error, state.outline?.error].find((e) => current && errorFile(e) === state.file);
  const drawn = { file: state.file, text, error: error?.message };
  if (Object.entries(drawn).every(([key, value]) => state.fileDrawn?.[key] === value)) return;
  state.fileDrawn = drawn;
  el.fileMirror.innerHTML = markedHtml(text, error ? error.diagnostics : []);
  el.fileMirror.scrollTop = el.fileText.scrollTop;
  el.fileProblem.hidden = !error;
  if (error) {
    el.fileProblem.innerHTML = `<span class="badge">error</span> Marked below at ${errorPlace(error)}: the error Grove reports in the plan above.`;
  }
}

/** Opens the file editor at `file` and selects the error marked in it. */
function showFileError(file) {
  el.filesDetails.open = true;
  state.file = file;
  renderFileList();
  const error = [state.summary?.error, state.outline?.error].find((e) => errorFile(e) === file);
  if (error) selectIn(el.fileText, error.diagnostics[0].start, error.diagnostics[0].end);
  else el.fileText.focus();
  el.fileText.scrollIntoView({ block: 'nearest' });
}

let editTimer = 0;
function onFileEdit() {
  if (!state.file) return;
  state.files.set(state.file, el.fileText.value);
  if (state.isDemo) { state.isDemo = false; state.label = 'demo fleet, edited'; }
  el.fileMirror.textContent = `${el.fileText.value}\u200b`;
  state.fileDrawn = null;
  clearTimeout(editTimer);
  editTimer = setTimeout(sendFleet, 120);
  scheduleHash();
}

function edited() {
  if (state.isDemo) { state.isDemo = false; state.label = 'demo fleet, edited'; }
  sendFleet();
  renderFileList();
  scheduleHash();
}

function addFile() {
  const path = el.newPath.value.trim().replace(/^\/+/, '');
  if (!path) return;
  if (!state.files.has(path)) state.files.set(path, '');
  state.file = path;
  el.newPath.value = '';
  edited();
  el.fileText.focus();
}

function removeFile() {
  if (!state.file) return;
  state.files.delete(state.file);
  state.file = '';
  edited();
}

/** Which of `paths` Grove reads, asked of Grove. */
const fleetFiles = (paths) => engine.request('fleetFiles', { paths }).then((answer) => answer.keep);

/** Uses the fleet of a folder (`how` it came: `chosen` or `dropped`), if it holds one. */
async function useFolder(reading, how) {
  el.drop.classList.add('busy');
  el.folderStatus.textContent = '';
  try {
    const { label, files, skipped } = await reading;
    if (!files.size) {
      el.folderStatus.textContent = `Nothing was read from ${label}: it holds no instances/NAME/config.yml nor any other file Grove reads (${plural(skipped, 'file')} left alone). The fleet is unchanged.`;
      return;
    }
    setFleet(files, `${label} (${how}, ${plural(files.size, 'file')} read, ${skipped} left alone)`, false);
    scheduleHash();
  } catch (e) {
    el.folderStatus.textContent = `The folder could not be read: ${e.message || e}. The fleet is unchanged.`;
  } finally {
    el.drop.classList.remove('busy', 'over');
  }
}

// ---------------------------------------------------------------------------------------------
// The link

let hashTimer = 0;
let hashWrite = Promise.resolve();
function scheduleHash() {
  if (state.linkProblem) return;
  clearTimeout(hashTimer);
  hashTimer = setTimeout(() => { hashTimer = 0; hashWrite = writeHash(); }, 250);
}

/** Puts the view in the address; a fleet or payload too large for it is marked as left out. */
async function writeHash() {
  hashWrites += 1;
  try {
    await writeHashNow();
  } finally {
    hashWrites -= 1;
  }
}

let hashWrites = 0;
async function writeHashNow() {
  state.link = await encode({
    title: state.title,
    payload: state.mode === 'webhook' ? state.payload : undefined,
    label: state.label,
    files: state.isDemo ? undefined : state.files,
  });
  if (location.hash !== state.link.hash) history.replaceState(null, '', state.link.hash);
}

/** Copies the link, or says plainly why a link cannot hold this view. */
async function copyLink() {
  clearTimeout(hashTimer);
  hashTimer = 0;
  await (hashWrite = writeHash());
  const { leftOut, sizes } = state.link;
  if (leftOut.length) {
    const what = leftOut.map((w) => `the ${w === 'fleet' ? 'fleet' : 'webhook payload'} (${Math.round(sizes[w] / 1000)} KB packed)`).join(' and ');
    el.shareStatus.className = 'share-status bad';
    el.shareStatus.textContent = `Not copied: ${what} ${leftOut.length > 1 ? 'are' : 'is'} too large for a link (at most ${MAX_FLEET_CHARS / 1000} KB), so a link cannot show this view.`;
    return;
  }
  await copy(location.href, el.share);
  el.shareStatus.className = 'share-status';
  el.shareStatus.textContent = 'Link copied: it shows this view.';
}

/** Reads the view of the address; a link that cannot show its view says so and shows nothing. */
async function readHash() {
  try {
    const view = await decode(location.hash);
    if (!view) return null;
    return view;
  } catch (e) {
    showLinkProblem(e instanceof LinkProblem ? e.message : 'it cannot be read');
    return null;
  }
}

function showLinkProblem(why) {
  state.linkProblem = why;
  el.linkProblemWhy.textContent = why;
  el.linkProblem.hidden = false;
  state.title = '';
  state.payload = '';
  el.title.value = '';
  el.payload.value = '';
  el.mirror.textContent = '';
  el.diagnostics.innerHTML = '';
  el.status.className = 'status bad';
  el.status.textContent = 'Nothing is shown: the link this page was opened with cannot show its view.';
  state.asked = null;
  state.outline = { files: [], diagnostics: [], plan: null, planText: '', planJson: '', error: null };
  el.plan.innerHTML = '<p class="muted">No plan.</p>';
  state.planKey = null;
  el.planText.textContent = '';
  el.planJson.textContent = '';
  renderFileChoice([]);
  showPipeline(null);
}

function clearLinkProblem() {
  state.linkProblem = null;
  el.linkProblem.hidden = true;
}

/** Applies the view of a link: its input, and its fleet, or the demo fleet when it has none. */
function applyView(view) {
  state.title = view.title;
  state.mode = view.mode;
  if (view.payload !== undefined) state.payload = view.payload;
  el.title.value = state.title;
  el.payload.value = state.payload;
  showMode(state.mode);
  if (view.files) setFleet(view.files, view.label, false);
  else setFleet(new Map(Object.entries(demoFiles)), 'demo', true);
}

// ---------------------------------------------------------------------------------------------
// Wiring

function setTitle(title) {
  state.title = title;
  el.title.value = title;
  onInput();
}

function setPayload(payload) {
  state.payload = payload;
  el.payload.value = payload;
  onInput();
}

/** Shows the title or the webhook panel (`mode` is `title` or `webhook`), without asking for an outcome. */
function showMode(mode) {
  state.mode = mode;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.mode === mode;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  el.titlePanel.hidden = mode !== 'title';
  el.webhookPanel.hidden = mode !== 'webhook';
}

/** Switches to the title or the webhook panel and shows the outcome of what it holds. */
function setMode(mode) {
  if (mode === state.mode) return;
  showMode(mode);
  onInput();
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

/** The tabs, as the WAI-ARIA tabs pattern has them: arrows, Home and End move and select. */
function onTabKey(e) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const i = tabs.indexOf(e.target);
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (i < 0 || next === undefined) return;
  e.preventDefault();
  const tab = tabs[(next + tabs.length) % tabs.length];
  tab.focus();
  setMode(tab.dataset.mode);
}

/** The graph by keyboard: arrows move between boxes, Enter or Space shows a box's YAML. */
function onGraphKey(e) {
  const id = e.target.closest?.('[data-node]')?.dataset.node;
  if (!id || !state.drawn) return;
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    selectBox(id);
    return;
  }
  const columns = state.drawn.columns;
  const c = columns.findIndex((column) => column.includes(id));
  const r = columns[c].indexOf(id);
  const beside = (column) => column && column[Math.min(r, column.length - 1)];
  const next = {
    ArrowDown: columns[c][r + 1],
    ArrowUp: columns[c][r - 1],
    ArrowRight: beside(columns[c + 1]),
    ArrowLeft: beside(columns[c - 1]),
    Home: columns[0][0],
    End: columns.at(-1).at(-1),
  }[e.key];
  if (!next) return;
  e.preventDefault();
  focusBox(next);
}

function wire() {
  el.title.addEventListener('input', () => { state.title = el.title.value; onInput(); });
  el.title.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); });
  el.title.addEventListener('scroll', () => { el.mirror.scrollTop = el.title.scrollTop; });
  el.examples.innerHTML = EXAMPLES.map(([name], i) => `<button type="button" class="chip-button" data-example="${i}">${escape(name)}</button>`).join('');
  el.examples.addEventListener('click', (e) => {
    const i = e.target.closest('[data-example]')?.dataset.example;
    if (i !== undefined) { setTitle(EXAMPLES[Number(i)][1]); el.title.focus(); }
  });
  el.payload.addEventListener('input', () => { state.payload = el.payload.value; onInput(); });
  el.payloadExamples.innerHTML = demoPayloads.map(([name], i) => `<button type="button" class="chip-button" data-payload="${i}">${escape(name)}</button>`).join('');
  el.payloadExamples.addEventListener('click', (e) => {
    const i = e.target.closest('[data-payload]')?.dataset.payload;
    if (i !== undefined) { setPayload(demoPayloads[Number(i)][1]); el.payload.focus(); }
  });
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener('click', () => setMode(tab.dataset.mode));
    tab.addEventListener('keydown', onTabKey);
  }
  el.diagnostics.addEventListener('click', (e) => {
    const button = e.target.closest('[data-start]');
    if (button) selectIn(el.title, Number(button.dataset.start), Number(button.dataset.end));
  });
  for (const button of document.querySelectorAll('[data-copy]')) {
    button.addEventListener('click', () => copy($(button.dataset.copy).textContent, button));
  }
  document.addEventListener('click', (e) => {
    const file = e.target.closest('[data-show-file]')?.dataset.showFile;
    if (file) showFileError(file);
  });
  el.share.addEventListener('click', copyLink);
  el.linkProblemStart.addEventListener('click', () => {
    clearLinkProblem();
    history.replaceState(null, '', location.pathname + location.search);
    applyView({ title: DEFAULT_TITLE, mode: 'title', payload: demoPayloads[0][1] });
    el.title.focus();
  });

  // The graph: the file shown, how it is drawn, its boxes by mouse and keyboard.
  el.pipelineFile.addEventListener('change', () => requestFile(el.pipelineFile.value));
  el.graphMode.insertAdjacentHTML('beforeend', MODES.map(([value, name]) => `<label><input type="radio" name="graph-mode" value="${value}"> ${name}</label>`).join(''));
  el.graphMode.addEventListener('change', (e) => { state.graphMode = e.target.value; renderGraph(); });
  el.graph.addEventListener('click', (e) => {
    const id = e.target.closest('[data-node]')?.dataset.node;
    if (id) { focusBox(id); selectBox(id); }
  });
  el.graph.addEventListener('keydown', onGraphKey);
  el.graph.addEventListener('mouseover', (e) => {
    const id = e.target.closest('[data-node]')?.dataset.node;
    for (const path of el.graph.querySelectorAll('path.hover')) path.classList.remove('hover');
    if (!id) return;
    for (const path of el.graph.querySelectorAll('.edges path')) {
      if (path.dataset.from === id || path.dataset.to === id) path.classList.add('hover');
    }
  });
  el.jobClose.addEventListener('click', () => {
    const id = state.selected;
    selectBox(null);
    if (id && boxOf(id)) focusBox(id);
  });
  el.jobShard.addEventListener('click', () => {
    state.selected = null;
    requestFile(el.jobShard.dataset.file);
    el.pipelineFile.focus();
  });

  // The fleet.
  el.fileSelect.addEventListener('change', () => { state.file = el.fileSelect.value; el.fileText.value = state.files.get(state.file) ?? ''; renderFileEditor(); });
  el.fileText.addEventListener('input', onFileEdit);
  el.fileText.addEventListener('scroll', () => { el.fileMirror.scrollTop = el.fileText.scrollTop; });
  el.addFile.addEventListener('click', addFile);
  el.newPath.addEventListener('keydown', (e) => { if (e.key === 'Enter') addFile(); });
  el.removeFile.addEventListener('click', removeFile);
  el.resetFleet.addEventListener('click', () => { setFleet(new Map(Object.entries(demoFiles)), 'demo', true); scheduleHash(); });
  el.chooseFolder.addEventListener('click', () => el.folder.click());
  el.folder.addEventListener('change', () => {
    useFolder(fromInput(el.folder.files, fleetFiles), 'chosen');
    el.folder.value = '';
  });
  for (const target of [el.drop, document.body]) {
    target.addEventListener('dragover', (e) => { e.preventDefault(); el.drop.classList.add('over'); });
  }
  el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
  document.body.addEventListener('drop', (e) => {
    e.preventDefault();
    useFolder(fromDrop(e.dataTransfer, fleetFiles), 'dropped');
  });
  window.addEventListener('hashchange', async () => {
    if (location.hash === state.link?.hash) return;
    const view = await readHash();
    if (view) { clearLinkProblem(); applyView(view); }
  });
}

async function main() {
  wire();
  engine.ready.then(({ version, ms }) => {
    el.version.textContent = `grove ${version}`;
    loading.worker = ms;
  }, (e) => {
    el.status.className = 'status bad';
    el.status.textContent = `Grove could not start: ${e.message || e}`;
  });
  const view = await readHash();
  if (view) {
    applyView(view);
  } else if (state.linkProblem) {
    setFleet(new Map(Object.entries(demoFiles)), 'demo', true);
    document.documentElement.dataset.ready = 'true';
  } else {
    applyView({ title: state.title, mode: state.mode });
  }
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
  /** Whether everything asked of Grove is answered and shown, and the link written. */
  get settled() {
    return !engine.pending && !editTimer && !hashTimer && !hashWrites && (state.linkProblem !== null || (state.asked !== null && state.asked === state.shown));
  },
  /** Whether the link in the address is up to date. */
  hashWritten: () => hashWrite,
  /** When the first plan was shown, in ms since the navigation started. */
  get firstPlan() { return firstPlan; },
  /** How long the worker took to load Grove, and to read each fleet, in ms. */
  loading,
  timings,
  set measure(on) {
    measure = on;
    for (const list of Object.values(timings)) list.length = 0;
  },
};

main().catch((e) => {
  el.status.className = 'status bad';
  el.status.textContent = `Grove could not start: ${e.message || e}`;
  throw e;
});
