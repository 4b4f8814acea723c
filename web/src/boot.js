// Starts Grove as soon as the page begins to load (a classic script in <head>, run before the
// rest is parsed): the worker, and the module, which index.html preloads and this compiles here
// (off the main thread) while the worker and the page's own modules load. The compiled module
// is handed to the worker, which would otherwise fetch and compile it itself. engine.js takes
// the worker over, with what it said meanwhile.
// The name tells the worker that the module comes from here.
const worker = new Worker('worker.js', { type: 'module', name: 'grove, module posted' });
const early = [];
worker.onmessage = (event) => early.push(event.data);
worker.onerror = (event) => early.push({ ready: false, failure: event.message || 'the worker could not start' });
WebAssembly.compileStreaming(fetch('pkg/grove_wasm_bg.wasm')).then(
  (module) => worker.postMessage({ type: 'module', module }),
  () => worker.postMessage({ type: 'module', module: null }),
);
performance.mark('grove-worker');
window.groveBoot = { worker, early };
