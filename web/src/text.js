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
