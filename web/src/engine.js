// The page's side of worker.js: requests to Grove as promises, one at a time, in order.
//
// An outcome asked while another outcome waits its turn takes that one's place (the one replaced
// resolves to null), so Grove computes the latest keystroke, never a backlog of older ones.
//
// The worker is the one boot.js started as the page began to load, if it did.

export class Engine {
  /** `worker`: a worker running worker.js; `early`: what it has said so far. */
  constructor(worker, early = []) {
    this.worker = worker;
    /** @type {{message: object, resolve: Function, reject: Function}[]} */
    this.queue = [];
    this.busy = null;
    this.nextId = 1;
    /** Resolves with {version, ms} (how long the worker took to load Grove) when it is ready. */
    this.ready = new Promise((resolve, reject) => { this.started = { resolve, reject }; });
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => this.fail(new Error(event.message || 'the worker could not start'));
    for (const data of early.splice(0)) this.receive(data);
  }

  /** Asks the worker for `type` (see worker.js); resolves with its answer, or null if replaced. */
  request(type, fields = {}) {
    return new Promise((resolve, reject) => {
      const job = { message: { type, ...fields }, resolve, reject };
      const last = this.queue.at(-1);
      if (type === 'outcome' && last?.message.type === 'outcome') {
        last.resolve(null);
        this.queue[this.queue.length - 1] = job;
      } else {
        this.queue.push(job);
      }
      this.pump();
    });
  }

  /** Whether a request is being computed or waits for its turn. */
  get pending() {
    return this.busy !== null || this.queue.length > 0;
  }

  pump() {
    if (this.busy || !this.queue.length) return;
    this.busy = this.queue.shift();
    this.busy.message.id = this.nextId++;
    this.worker.postMessage(this.busy.message);
  }

  receive(data) {
    if ('ready' in data) {
      if (data.ready) this.started.resolve(data);
      else this.fail(new Error(data.failure));
      return;
    }
    const job = this.busy;
    this.busy = null;
    if (data.failure !== undefined) job.reject(new Error(data.failure));
    else job.resolve(data);
    this.pump();
  }

  fail(error) {
    this.started.reject(error);
    for (const job of [this.busy, ...this.queue]) job?.reject(error);
    this.busy = null;
    this.queue = [];
  }
}

/** Grove, in its worker: one for the page. */
const boot = window.groveBoot;
export const engine = boot
  ? new Engine(boot.worker, boot.early)
  : new Engine(new Worker(new URL('worker.js', import.meta.url), { type: 'module' }));
