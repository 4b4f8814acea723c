// The pipeline graph as SVG, drawn from Grove's graph of one pipeline file: one column per
// stage, in order; one box per job, in file order within its stage; one line per `needs`, with
// an arrow at the job that waits.
//
// A line never crosses a box it does not join. A need between neighbouring columns is a curve
// in the channel between them. Any other need leaves its box into the channel on its right,
// runs along the gap between two rows (the gap above the box it reaches; gaps and channels hold
// no boxes), and comes down the channel on the left of the box that needs it. A need between
// two boxes of one column goes straight through the gap between them when they are neighbours,
// and along the channel on their right when they are not. Each box that sends lines along a
// channel or a gap gets its own track there, so lines from different boxes do not run together.
//
// A big pipeline is drawn collapsed: one box per instance (its chain of jobs) or per stage, with
// how many jobs it holds, and one line per pair of boxes, with how many needs it stands for.

import { escape } from './text.js';

const BOX_W = 176;
const BOX_H = 26;
const COL_GAP = 56;
const ROW_GAP = 14;
const HEAD_H = 26;
const PAD = 10;
const TOP = HEAD_H + ROW_GAP;
const CHAR_W = 6.7; // 11px monospace
const MAX_CHARS = Math.floor((BOX_W - 16) / CHAR_W);
/** Room kept between a track and the sides of its channel or gap. */
const MARGIN = 7;
const RADIUS = 4;

/** The most instance boxes drawn one above the other. */
const WRAP = 20;

/** Past this many jobs, a graph is drawn by stage unless the reader chose otherwise. */
export const COLLAPSE_ABOVE = 150;

/** The ways to draw a graph, with their names for people. */
export const MODES = [
  ['jobs', 'Every job'],
  ['instance', 'By instance'],
  ['stage', 'By stage'],
];

/** The colour family of a stage, for CSS. */
function family(stage) {
  if (stage === 'terraform') return 'infra';
  if (stage === 'base-image') return 'image';
  if (stage === 'archive' || stage === 'noop') return 'quiet';
  if (stage === 'shards') return 'shards';
  return 'deploy';
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The instance a job belongs to (`build:campus` → `campus`) when it is one of `instances`; a
 * job shared by instances (`venv:1`, `base-image:2`) belongs to none.
 */
function instanceOf(name, instances) {
  const colon = name.indexOf(':');
  const rest = colon < 0 ? '' : name.slice(colon + 1);
  return instances.has(rest) ? rest : null;
}

/**
 * The boxes and lines of `graph` drawn as `mode`: every job, or one box per instance (the jobs
 * of no instance stay alone), or one box per stage.
 * @returns {{columns: {label: string, nodes: object[]}[], edges: object[], nodes: Map<string, object>}}
 */
export function collapse(graph, mode, instances = new Set()) {
  const stageIndex = new Map(graph.stages.map((s, i) => [s, i]));
  const nodes = new Map();
  const nodeOf = new Map();
  for (const job of graph.jobs) {
    let id = job.name;
    let label = job.name;
    let rank = stageIndex.get(job.stage) ?? 0;
    let column = job.stage;
    if (mode === 'stage') {
      id = `stage ${job.stage}`;
      label = job.stage;
    } else if (mode === 'instance') {
      const instance = instanceOf(job.name, instances);
      if (instance) {
        id = `instance ${instance}`;
        label = instance;
        column = 'instances';
        rank -= 0.5; // just before the first stage its jobs are in
      }
    }
    let node = nodes.get(id);
    if (!node) {
      node = { id, label, column, rank, jobs: [], family: column === 'instances' ? 'deploy' : family(job.stage), group: id !== job.name };
      nodes.set(id, node);
    }
    node.rank = Math.min(node.rank, rank);
    node.jobs.push(job);
    nodeOf.set(job.name, node);
  }
  for (const node of nodes.values()) {
    node.trigger = !node.group ? node.jobs[0].trigger ?? null : null;
    if (node.group) {
      const stages = [...new Set(node.jobs.map((j) => j.stage))];
      node.detail = node.column === 'instances' ? `${plural(node.jobs.length, 'job')}: ${stages.join(' → ')}` : plural(node.jobs.length, 'job');
    }
  }
  // Columns: one per stage (or `instances`), in the order of the stages.
  const byColumn = new Map();
  for (const node of nodes.values()) {
    if (!byColumn.has(node.column)) byColumn.set(node.column, { label: node.column, rank: node.rank, nodes: [] });
    const column = byColumn.get(node.column);
    column.rank = Math.min(column.rank, node.rank);
    column.nodes.push(node);
  }
  const columns = [];
  for (const column of [...byColumn.values()].sort((a, b) => a.rank - b.rank)) {
    const count = column.nodes.reduce((n, node) => n + node.jobs.length, 0);
    column.title = mode === 'jobs' ? column.label : column.label === 'instances'
      ? `instances · ${column.nodes.length}` : `${column.label} · ${plural(count, 'job')}`;
    // Many instances flow into columns of at most WRAP boxes, side by side.
    const size = column.label === 'instances' ? Math.ceil(column.nodes.length / Math.ceil(column.nodes.length / WRAP)) : Infinity;
    for (let i = 0; i < column.nodes.length; i += size) {
      columns.push({ ...column, title: i ? '' : column.title, nodes: column.nodes.slice(i, i + size) });
    }
  }
  // Lines: one per pair of boxes, with every need it stands for.
  const edges = new Map();
  let inside = 0;
  for (const job of graph.jobs) {
    const to = nodeOf.get(job.name);
    for (const need of job.needs) {
      const from = nodeOf.get(need);
      if (!from) continue;
      if (from === to) { inside += 1; continue; }
      const key = `${from.id}\n${to.id}`;
      if (!edges.has(key)) edges.set(key, { from: from.id, to: to.id, needs: [] });
      edges.get(key).needs.push([need, job.name]);
    }
  }
  return { columns, nodes, edges: [...edges.values()], inside };
}

/** A polyline with rounded corners, as SVG path data. */
function rounded(points) {
  let d = `M${points[0][0]} ${points[0][1]}`;
  for (let i = 1; i < points.length - 1; i++) {
    const [px, py] = points[i - 1];
    const [x, y] = points[i];
    const [nx, ny] = points[i + 1];
    const r = Math.min(RADIUS, Math.hypot(x - px, y - py) / 2, Math.hypot(nx - x, ny - y) / 2);
    const ax = x - Math.sign(x - px) * r;
    const ay = y - Math.sign(y - py) * r;
    const bx = x + Math.sign(nx - x) * r;
    const by = y + Math.sign(ny - y) * r;
    d += `L${ax} ${ay}Q${x} ${y} ${bx} ${by}`;
  }
  const [lx, ly] = points[points.length - 1];
  return `${d}L${lx} ${ly}`;
}

/**
 * Tracks in channels (or gaps): each owner (the box a line leaves) says which stretch of a lane
 * it runs along; owners whose stretches do not meet share a track, the others get their own.
 */
class Tracks {
  constructor() { this.lanes = new Map(); }
  /** `owner` runs along `lane` from `a` to `b`. */
  add(lane, owner, a, b) {
    if (!this.lanes.has(lane)) this.lanes.set(lane, new Map());
    const stretches = this.lanes.get(lane);
    const [lo, hi] = stretches.get(owner) ?? [Infinity, -Infinity];
    stretches.set(owner, [Math.min(lo, a, b), Math.max(hi, a, b)]);
  }
  /** Gives each owner its track: the first one free along its whole stretch. */
  assign() {
    this.track = new Map();
    this.count = new Map();
    for (const [lane, stretches] of this.lanes) {
      const ends = [];
      for (const [owner, [lo, hi]] of [...stretches].sort((x, y) => x[1][0] - y[1][0])) {
        let t = ends.findIndex((end) => end + ROW_GAP < lo);
        if (t < 0) t = ends.push(hi) - 1;
        else ends[t] = hi;
        this.track.set(`${lane}\n${owner}`, t);
      }
      this.count.set(lane, ends.length);
    }
  }
  /** Where `owner`'s track in `lane` lies, between `from` and `to`. */
  at(lane, owner, from, to) {
    const n = this.count.get(lane);
    const t = this.track.get(`${lane}\n${owner}`);
    return n === 1 ? (from + to) / 2 : from + ((to - from) * t) / (n - 1);
  }
}

/**
 * Draws a graph ({stages, jobs: [{name, stage, needs, trigger}]}) as an SVG string.
 * @param {{mode?: string, instances?: string[]}} options how to draw it (see `collapse`)
 * @returns {{svg: string, width: number, height: number, columns: string[][], model: object}}
 */
export function graphSvg(graph, { mode = 'jobs', instances = [] } = {}) {
  const model = collapse(graph, mode, new Set(instances));
  const { columns, nodes, edges } = model;
  const at = new Map();
  columns.forEach((column, c) => column.nodes.forEach((node, r) => at.set(node.id, { c, r })));
  const kinds = edges.map((e) => {
    const u = at.get(e.from);
    const v = at.get(e.to);
    if (v.c === u.c + 1) return 'curve';
    if (v.c === u.c && Math.abs(v.r - u.r) === 1) return 'straight';
    return 'routed';
  });
  // A left channel only for a need back into the first column; a right one only when a box
  // of the last column sends a routed line.
  const left = edges.some((e, i) => kinds[i] === 'routed' && at.get(e.to).c === 0 && at.get(e.to).c < at.get(e.from).c) ? COL_GAP : 0;
  const last = columns.length - 1;
  const right = edges.some((e, i) => kinds[i] === 'routed' && at.get(e.from).c === last) ? COL_GAP : 0;
  const x0 = PAD + left;
  const colX = (c) => x0 + c * (BOX_W + COL_GAP);
  const rowY = (r) => TOP + r * (BOX_H + ROW_GAP);
  /** Channel `k` lies right of column `k` (-1: left of the first). */
  const channel = (k) => [colX(k) + BOX_W, colX(k) + BOX_W + COL_GAP];
  /** Gap `g` lies above row `g`. */
  const gap = (g) => [rowY(g) - ROW_GAP, rowY(g)];
  const rows = Math.max(1, ...columns.map((c) => c.nodes.length));
  const width = x0 + columns.length * (BOX_W + COL_GAP) - COL_GAP + right + PAD;
  const height = rowY(rows) + PAD;
  const box = (id) => {
    const { c, r } = at.get(id);
    return { x: colX(c), y: rowY(r), cy: rowY(r) + BOX_H / 2 };
  };

  // Where lines reach a box from the left: spread along its side, in the order of the boxes
  // they come from, so that no two arrows meet.
  const entries = new Map();
  edges.forEach((e, i) => {
    if (kinds[i] === 'straight' || at.get(e.to).c === at.get(e.from).c) return;
    if (!entries.has(e.to)) entries.set(e.to, []);
    entries.get(e.to).push(i);
  });
  const entryY = new Map();
  for (const [id, list] of entries) {
    const { y } = box(id);
    list.sort((i, j) => box(edges[i].from).y - box(edges[j].from).y || at.get(edges[i].from).c - at.get(edges[j].from).c);
    list.forEach((i, k) => entryY.set(i, y + (BOX_H * (k + 1)) / (list.length + 1)));
  }

  // Tracks: every routed line's owner (the box it leaves), along the stretch of each channel
  // and gap it runs in.
  const channels = new Tracks();
  const gaps = new Tracks();
  const middle = (range) => (range[0] + range[1]) / 2;
  edges.forEach((e, i) => {
    if (kinds[i] !== 'routed') return;
    const u = at.get(e.from);
    const v = at.get(e.to);
    const a = box(e.from);
    if (v.c === u.c) {
      channels.add(u.c, e.from, a.cy, box(e.to).cy);
      return;
    }
    const y = middle(gap(v.r));
    channels.add(u.c, e.from, a.cy, y);
    channels.add(v.c - 1, e.from, y, entryY.get(i));
    gaps.add(v.r, e.from, middle(channel(u.c)), middle(channel(v.c - 1)));
  });
  channels.assign();
  gaps.assign();
  const trackX = (k, owner) => channels.at(k, owner, channel(k)[0] + MARGIN, channel(k)[1] - MARGIN);
  const trackY = (g, owner) => gaps.at(g, owner, gap(g)[0] + 3, gap(g)[1] - 3);

  const paths = edges.map((e, i) => {
    const u = at.get(e.from);
    const v = at.get(e.to);
    const a = box(e.from);
    const b = box(e.to);
    const end = entryY.get(i) ?? b.cy;
    if (kinds[i] === 'curve') {
      const x1 = a.x + BOX_W;
      const x2 = b.x;
      const bend = (x2 - x1) / 2;
      return `M${x1} ${a.cy}C${x1 + bend} ${a.cy} ${x2 - bend} ${end} ${x2} ${end}`;
    }
    if (kinds[i] === 'straight') {
      const x = a.x + BOX_W / 2;
      return v.r > u.r ? `M${x} ${a.y + BOX_H}L${x} ${b.y}` : `M${x} ${a.y}L${x} ${b.y + BOX_H}`;
    }
    const out = trackX(u.c, e.from);
    if (v.c === u.c) return rounded([[a.x + BOX_W, a.cy], [out, a.cy], [out, b.cy], [b.x + BOX_W, b.cy]]);
    const y = trackY(v.r, e.from);
    const down = trackX(v.c - 1, e.from);
    return rounded([[a.x + BOX_W, a.cy], [out, a.cy], [out, y], [down, y], [down, end], [b.x, end]]);
  });

  const jobCount = graph.jobs.length;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="graph-svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="group" aria-label="Pipeline graph: ${plural(jobCount, 'job')} in ${plural(graph.stages.length, 'stage')}${mode === 'jobs' ? '' : `, ${plural(nodes.size, 'box')}`}">`);
  parts.push('<defs><marker id="grove-arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z"/></marker>'
    + '<marker id="grove-arrow-hl" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0L8 4L0 8z"/></marker></defs>');
  columns.forEach((column, c) => {
    if (column.title) parts.push(`<text class="stage" x="${colX(c) + 2}" y="17">${escape(column.title)}</text>`);
  });
  parts.push('<g class="edges">');
  edges.forEach((e, i) => {
    const count = e.needs.length > 1 ? ` (${plural(e.needs.length, 'need')})` : '';
    const title = `${nodes.get(e.to).label} needs ${nodes.get(e.from).label}${count}`;
    parts.push(`<path data-from="${escape(e.from)}" data-to="${escape(e.to)}" d="${paths[i]}"><title>${escape(title)}</title></path>`);
  });
  parts.push('</g><g class="jobs">');
  let first = true;
  for (const column of columns) {
    for (const node of column.nodes) {
      const { x, y } = box(node.id);
      const suffix = node.group ? ` · ${node.jobs.length}` : node.trigger ? ' ↗' : '';
      const room = MAX_CHARS - suffix.length;
      const label = (node.label.length > room ? `${node.label.slice(0, room - 1)}…` : node.label) + suffix;
      const needs = node.group ? '' : node.jobs[0].needs.length ? `, needs ${node.jobs[0].needs.join(', ')}` : '';
      const about = node.group ? `${node.label}: ${node.detail}` : `${node.label}, stage ${node.jobs[0].stage}${needs}${node.trigger ? `, triggers ${node.trigger}` : ''}`;
      const cls = `job ${node.family}${node.trigger ? ' trigger' : ''}${node.group ? ' group' : ''}`;
      parts.push(`<g class="${cls}" data-node="${escape(node.id)}" tabindex="${first ? 0 : -1}" role="button" aria-label="${escape(about)}"><title>${escape(about)}</title><rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="5"/><text x="${x + 8}" y="${y + 17}">${escape(label)}</text></g>`);
      first = false;
    }
  }
  parts.push('</g></svg>');
  return { svg: parts.join(''), width, height, columns: columns.map((c) => c.nodes.map((n) => n.id)), model };
}
