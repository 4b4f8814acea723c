// The view in the URL hash: `#t=TITLE`, and when the fleet is not the demo one,
// `&n=LABEL&f=FILES` with the files as deflated JSON in base64url.

/** The longest fleet a link carries; a larger one is left out of the link. */
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

/**
 * The hash for a view.
 * @param {{title: string, label?: string, files?: Map<string, string>}} view files only when not the demo
 * @returns {Promise<{hash: string, fleetLeftOut: boolean}>}
 */
export async function encode(view) {
  const params = new URLSearchParams();
  params.set('t', view.title);
  let fleetLeftOut = false;
  if (view.files) {
    const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(view.files)));
    const packed = toBase64Url(await pipe(json, new CompressionStream('deflate-raw')));
    if (packed.length <= MAX_FLEET_CHARS) {
      params.set('n', view.label || 'shared');
      params.set('f', packed);
    } else {
      fleetLeftOut = true;
    }
  }
  return { hash: `#${params.toString()}`, fleetLeftOut };
}

/**
 * The view in a hash, or null if there is none.
 * @returns {Promise<{title: string, label?: string, files?: Map<string, string>} | null>}
 */
export async function decode(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  if (!params.has('t')) return null;
  const view = { title: params.get('t') };
  const packed = params.get('f');
  if (packed) {
    const json = new TextDecoder().decode(await pipe(fromBase64Url(packed), new DecompressionStream('deflate-raw')));
    const object = JSON.parse(json);
    view.files = new Map(Object.entries(object).filter(([, text]) => typeof text === 'string'));
    view.label = params.get('n') || 'shared';
  }
  return view;
}
