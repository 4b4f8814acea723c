// The view in the URL hash: `#t=TITLE`; when a webhook payload is previewed, `&m=webhook&p=PAYLOAD`;
// when the fleet is not the demo one, `&n=LABEL&f=FILES`. The payload and the files are deflated
// (the files as JSON) in base64url.

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
  return new TextDecoder().decode(await pipe(fromBase64Url(packed), new DecompressionStream('deflate-raw')));
}

/**
 * The hash for a view.
 * @param {{title: string, payload?: string, label?: string, files?: Map<string, string>}} view
 *   payload only when a webhook is previewed, files only when not the demo
 * @returns {Promise<{hash: string, fleetLeftOut: boolean, payloadLeftOut: boolean}>}
 */
export async function encode(view) {
  const params = new URLSearchParams();
  params.set('t', view.title);
  let payloadLeftOut = false;
  if (view.payload !== undefined) {
    params.set('m', 'webhook');
    const packed = await pack(view.payload);
    if (packed.length <= MAX_FLEET_CHARS) params.set('p', packed);
    else payloadLeftOut = true;
  }
  let fleetLeftOut = false;
  if (view.files) {
    const packed = await pack(JSON.stringify(Object.fromEntries(view.files)));
    if (packed.length <= MAX_FLEET_CHARS) {
      params.set('n', view.label || 'shared');
      params.set('f', packed);
    } else {
      fleetLeftOut = true;
    }
  }
  return { hash: `#${params.toString()}`, fleetLeftOut, payloadLeftOut };
}

/**
 * The view in a hash, or null if there is none.
 * @returns {Promise<{title: string, mode: 'title' | 'webhook', payload?: string, label?: string, files?: Map<string, string>} | null>}
 */
export async function decode(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  if (!params.has('t')) return null;
  const view = { title: params.get('t'), mode: params.get('m') === 'webhook' ? 'webhook' : 'title' };
  if (params.has('p')) view.payload = await unpack(params.get('p'));
  const packed = params.get('f');
  if (packed) {
    const object = JSON.parse(await unpack(packed));
    view.files = new Map(Object.entries(object).filter(([, text]) => typeof text === 'string'));
    view.label = params.get('n') || 'shared';
  }
  return view;
}
