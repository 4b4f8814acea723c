// The pipeline graph as SVG: one column per stage, in order; one box per job, in file order
// within its stage; one curve per `needs`, from the needed job to the job that waits for it.

import { escape } from './text.js';

const BOX_W = 176;
const BOX_H = 24;
const COL_GAP = 36;
const ROW_GAP = 8;
const HEAD_H = 30;
const PAD = 8;
const CHAR_W = 6.7; // 11px monospace
const MAX_CHARS = Math.floor((BOX_W - 14) / CHAR_W);

/** The colour family of a stage, for CSS. */
function family(stage) {
  if (stage === 'terraform') return 'infra';
  if (stage === 'base-image' || stage === 'image') return 'image';
  if (stage === 'archive' || stage === 'noop') return 'quiet';
  return 'deploy';
}

/**
 * Draws a graph ({stages, jobs: [{name, stage, needs}]}) as an SVG string.
 * @returns {{svg: string, width: number, height: number}}
 */
export function graphSvg(graph) {
  const column = new Map(graph.stages.map((s, i) => [s, i]));
  const rows = new Array(graph.stages.length).fill(0);
  const at = new Map();
  for (const job of graph.jobs) {
    const c = column.get(job.stage) ?? 0;
    at.set(job.name, { x: PAD + c * (BOX_W + COL_GAP), y: HEAD_H + rows[c] * (BOX_H + ROW_GAP), c });
    rows[c] += 1;
  }
  const width = PAD * 2 + graph.stages.length * (BOX_W + COL_GAP) - COL_GAP;
  const height = HEAD_H + Math.max(1, ...rows) * (BOX_H + ROW_GAP) + PAD;
  const parts = [];
  // Shrink a wide graph to fit its box, but never below 3/4 of its size: then it scrolls.
  const fit = `width:min(${width}px,max(100%,${Math.round(width * 0.75)}px))`;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="graph-svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" style="${fit}" role="img" aria-label="Pipeline graph: ${graph.jobs.length} jobs in ${graph.stages.length} stages">`);
  graph.stages.forEach((stage, c) => {
    const x = PAD + c * (BOX_W + COL_GAP);
    parts.push(`<text class="stage" x="${x + 2}" y="18">${escape(stage)}</text>`);
  });
  parts.push('<g class="edges">');
  for (const job of graph.jobs) {
    const to = at.get(job.name);
    for (const need of job.needs) {
      const from = at.get(need);
      if (!from) continue;
      const x1 = from.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const x2 = to.x;
      const y2 = to.y + BOX_H / 2;
      const bend = Math.max(24, Math.abs(x2 - x1) / 2);
      parts.push(`<path data-from="${escape(need)}" data-to="${escape(job.name)}" d="M${x1} ${y1}C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}"/>`);
    }
  }
  parts.push('</g><g class="jobs">');
  for (const job of graph.jobs) {
    const { x, y } = at.get(job.name);
    const label = job.name.length > MAX_CHARS ? `${job.name.slice(0, MAX_CHARS - 1)}…` : job.name;
    const needs = job.needs.length ? `\nneeds: ${job.needs.join(', ')}` : '';
    parts.push(`<g class="job ${family(job.stage)}" data-job="${escape(job.name)}"><title>${escape(job.name + needs)}</title><rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="5"/><text x="${x + 8}" y="${y + 16}">${escape(label)}</text></g>`);
  }
  parts.push('</g></svg>');
  return { svg: parts.join(''), width, height };
}
