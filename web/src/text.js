// Text helpers: UTF-8 byte offsets (what Grove's diagnostics carry) to JavaScript string
// indices (UTF-16 code units), and HTML escaping.

/**
 * Converts UTF-8 byte offsets into `text` to UTF-16 indices into the same string.
 * An offset inside a character (which Grove never gives) maps to the character's start; one past
 * the end maps to `text.length`.
 * @param {string} text
 * @param {number[]} offsets byte offsets, in any order
 * @returns {number[]} the matching string indices, in the same order
 */
export function byteOffsetsToIndices(text, offsets) {
  const order = offsets.map((offset, i) => [offset, i]).sort((a, b) => a[0] - b[0]);
  const out = new Array(offsets.length);
  let bytes = 0;
  let index = 0;
  let next = 0;
  while (next < order.length) {
    if (order[next][0] <= bytes || index >= text.length) {
      out[order[next][1]] = index;
      next += 1;
      continue;
    }
    const code = text.codePointAt(index);
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + width > order[next][0]) {
      out[order[next][1]] = index;
      next += 1;
      continue;
    }
    bytes += width;
    index += code > 0xffff ? 2 : 1;
  }
  return out;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML and XML, in content and in quoted attributes. */
export function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * `text` as HTML with each diagnostic drawn over its exact characters: a `<mark>` over a range
 * (errors over warnings where they overlap), a `<span class="point">` at an empty one. Each
 * carries `data-diagnostic`, its index. Used by the mirrors behind the title and the file editor.
 * @param {string} text
 * @param {{start: number, end: number, severity: string}[]} diagnostics byte ranges into `text`
 */
export function markedHtml(text, diagnostics) {
  const indices = byteOffsetsToIndices(text, diagnostics.flatMap((d) => [d.start, d.end]));
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
  return `${html}\u200b`;
}

/** The line (from 1) and column (from 1, in characters) of a UTF-8 byte offset into `text`. */
export function lineColumn(text, offset) {
  const [index] = byteOffsetsToIndices(text, [offset]);
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: [...before.slice(before.lastIndexOf('\n') + 1)].length + 1 };
}
