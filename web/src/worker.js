// The Web Worker that runs Grove: the WebAssembly module, the fleet, and the last preview, off
// the page's main thread, so that typing never waits for Grove. The page talks to it through
// engine.js: each request is one message with an `id`, answered by one message with that `id`.
//
// A preview answers with its outline (diagnostics, plan, the list of pipeline files) and the one
// file the page shows; the other files stay here until the page asks for one.

import init, { Fleet, isFleetFile, version } from './pkg/grove_wasm.js';

const ready = init();
/** @type {Fleet | null} */
let fleet = null;

const handlers = {
  /** Reads a fleet: `files` is a list of [path, text]. Answers with its summary. */
  fleet({ files }) {
    fleet?.free();
    fleet = new Fleet(new Map(files));
    return { summary: fleet.summary() };
  },
  /**
   * Previews `input` (`kind` is `title` or `webhook`). Answers with the outline and the pipeline
   * file `file`, or the first one if the preview has no such file.
   */
  preview({ kind, input, file }) {
    const start = performance.now();
    const outline = fleet.outline(kind, input);
    const shown = outline.files.some((f) => f.file === file) ? file : outline.files[0]?.file;
    const pipeline = shown ? fleet.file(shown) : null;
    return { outline, pipeline, ms: performance.now() - start };
  },
  /** One pipeline file of the last preview. */
  file({ file }) {
    return { pipeline: fleet.file(file) };
  },
  /** Which of `paths` Grove reads (the files worth opening in a chosen folder). */
  fleetFiles({ paths }) {
    return { keep: paths.map((path) => isFleetFile(path)) };
  },
};

self.onmessage = async ({ data }) => {
  try {
    await ready;
    postMessage({ id: data.id, ...handlers[data.type](data) });
  } catch (e) {
    postMessage({ id: data.id, failure: String(e?.message ?? e) });
  }
};

ready.then(
  () => postMessage({ ready: true, version: version() }),
  (e) => postMessage({ ready: false, failure: String(e?.message ?? e) }),
);
