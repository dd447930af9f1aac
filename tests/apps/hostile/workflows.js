// Hostile workflows (issue 14): each one does something a workflow — or a library it imports —
// might do by accident, and which must never hang, crash or confuse the host.
import { sleep, useStep } from "workflow";

const echo = useStep("echo");
const brokenStr = useStep("broken_str");
const cyclicCause = useStep("cyclic_cause");
const exits = useStep("exits");
const interrupts = useStep("interrupts");
const deepValue = useStep("deep_value");

// Module top level, as a library would: replace the protocol globals (the host captured them
// before this module ran, so these are plain unused globals now).
globalThis.__wf_tick = () => 1;
globalThis.__wf_state = () => "garbage";

export async function healthy(n) {
  return (await echo(n)) + 1;
}

/** Defect 1: replace the host's entry points from inside a run. */
export async function hijackProtocol() {
  globalThis.__wf_tick = () => 1;
  globalThis.__wf_feed = () => {};
  globalThis.__wf_init = () => {};
  Object.defineProperty(globalThis, "__wf_state", { get: () => () => "{}", configurable: true });
  return `survived ${await echo("x")}`;
}

/** Defect 1: replace JSON.* (a bad polyfill). */
export async function breakJson() {
  JSON.stringify = () => "{";
  JSON.parse = () => ({ status: "completed" });
  const v = await echo({ a: [1, 2] });
  return v.a.length;
}

/** Defect 1: prototype pollution, as a careless library might do. */
export async function pollute() {
  Object.prototype.toJSON = () => "polluted";
  Object.prototype.status = "completed";
  Array.prototype.push = () => 0;
  Map.prototype.set = () => null;
  Promise.prototype.then = function () {
    return this;
  };
  const v = await echo(5);
  return v * 2;
}

/** A runaway loop: the per-call budget. */
export async function spin() {
  for (;;) {}
}

/** Defect 11: one long builtin call (no interrupt poll inside). */
export async function bigSort(n) {
  const a = new Array(n);
  for (let i = 0; i < n; i++) a[i] = (i * 7919) % 1000003;
  a.sort();
  return a.length;
}

/** A wasm trap: runaway recursion. */
export async function trap() {
  const f = (n) => f(n + 1) + 1;
  return f(0);
}

/** A promise nothing can settle. */
export async function neverSettles() {
  await new Promise(() => {});
}

/** Defect 4: GC-timing builtins are not there. */
export async function gcProbe() {
  return [typeof WeakRef, typeof FinalizationRegistry, typeof globalThis.WeakRef];
}

/** Defect 2: out-of-range sleeps are a catchable RangeError. */
export async function sleepFar(what) {
  const arg = what === "date" ? new Date(8.64e15) : what === "number" ? 1e300 : "99999999999y";
  try {
    await sleep(arg);
    return "slept";
  } catch (err) {
    return `${err.name}: ${err.message}`;
  }
}

export async function sleepFarUncaught() {
  await sleep(new Date(8.64e15));
}

/** Defect 2: steps failing in unusual ways. */
export async function badStep(kind) {
  const step = { str: brokenStr, cycle: cyclicCause, exit: exits, interrupt: interrupts }[kind];
  return step();
}

/** Defect 12: a step returning a very deep value. */
export async function deepStep(n) {
  const v = await deepValue(n);
  return Array.isArray(v);
}

/** Defect 12: module errors do not show the host's paths. */
export async function importMissing() {
  try {
    await import("./no-such-module.js");
    return "imported";
  } catch (err) {
    return String(err && err.message);
  }
}

/** Defect 6: a lone surrogate in the output. */
export async function surrogate(s) {
  return `${s}\uD800!`;
}

/** A hook run (for the damaged hook-file test). */
export { waitHook } from "./hooks.js";

/** Defect 12: a large argument (given with --input @file) is stored once. */
export async function size(s) {
  return s.length;
}

/** Defect 12: a large argument passed through a step and held across a suspension. */
export async function sizeHeld(s) {
  const back = await echo(s);
  await sleep("1h");
  return back.length;
}
