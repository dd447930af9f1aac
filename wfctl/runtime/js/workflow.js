// The "workflow" module seen by workflow code, and the in-VM half of the runtime.
//
// The host drives this module through a few globals (see docs/RUNTIMES.md), which it captures
// and deletes right after this module is evaluated, before any app code runs (VM.pin):
//   __wf_init(json)  start the named workflow with its input
//   __wf_feed(json)  append events (already decrypted; payloads are devl text)
//   __wf_tick()      consume events until one delivers a value (1), the log is exhausted (0),
//                    or an event is not claimed yet (2); the host drains the job queue between
//                    ticks, so every delivery is followed by an idle VM, as in the reference's
//                    macrotask-driven consumer (workflow-devkit.md §5.5–5.7)
//   __wf_state()     completed / failed / suspended with the pending operations
// All state lives in this module's heap, so a VM snapshot captures it completely: the replay
// and snapshot runtimes run exactly this code, one from the start, one from a saved heap.

import { bytesToBase64, parse, stringify } from "wfctl:devalue";
import { installDeterminism, monotonicUlid, nanoidFactory, seededRandom } from "wfctl:determinism";

// Intrinsics the host protocol relies on, captured before app code runs: workflow code (or a
// library it imports) may replace JSON.*, Array/Map/Promise methods or pollute
// Object.prototype; the protocol below only uses these captured functions.
const apply = Reflect.apply;
const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;
const objectKeys = Object.keys;
const isArray = Array.isArray;
const isFinite = Number.isFinite;
const PromiseCtor = Promise;
const promiseThen = Promise.prototype.then;
const promiseResolve = Promise.resolve.bind(Promise);
const promiseReject = Promise.reject.bind(Promise);
const arraySlice = Array.prototype.slice;
const arraySplice = Array.prototype.splice;
const mapGet = Map.prototype.get;
const mapSet = Map.prototype.set;
const mapDelete = Map.prototype.delete;
const mapForEach = Map.prototype.forEach;
const push = (arr, v) => {
  arr[arr.length] = v;
};
const mapValues = (m) => {
  const out = [];
  apply(mapForEach, m, [(v) => push(out, v)]);
  return out;
};

/** JSON text of plain data, immune to toJSON/prototype pollution and to a replaced JSON. */
function wire(v) {
  if (v === null || v === undefined) return "null";
  const t = typeof v;
  if (t === "string") return jsonStringify(v); // a primitive: no toJSON lookup
  if (t === "number") return isFinite(v) ? `${v}` : "null";
  if (t === "boolean") return v ? "true" : "false";
  if (isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += (i ? "," : "") + wire(v[i]);
    return `${out}]`;
  }
  if (t !== "object") return "null";
  const keys = objectKeys(v);
  let out = "{";
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const x = v[keys[i]];
    if (x === undefined || typeof x === "function") continue;
    out += (first ? "" : ",") + jsonStringify(keys[i]) + ":" + wire(x);
    first = false;
  }
  return `${out}}`;
}

// Errors that mean the code and the deployment disagree, not that the workflow failed (reference
// classifyRunError).
const setHas = Set.prototype.has;
const RUNTIME_ERROR_NAMES = new Set(["StepNotRegisteredError", "WorkflowNotRegisteredError", "WorkflowRuntimeError"]);

const CONSUMED = 1;
const FINISHED = 2;
const NOT_CONSUMED = 0;

const clock = { now: 0, origin: 0 };
const rng = { impl: seededRandom(""), next: () => rng.impl() };
installDeterminism(clock, rng);

const S = {
  workflows: new Map(), // export name -> function
  ctx: null, // {runId, workflowName, workflowExport, startedAt, encryption}
  ulid: null,
  nanoid: null,
  events: [],
  idx: 0,
  callbacks: [], // [{id, fn}] in subscription order
  subscriptions: 0, // ever-increasing; a blocked event with no new subscription is unclaimed
  blocked: null, // {idx, subscriptions} when the current event found no taker
  queue: new Map(), // correlationId -> pending operation (insertion = invocation order)
  status: "init",
  result: undefined,
  failure: null,
};

// ---------------------------------------------------------------- errors

export class FatalError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "FatalError";
    this.fatal = true;
  }
  static is(value) {
    return !!value && (value.name === "FatalError" || value.fatal === true);
  }
}

export class RetryableError extends Error {
  constructor(message, options = {}) {
    super(message, options);
    this.name = "RetryableError";
    const after = options.retryAfter;
    this.retryAfter =
      after === undefined ? new Date(clock.now + 1000) : new Date(resolveTime(after, "retryAfter"));
  }
  static is(value) {
    return !!value && value.name === "RetryableError";
  }
}

globalThis[Symbol.for("@workflow/errors//FatalError")] = FatalError;
globalThis[Symbol.for("@workflow/errors//RetryableError")] = RetryableError;

class WorkflowRuntimeError extends Error {
  constructor(message, slug) {
    super(message);
    this.name = "WorkflowRuntimeError";
    if (slug) this.slug = slug;
  }
}

// ---------------------------------------------------------------- durations

const UNITS = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60000,
  min: 60000,
  mins: 60000,
  minute: 60000,
  minutes: 60000,
  h: 3600000,
  hr: 3600000,
  hrs: 3600000,
  hour: 3600000,
  hours: 3600000,
  d: 86400000,
  day: 86400000,
  days: 86400000,
  w: 604800000,
  week: 604800000,
  weeks: 604800000,
  y: 31557600000,
  yr: 31557600000,
  yrs: 31557600000,
  year: 31557600000,
  years: 31557600000,
};

function parseDuration(text) {
  const m = /^\s*(-?\d*\.?\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = (m[2] || "ms").toLowerCase();
  if (!(unit in UNITS)) return undefined;
  return Number(m[1]) * UNITS[unit];
}

// The latest instant the host can store (9999-12-31T23:59:59.999Z, the limit of ISO-8601
// years the host formats); a later or negative one is a RangeError in the workflow.
const MAX_TIME = 253402300799999;

function inRange(at, what) {
  if (!(at >= 0 && at <= MAX_TIME)) {
    throw new RangeError(`${what}: the resume time ${at} is out of range (0 to ${MAX_TIME}, years 1970-9999)`);
  }
  return at;
}

/** Absolute epoch ms for a sleep/retry argument: duration string, ms number or Date. */
function resolveTime(value, what) {
  return inRange(resolveTimeRaw(value, what), what);
}

function resolveTimeRaw(value, what) {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(`${what}: expected a non-negative number of milliseconds, got ${value}`);
    }
    return clock.now + value;
  }
  if (typeof value === "string") {
    const ms = parseDuration(value);
    if (ms !== undefined && ms >= 0) return clock.now + ms;
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return at;
    throw new TypeError(`${what}: invalid duration "${value}" (use e.g. "500ms", "10s", "5m", "2h", "1d")`);
  }
  if (value instanceof Date) {
    const at = value.getTime();
    if (Number.isNaN(at)) throw new TypeError(`${what}: invalid Date`);
    return at;
  }
  throw new TypeError(`${what}: expected a duration string, a number of ms or a Date`);
}

// ---------------------------------------------------------------- consumer

function subscribe(fn) {
  S.subscriptions++;
  push(S.callbacks, fn);
}

function nextCorrelationId(prefix) {
  return `${prefix}_${S.ulid(S.ctx.startedAt)}`;
}

function failWorkflow(error, code) {
  if (S.status !== "running") return;
  S.status = "failed";
  S.failure = { error, code };
}

function unexpected(kind, cid, ev) {
  failWorkflow(
    new WorkflowRuntimeError(
      `Unexpected event type for ${kind} ${cid}: ${ev.eventType} (corrupted or divergent event log)`,
      "corrupted-event-log",
    ),
    "RUNTIME_ERROR",
  );
}

const shortOf = (name) => String(name).slice(String(name).lastIndexOf("//") + 2);
const clip = (text) => (text.length > 120 ? `${text.slice(0, 117)}...` : text);

/** The log and the code disagree about the call an event belongs to. */
function diverge(ev, expected, actual) {
  failWorkflow(
    new WorkflowRuntimeError(
      `Divergent event log at event #${(S.offset || 0) + S.idx} (${ev.eventType} ${ev.eventId}): the log has ${expected}, the code makes ${actual}`,
      "corrupted-event-log",
    ),
    "RUNTIME_ERROR",
  );
  if (S.failure) S.failure.divergence = { index: (S.offset || 0) + S.idx, expected, actual };
}

function decode(text) {
  return parse(text, VALUE_REVIVERS); // VALUE_REVIVERS: a Run returned by a step (streams block)
}

// ---------------------------------------------------------------- primitives

const STEP_PREFIX = "step//./steps//";

/** useStep(name) -> async function scheduling the Python step `name`. */
export function useStep(name) {
  if (typeof name !== "string" || !name) throw new TypeError("useStep(name): name must be a non-empty string");
  const stepName = name.includes("//") ? name : STEP_PREFIX + name;
  const shortName = stepName.slice(stepName.lastIndexOf("//") + 2);
  const proxy = {
    [shortName](...args) {
      return callStep(stepName, args);
    },
  }[shortName];
  Object.defineProperty(proxy, "stepId", { value: stepName, enumerable: false });
  return proxy;
}

function callStep(stepName, args) {
  const correlationId = nextCorrelationId("step");
  let input;
  try {
    input = stringify({ args, closureVars: undefined, thisVal: undefined }, STEP_ARG_REDUCERS);
  } catch (err) {
    return promiseReject(new TypeError(`step ${stepName.slice(stepName.lastIndexOf("//") + 2)}: ${err.message}`));
  }
  const item = { type: "step", correlationId, stepName, input, hasCreatedEvent: false };
  apply(mapSet, S.queue, [correlationId, item]);
  return new PromiseCtor((resolve, reject) => {
    subscribe((ev) => {
      if (ev.correlationId !== correlationId) return NOT_CONSUMED;
      switch (ev.eventType) {
        case "step_created":
          if (ev.d && ev.d.stepName !== undefined && ev.d.stepName !== stepName) {
            diverge(ev, `step ${shortOf(ev.d.stepName)}`, `step ${shortOf(stepName)}`);
            return FINISHED;
          }
          if (ev.d && ev.d.input !== undefined && ev.d.input !== input) {
            diverge(ev, `step ${shortOf(stepName)} with input ${clip(ev.d.input)}`, `step ${shortOf(stepName)} with input ${clip(input)}`);
            return FINISHED;
          }
          item.hasCreatedEvent = true;
          item.input = undefined; // in the log now: do not keep a second copy in the heap
          return CONSUMED;
        case "step_started":
        case "step_retrying":
          return CONSUMED;
        case "step_completed":
          apply(mapDelete, S.queue, [correlationId]);
          deliver(() => resolve(decode(ev.d.result)), reject);
          return FINISHED;
        case "step_failed":
          apply(mapDelete, S.queue, [correlationId]);
          deliver(() => reject(decode(ev.d.error)), reject);
          return FINISHED;
        default:
          unexpected("step", correlationId, ev);
          return FINISHED;
      }
    });
  });
}

/** A payload that fails to decode rejects the awaiting promise instead of breaking the VM. */
function deliver(fn, reject) {
  S.delivered = true;
  try {
    fn();
  } catch (err) {
    reject(new FatalError(`Failed to hydrate payload: ${err && err.message}`));
  }
}

/** sleep(duration | ms | Date): a durable timer. */
export function sleep(duration) {
  const resumeAt = resolveTime(duration, "sleep");
  const correlationId = nextCorrelationId("wait");
  const item = { type: "wait", correlationId, resumeAt, hasCreatedEvent: false };
  apply(mapSet, S.queue, [correlationId, item]);
  return new PromiseCtor((resolve) => {
    subscribe((ev) => {
      if (ev.correlationId !== correlationId) return NOT_CONSUMED;
      if (ev.eventType === "wait_created") {
        item.hasCreatedEvent = true;
        if (ev.d && typeof ev.d.resumeAt === "number") item.resumeAt = ev.d.resumeAt; // the log wins
        return CONSUMED;
      }
      if (ev.eventType === "wait_completed") {
        apply(mapDelete, S.queue, [correlationId]);
        S.delivered = true;
        resolve(undefined);
        return FINISHED;
      }
      unexpected("sleep", correlationId, ev);
      return FINISHED;
    });
  });
}

/** createHook({token?, metadata?}): a thenable, async-iterable external event source. */
export function createHook(options = {}) {
  return makeHook(options, {});
}

// Hooks with a host-side policy (a JSON Schema for payloads, a webhook's static response) carry
// it in their stored metadata under this key, beside the user's metadata; the host reads it
// before recording a payload (wfctl/hookpolicy.py). Webhooks are hooks with isWebhook: true.
const POLICY_KEY = "$wfctl";

function makeHook(options, { isWebhook = false, policy = null, correlationId = null }) {
  correlationId = correlationId || nextCorrelationId("hook");
  const token = options.token === undefined ? S.nanoid() : String(options.token);
  let metadata;
  if (policy) {
    const wrapped = { [POLICY_KEY]: policy };
    if (options.metadata !== undefined) wrapped.metadata = options.metadata;
    metadata = stringify(wrapped);
  } else if (options.metadata !== undefined) {
    metadata = stringify(options.metadata);
  }
  const item = { type: "hook", correlationId, token, metadata, isWebhook, hasCreatedEvent: false, disposed: false };
  apply(mapSet, S.queue, [correlationId, item]);
  const buffered = []; // payload texts received before anyone awaited
  const waiting = []; // {resolve, reject}
  let conflict = null;
  let disposedInLog = false;

  subscribe((ev) => {
    if (ev.correlationId !== correlationId) return NOT_CONSUMED;
    switch (ev.eventType) {
      case "hook_created":
        if (ev.d && ev.d.token !== undefined && ev.d.token !== token) {
          diverge(ev, `hook with token "${ev.d.token}"`, `hook with token "${token}"`);
          return FINISHED;
        }
        item.hasCreatedEvent = true;
        return CONSUMED;
      case "hook_conflict":
        apply(mapDelete, S.queue, [correlationId]);
        conflict = new Error(`Hook token "${token}" is already in use by another workflow`);
        conflict.name = "HookConflictError";
        S.delivered = true;
        for (const w of apply(arraySplice, waiting, [0])) w.reject(conflict);
        return CONSUMED;
      case "hook_received":
        if (waiting.length) {
          const w = waiting.shift();
          deliver(() => w.resolve(decode(ev.d.payload)), w.reject);
        } else {
          push(buffered, ev.d.payload);
        }
        return CONSUMED;
      case "hook_disposed":
        apply(mapDelete, S.queue, [correlationId]);
        disposedInLog = true;
        return FINISHED;
      default:
        unexpected("hook", correlationId, ev);
        return FINISHED;
    }
  });

  const next = () =>
    new Promise((resolve, reject) => {
      if (conflict) return reject(conflict);
      if (buffered.length) {
        const text = buffered.shift();
        try {
          return resolve(decode(text));
        } catch (err) {
          return reject(new FatalError(`Failed to hydrate payload: ${err && err.message}`));
        }
      }
      if (item.disposed || disposedInLog) return; // a disposed hook never delivers again
      push(waiting, { resolve, reject });
    });

  const dispose = () => {
    if (item.disposed || disposedInLog) return;
    item.disposed = true;
    waiting.length = 0;
  };

  const hook = {
    token,
    then(onFulfilled, onRejected) {
      return next().then(onFulfilled, onRejected);
    },
    [Symbol.asyncIterator]() {
      return {
        next: async () => {
          if (item.disposed || disposedInLog) return { done: true, value: undefined };
          return { done: false, value: await next() };
        },
        return: async () => ({ done: true, value: undefined }),
      };
    },
    dispose,
  };
  if (Symbol.dispose) hook[Symbol.dispose] = dispose;
  return hook;
}

const WEBHOOK_PATH = "/.well-known/workflow/v1/webhook/";

/**
 * createWebhook({respondWith?, schema?}): a hook resumed by an HTTP request to `hook.url`
 * (served by `wfctl serve`). Awaiting it yields {method, url, headers, body, json?}.
 * The token is drawn from the run's secret seed (recorded when the run was created), so it is
 * stable on replay but cannot be derived from the run id.
 */
export function createWebhook(options = {}) {
  if (options.token !== undefined) throw new TypeError("createWebhook() does not accept a token option");
  if (options.metadata !== undefined) throw new TypeError("createWebhook() does not accept a metadata option");
  const policy = {};
  if (options.respondWith !== undefined) policy.respondWith = staticResponse(options.respondWith);
  if (options.schema !== undefined) policy.schema = checkSchema(options.schema, "createWebhook");
  const correlationId = nextCorrelationId("hook");
  const secret = S.ctx.hookSecret;
  const token = secret ? nanoidFactory(seededRandom(`${secret}:${correlationId}`))() : S.nanoid();
  const hook = makeHook({ token }, { isWebhook: true, policy: Object.keys(policy).length ? policy : null, correlationId });
  const base = S.ctx.url ? String(S.ctx.url).replace(/\/+$/, "") : "";
  hook.url = base + WEBHOOK_PATH + encodeURIComponent(token);
  return hook;
}

function staticResponse(r) {
  if (r === null || typeof r !== "object") {
    throw new TypeError("createWebhook({respondWith}): expected {status?, headers?, body?}");
  }
  const status = r.status === undefined ? 200 : r.status;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new TypeError(`createWebhook({respondWith}): status must be an integer in 200..599, got ${status}`);
  }
  const headers = {};
  for (const [k, v] of Object.entries(r.headers || {})) headers[String(k)] = String(v);
  let body = r.body === undefined || r.body === null ? "" : r.body;
  if (typeof body !== "string") {
    body = jsonStringify(body);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
  }
  return { status, headers, body };
}

function checkSchema(schema, what) {
  if (schema === true || schema === false) return schema;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new TypeError(`${what}({schema}): expected a JSON Schema object`);
  }
  try {
    return jsonParse(jsonStringify(schema));
  } catch (err) {
    throw new TypeError(`${what}({schema}): the schema must be plain JSON (${err.message})`);
  }
}

/**
 * defineHook({schema}) at module level; `.create({token?, metadata?})` inside a workflow makes a
 * hook (awaited like createHook) whose payloads are validated against the JSON Schema on the host
 * before anything is recorded: an invalid payload is refused and the run is left untouched.
 */
export function defineHook(definition = {}) {
  const schema = definition.schema === undefined ? undefined : checkSchema(definition.schema, "defineHook");
  return Object.freeze({
    schema,
    create(options = {}) {
      return makeHook(options, { policy: schema === undefined ? null : { schema } });
    },
  });
}

export function getWorkflowMetadata() {
  const c = S.ctx;
  return {
    workflowName: c.workflowName,
    workflowRunId: c.runId,
    workflowStartedAt: new Date(c.startedAt),
    features: { encryption: !!c.encryption },
  };
}

// ---------------------------------------------------------------- streams and child runs
// (owner: streams; see docs/STREAMS.md)

/** The handle getWritable() returns: inert here, a writer in the step that receives it. */
class WorkflowWritableStream {
  constructor(name, namespace) {
    this.name = name;
    this.namespace = namespace;
  }
  getWriter() {
    throw new WorkflowRuntimeError("a stream is written by steps: pass getWritable() to a step");
  }
}

/** Run handle of a child workflow started with start(). */
export class Run {
  constructor(runId) {
    this.runId = runId;
    this._returnValue = undefined;
  }
  /** Resolves with the child's return value; rejects when it fails or is cancelled. */
  get returnValue() {
    if (!this._returnValue) this._returnValue = awaitChild(this.runId);
    return this._returnValue;
  }
  /** The child's status, read durably (recorded as a step). */
  get status() {
    return callStep(STATUS_STEP, [this.runId]);
  }
}

const VALUE_REVIVERS = { Run: (v) => new Run(v.runId) };

const STEP_ARG_REDUCERS = {
  after: {
    WritableStream: (v) => v instanceof WorkflowWritableStream && { name: v.name },
    Run: (v) => v instanceof Run && { runId: v.runId },
  },
};

function utf8Bytes(text) {
  const bin = unescape(encodeURIComponent(text));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** getWritable({namespace?}): the run's stream (reference name strm_<runULID>_user[_<b64url ns>]). */
export function getWritable(options = {}) {
  const namespace = options && options.namespace;
  if (namespace !== undefined && typeof namespace !== "string") {
    throw new TypeError(`getWritable: namespace must be a string, got ${typeof namespace}`);
  }
  let name = `strm_${S.ctx.runId.replace(/^wrun_/, "")}_user`;
  if (namespace) {
    const b64 = bytesToBase64(utf8Bytes(namespace)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    name += `_${b64}`;
  }
  return new WorkflowWritableStream(name, namespace);
}

const START_STEP = "step//wfctl//start";
const STATUS_STEP = "step//wfctl//runStatus";
const CHILD_TOKEN_PREFIX = "wfctl:child:";

const workflowShort = (name) => (name.includes("//") ? name.slice(name.lastIndexOf("//") + 2) : name);

class WorkflowNotRegisteredError extends Error {
  constructor(message) {
    super(message);
    this.name = "WorkflowNotRegisteredError";
  }
}

/** start(workflowFn | name, args?): create a child run durably; resolves with its Run handle. */
export function start(workflow, args = []) {
  let name;
  if (typeof workflow === "function") {
    for (const [k, fn] of S.workflows) if (fn === workflow) name = k;
    if (name === undefined && typeof workflow.workflowId === "string") name = workflowShort(workflow.workflowId);
    if (name === undefined) name = workflow.name;
  } else if (typeof workflow === "string") {
    name = workflowShort(workflow);
  } else {
    return Promise.reject(new TypeError("start(workflow, args): workflow must be an exported workflow function or its name"));
  }
  if (!S.workflows.has(name)) {
    const known = [...S.workflows.keys()].join(", ") || "none";
    return Promise.reject(new WorkflowNotRegisteredError(`start(): "${name}" is not an exported workflow (exported workflows: ${known})`));
  }
  if (!Array.isArray(args)) return Promise.reject(new TypeError("start(workflow, args): args must be an array"));
  S.children = (S.children || 0) + 1;
  const limit = S.ctx.maxChildren === undefined ? 1000 : S.ctx.maxChildren;
  if (S.children > limit) {
    const e = new Error(`run ${S.ctx.runId} tried to start more than ${limit} child runs (limit: WFCTL_MAX_CHILDREN)`);
    e.name = "ChildLimitError";
    return Promise.reject(e);
  }
  return callStep(START_STEP, [name, args]).then((runId) => new Run(runId));
}

const childWaits = new Map(); // runId -> promise, while awaited: two Run objects share one hook

function awaitChild(runId) {
  const pendingWait = childWaits.get(runId);
  if (pendingWait) return pendingWait;
  const hook = createHook({ token: CHILD_TOKEN_PREFIX + runId });
  const result = hook.then((p) => {
    hook.dispose();
    if (p.status === "completed") return parse(p.output);
    if (p.status === "cancelled") {
      const e = new Error(`Workflow run "${runId}" cancelled`);
      e.name = "WorkflowRunCancelledError";
      e.runId = runId;
      throw e;
    }
    let cause;
    try {
      cause = p.error !== undefined ? parse(p.error) : undefined;
    } catch {
      cause = undefined;
    }
    const msg = (cause && cause.message) || p.message || "";
    const e = new Error(`Workflow run "${runId}" failed: ${msg}`, cause === undefined ? undefined : { cause });
    e.name = "WorkflowRunFailedError";
    e.runId = runId;
    throw e;
  });
  childWaits.set(runId, result);
  const forget = () => childWaits.delete(runId);
  result.then(forget, forget);
  return result;
}

// ---------------------------------------------------------------- sandbox

function forbidden(name, hint) {
  return function () {
    throw new WorkflowRuntimeError(
      `${name} is not available inside a workflow: ${hint}`,
      "timeout-in-workflow",
    );
  };
}
for (const name of ["setTimeout", "setInterval", "setImmediate", "clearTimeout", "clearInterval"]) {
  globalThis[name] = forbidden(name, 'use sleep() from "workflow" for durable timers');
}
globalThis.fetch = forbidden("fetch", "do I/O in a Python step");
for (const name of ["std", "os", "bjson", "scriptArgs", "execArgv"]) delete globalThis[name];

// ---------------------------------------------------------------- host interface

function encodeError(err) {
  try {
    return stringify(err);
  } catch {
    const e = new Error(String(err && err.message ? err.message : err));
    return stringify(e);
  }
}

function text(v) {
  try {
    return typeof v === "string" ? v : `${v}`;
  } catch {
    return "<unprintable>";
  }
}

function describeError(err) {
  try {
    if (err instanceof Error) return { name: text(err.name), message: text(err.message), stack: text(err.stack || "") };
  } catch {
    return { name: "Error", message: "<unreadable error>", stack: "" };
  }
  let message;
  try {
    message = jsonStringify(err);
  } catch {
    message = text(err);
  }
  return { name: "Error", message: text(message), stack: "" };
}

globalThis.__wf_bind = () => {
  const namespace = globalThis.__wf_app;
  delete globalThis.__wf_app;
  const names = objectKeys(namespace);
  for (let i = 0; i < names.length; i++) {
    const value = namespace[names[i]];
    if (typeof value === "function") apply(mapSet, S.workflows, [names[i], value]);
  }
};

const workflowNames = () => {
  const out = [];
  apply(mapForEach, S.workflows, [(_v, k) => push(out, k)]);
  return out;
};

globalThis.__wf_workflows = () => wire(workflowNames());

globalThis.__wf_init = (json) => {
  const ctx = jsonParse(json);
  S.ctx = ctx;
  clock.now = ctx.startedAt;
  clock.origin = ctx.startedAt;
  rng.impl = seededRandom(`${ctx.runId}:${ctx.workflowName}:${ctx.startedAt}`);
  S.ulid = monotonicUlid(() => rng.next());
  S.nanoid = nanoidFactory(() => rng.next());
  S.status = "running";
  // run_created / run_started belong to the runtime itself
  subscribe((ev) =>
    ev.eventType === "run_created" || ev.eventType === "run_started" ? CONSUMED : NOT_CONSUMED,
  );
  const fn = apply(mapGet, S.workflows, [ctx.workflowExport]);
  if (!fn) {
    const known = workflowNames().join(", ") || "none";
    const e = new Error(`Workflow "${ctx.workflowExport}" is not registered (exported workflows: ${known})`);
    e.name = "WorkflowNotRegisteredError";
    failWorkflow(e, "RUNTIME_ERROR");
    return;
  }
  let args;
  try {
    args = parse(ctx.input);
  } catch (err) {
    failWorkflow(new WorkflowRuntimeError(`cannot decode the run input: ${err.message}`), "RUNTIME_ERROR");
    return;
  } finally {
    ctx.input = undefined; // decoded: the text would be a second copy in every snapshot
  }
  if (!isArray(args)) args = [args];
  let promise;
  try {
    promise = promiseResolve(fn(...args));
  } catch (err) {
    promise = promiseReject(err);
  }
  apply(promiseThen, promise, [
    (value) => {
      if (S.status !== "running") return;
      try {
        S.result = stringify(value);
        S.status = "completed";
      } catch (err) {
        failWorkflow(new TypeError(`workflow ${ctx.workflowExport} returned a value that cannot be serialized: ${err.message}`), "USER_ERROR");
      }
    },
    (err) => failWorkflow(err, isRuntimeError(err) ? "RUNTIME_ERROR" : "USER_ERROR"),
  ]);
};

function isRuntimeError(err) {
  try {
    return apply(setHas, RUNTIME_ERROR_NAMES, [err && err.name]);
  } catch {
    return false;
  }
}

globalThis.__wf_feed = (json) => {
  // Consumed events are never looked at again: drop them so the heap (and every snapshot)
  // does not grow with the length of the log.
  if (S.idx > 0) {
    S.events = apply(arraySlice, S.events, [S.idx]);
    if (S.blocked) S.blocked.idx -= S.idx;
    S.offset = (S.offset || 0) + S.idx;
    S.idx = 0;
  }
  const events = jsonParse(json);
  for (let i = 0; i < events.length; i++) push(S.events, events[i]);
};

globalThis.__wf_tick = () => {
  while (S.idx < S.events.length) {
    const finished = S.status !== "running";
    if (finished && (!S.ctx.verify || S.trailing)) {
      S.idx = S.events.length; // a finished workflow ignores the rest of the log
      return 0;
    }
    const ev = S.events[S.idx];
    clock.now = ev.createdAt;
    S.delivered = false;
    let taken = false;
    for (let i = 0; i < S.callbacks.length; i++) {
      const r = S.callbacks[i](ev);
      if (r === NOT_CONSUMED) continue;
      if (r === FINISHED) apply(arraySplice, S.callbacks, [i, 1]);
      taken = true;
      break;
    }
    if (!taken) {
      if (S.blocked && S.blocked.idx === S.idx && S.blocked.subscriptions === S.subscriptions) {
        if (finished) {
          // Verifying (wfctl replay): the log goes on where the code already finished.
          const index = (S.offset || 0) + S.idx;
          S.trailing = { index, eventId: ev.eventId, eventType: ev.eventType, correlationId: ev.correlationId };
          S.idx = S.events.length;
          return 0;
        }
        failWorkflow(
          new WorkflowRuntimeError(
            `Unconsumed event in event log: eventType=${ev.eventType}, correlationId=${ev.correlationId}, eventId=${ev.eventId} (corrupted or divergent event log: the workflow code never made the call this event belongs to)`,
            "corrupted-event-log",
          ),
          "RUNTIME_ERROR",
        );
        S.failure.eventIndex = (S.offset || 0) + S.idx;
        S.failure.eventId = ev.eventId;
        return 0;
      }
      S.blocked = { idx: S.idx, subscriptions: S.subscriptions };
      return 2;
    }
    S.blocked = null;
    S.idx++;
    if (S.delivered) return 1;
  }
  return 0;
};

globalThis.__wf_state = () => {
  if (S.status === "completed") return wire({ status: "completed", result: S.result, trailing: S.trailing });
  if (S.status === "failed") {
    const { error, code, eventIndex, eventId, divergence } = S.failure;
    const described = describeError(error);
    const pending = [];
    const all = mapValues(S.queue);
    for (let i = 0; i < all.length; i++) if (!all[i].hasCreatedEvent) push(pending, all[i]);
    return wire({
      status: "failed",
      code,
      error: encodeError(error),
      name: described.name,
      message: described.message,
      stack: described.stack,
      eventIndex,
      eventId,
      divergence,
      trailing: S.trailing,
      pending,
    });
  }
  return wire({ status: "suspended", pending: mapValues(S.queue), consumed: S.idx });
};
