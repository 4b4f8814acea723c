// The view in the URL hash: `#c=CHECK&t=TITLE`; when a webhook payload is shown,
// `&m=webhook&p=PAYLOAD`; when the fleet is not the demo one, `&n=LABEL&f=FILES`. The payload
// and the files are deflated (the files as JSON) in base64url.
//
// A link never shows something it was not made from. `c` is a checksum of everything after it,
// so a link cut short (or edited) is known as such. A fleet or payload too large for a link is
// not silently dropped: the link says `x=fleet` (or `x=payload`), and opening it says that it
// cannot show its view. Links made before `c` existed are read as they were.

/** The longest fleet (or payload) a link carries, packed; a larger one is left out of the link. */
export const MAX_FLEET_CHARS = 60000;

function toBase64Url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/** Text, deflated, in base64url. */
async function pack(text) {
  return toBase64Url(await pipe(new TextEncoder().encode(text), new CompressionStream('deflate-raw')));
}

/** The text of `pack`. */
async function unpack(packed) {
  return new TextDecoder('utf-8', { fatal: true }).decode(await pipe(fromBase64Url(packed), new DecompressionStream('deflate-raw')));
}

/** FNV-1a (32 bits) of a string's UTF-16 units, as 8 hex digits: enough to notice a cut. */
function checksum(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/**
 * The hash for a view.
 * @param {{title: string, payload?: string, label?: string, files?: Map<string, string>}} view
 *   payload only when a webhook is shown, files only when not the demo
 * @returns {Promise<{hash: string, leftOut: string[], sizes: Record<string, number>}>} `leftOut`
 *   names what was too large (`fleet`, `payload`), and `sizes` its packed size in characters
 */
export async function encode(view) {
  const params = new URLSearchParams();
  params.set('t', view.title);
  const leftOut = [];
  const sizes = {};
  if (view.payload !== undefined) {
    params.set('m', 'webhook');
    const packed = await pack(view.payload);
    if (packed.length <= MAX_FLEET_CHARS) params.set('p', packed);
    else { leftOut.push('payload'); sizes.payload = packed.length; }
  }
  if (view.files) {
    const packed = await pack(JSON.stringify(Object.fromEntries(view.files)));
    if (packed.length <= MAX_FLEET_CHARS) {
      params.set('n', view.label || 'shared');
      params.set('f', packed);
    } else {
      leftOut.push('fleet');
      sizes.fleet = packed.length;
    }
  }
  if (leftOut.length) params.set('x', leftOut.join(','));
  const body = params.toString();
  return { hash: `#c=${checksum(body)}&${body}`, leftOut, sizes };
}

/** Why a link cannot show its view. */
export class LinkProblem extends Error {}

/**
 * The view in a hash, or null if there is none.
 * @returns {Promise<{title: string, mode: 'title' | 'webhook', payload?: string, label?: string, files?: Map<string, string>} | null>}
 * @throws {LinkProblem} when the link is cut, broken, or made from a fleet or payload too large for it
 */
export async function decode(hash) {
  const text = hash.replace(/^#/, '');
  if (!text) return null;
  const check = /^c=([0-9a-f]*)(?:&|$)/.exec(text);
  if (check && (check[1].length !== 8 || checksum(text.slice(check[0].length)) !== check[1])) {
    throw new LinkProblem('it was cut short or changed after it was made');
  }
  const params = new URLSearchParams(check ? text.slice(check[0].length) : text);
  if (!params.has('t')) throw new LinkProblem('it holds no commit title');
  const leftOut = params.get('x');
  if (leftOut) {
    const what = leftOut.split(',').map((w) => (w === 'fleet' ? 'its fleet was' : 'its webhook payload was')).join(' and ');
    throw new LinkProblem(`${what} too large to be put in a link`);
  }
  const view = { title: params.get('t'), mode: params.get('m') === 'webhook' ? 'webhook' : 'title' };
  try {
    if (params.has('p')) view.payload = await unpack(params.get('p'));
    const packed = params.get('f');
    if (packed) {
      const object = JSON.parse(await unpack(packed));
      view.files = new Map(Object.entries(object).filter(([, file]) => typeof file === 'string'));
      view.label = params.get('n') || 'shared';
    }
  } catch {
    throw new LinkProblem(`its ${params.has('f') ? 'fleet' : 'payload'} cannot be read (the link is cut short or damaged)`);
  }
  if (view.mode === 'webhook' && view.payload === undefined) throw new LinkProblem('it holds no webhook payload');
  return view;
}
