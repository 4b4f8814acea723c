// Starts Grove's worker as soon as the page begins to load (a classic script in <head>, run
// before the rest is parsed), so that the module is fetched and compiled while the page's own
// modules load. engine.js takes the worker over, with what it said meanwhile.
const worker = new Worker('worker.js', { type: 'module' });
const early = [];
worker.onmessage = (event) => early.push(event.data);
worker.onerror = (event) => early.push({ ready: false, failure: event.message || 'the worker could not start' });
performance.mark('grove-worker');
window.groveBoot = { worker, early };
