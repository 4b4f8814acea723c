// The Web Worker that runs Grove: the WebAssembly module, the fleet, and the last outcome, off
// the page's main thread, so that typing never waits for Grove. The page talks to it through
// engine.js: each request is one message with an `id`, answered by one message with that `id`.
//
// An outcome answers with its outline (diagnostics, plan, the list of pipeline files) and the one
// file the page shows; the other files stay here until the page asks for one.

/** Fetches and compiles the module (streaming, if the server sends it as application/wasm). */
async function compile(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname} could not be loaded (HTTP ${response.status})`);
  const copy = response.clone();
  try {
    return await WebAssembly.compileStreaming(response);
  } catch {
    return WebAssembly.compile(await copy.arrayBuffer());
  }
}

// The module: compiled by the page and posted here (boot.js), or else fetched and compiled here
// while its JavaScript glue loads, not after.
const url = new URL('pkg/grove_wasm_bg.wasm', import.meta.url);
let posted = null;
const compiled = self.name === 'grove, module posted'
  ? new Promise((resolve) => { posted = resolve; }).then((module) => module ?? compile(url))
  : compile(url);
const ready = import('./pkg/grove_wasm.js').then(async (grove) => {
  await grove.default({ module_or_path: await compiled });
  return grove;
});
/** @type {import('./pkg/grove_wasm.js').Fleet | null} */
let fleet = null;
/** The module's exports, once it is ready. */
let grove = null;
/** The demo fleet, read as soon as Grove is ready (most visits start with it), and kept. */
let demoFleet = null;
/** How long reading the demo fleet took, in ms. */
let demoMs = null;
const demo = Promise.all([ready, import('./demo-fleet.js')]).then(([loaded, files]) => {
  const start = performance.now();
  demoFleet = new loaded.Fleet(files.default);
  demoMs = performance.now() - start;
  return demoFleet;
});

const handlers = {
  /**
   * Reads a fleet: `files` is a list of [path, text], or `demo` is true. Answers with its
   * summary, and how long reading it took.
   */
  async fleet({ files, demo: isDemo }) {
    const start = performance.now();
    const next = isDemo ? await demo : new grove.Fleet(new Map(files));
    if (fleet !== demoFleet) fleet?.free();
    fleet = next;
    return { summary: fleet.summary(), ms: isDemo ? demoMs : performance.now() - start };
  },
  /**
   * The outcome of `input` (`kind` is `title` or `webhook`): its outline and the pipeline file
   * `file`, or the first one if the outcome has no such file.
   */
  outcome({ kind, input, file }) {
    const start = performance.now();
    const outline = fleet.outline(kind, input);
    const shown = outline.files.some((f) => f.file === file) ? file : outline.files[0]?.file;
    const pipeline = shown ? fleet.file(shown) : null;
    return { outline, pipeline, ms: performance.now() - start };
  },
  /** One pipeline file of the last outcome. */
  file({ file }) {
    return { pipeline: fleet.file(file) };
  },
  /** Which of `paths` Grove reads (the files worth opening in a chosen folder). */
  fleetFiles({ paths }) {
    return { keep: paths.map((path) => grove.isFleetFile(path)) };
  },
};

self.onmessage = async ({ data }) => {
  if (data.type === 'module') {
    posted(data.module);
    return;
  }
  try {
    grove = await ready;
    postMessage({ id: data.id, ...(await handlers[data.type](data)) });
  } catch (e) {
    postMessage({ id: data.id, failure: String(e?.message ?? e) });
  }
};

ready.then(
  // `ms`: since the worker started (its own clock).
  (loaded) => postMessage({ ready: true, version: loaded.version(), ms: performance.now() }),
  (e) => postMessage({ ready: false, failure: String(e?.message ?? e) }),
);
