import { useStep, getWritable, start, sleep, createHook, getWorkflowMetadata } from "workflow";

const emit = useStep("emit");
const emitAsync = useStep("emitAsync");
const flakyEmit = useStep("flakyEmit");
const closeIt = useStep("closeIt");
const writeAfterClose = useStep("writeAfterClose");
const writeBad = useStep("writeBad");
const emitInside = useStep("emitInside");
const add = useStep("add");

// rows 27-29: bytes then an object on the default stream, text and an object on a named one
export async function outputStream() {
  const out = getWritable();
  const named = getWritable({ namespace: "test" });
  await emit(out, [{ bytes: "Hello, world!" }]);
  await emit(named, ["Hello, named stream!"]);
  await emit(out, [{ foo: "test" }]);
  await emit(named, [{ foo: "bar" }]);
  await closeIt(out);
  await closeIt(named);
  return "done";
}

export async function slowStream(n, ms) {
  const out = getWritable();
  for (let i = 0; i < n; i++) {
    await emit(out, [`${i}\n`]);
    if (ms) await sleep(ms);
  }
  await closeIt(out);
  return n;
}

export async function asyncStream() {
  await emitAsync(getWritable(), ["a", { b: 2 }, { bytes: "c" }]);
  return "ok";
}

export async function retriedStream() {
  await flakyEmit(getWritable());
  return "ok";
}

export async function insideStep() {
  await emitInside();
  return "ok";
}

export async function closedTwice() {
  const out = getWritable();
  await closeIt(out);
  try {
    await writeAfterClose(out);
    return "wrote";
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
}

export async function badChunk() {
  try {
    await writeBad(getWritable());
    return "wrote";
  } catch (e) {
    return e.message;
  }
}

export async function badNamespace() {
  return getWritable({ namespace: 42 });
}

// ---- child workflows

export async function double(v) {
  return { childResult: v * 2, originalValue: v };
}

export async function fibonacci(n) {
  if (n < 2) return n;
  const [a, b] = await Promise.all([start(fibonacci, [n - 1]), start("fibonacci", [n - 2])]);
  return (await a.returnValue) + (await b.returnValue);
}

export async function parentOfDouble(v) {
  const run = await start(double, [v]);
  const value = await run.returnValue;
  return { value, status: await run.status, runId: run.runId };
}

export async function waitsOnHook(token) {
  const v = await createHook({ token });
  return await add(v, 1);
}

export async function parentOfHookChild(token) {
  const run = await start(waitsOnHook, [token]);
  return { child: await run.returnValue };
}

export async function failing(msg) {
  throw new Error(`child says ${msg}`);
}

export async function parentCatches() {
  const run = await start(failing, ["no"]);
  try {
    await run.returnValue;
    return "not caught";
  } catch (e) {
    return { name: e.name, message: e.message, cause: e.cause && e.cause.message };
  }
}

export async function sleeper() {
  await sleep("1h");
  return 1;
}

export async function parentOfSleepers() {
  const a = await start(sleeper);
  const b = await start(sleeper);
  return [await a.returnValue, await b.returnValue];
}

export async function startUnknown() {
  try {
    await start("nope");
  } catch (e) {
    return `${e.name}: ${e.message}`;
  }
}

export async function manyChildren(n) {
  const runs = [];
  for (let i = 0; i < n; i++) runs.push(await start(double, [i]));
  return runs.length;
}

// ---- catalogue rows 24-26: a distributed abort controller (hook raced against a TTL)
const writeAbortSignal = useStep("writeAbortSignal");

export async function distributedAbort(id, ttlMs) {
  const hook = createHook({ token: `distributed-abort:${id}` });
  const result = await Promise.race([
    hook.then((p) => ({ reason: p.reason, expired: false })),
    sleep(ttlMs).then(() => ({ reason: "Controller expired", expired: true })),
  ]);
  await writeAbortSignal(getWritable(), result.reason, result.expired);
  return { aborted: true, reason: result.reason };
}

// ---- catalogue row 34: multi-byte UTF-8 in byte chunks plus a JSON chunk
const writeUtf8 = useStep("writeUtf8");

export async function utf8Stream() {
  await writeUtf8(getWritable());
  return "done";
}

// ---- catalogue row 70: start() from workflow code, the child signals the parent's hook
const signalParent = useStep("signalParent");

export async function startFromWorkflow(value) {
  const token = `parent-signal:${getWorkflowMetadata().workflowRunId}`;
  const hook = createHook({ token });
  const run = await start(processAndSignalParent, [token, value]);
  const payload = await hook;
  return { payload, childResult: await run.returnValue, childRunId: run.runId };
}

export async function processAndSignalParent(token, value) {
  await signalParent(token, { processed: value * 3 });
  return "signalled";
}

// ---- heap growth per child (snapshot runtime): n children awaited one by one, then a hook
export async function childrenThenHook(n, token) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const run = await start(double, [i]);
    sum += (await run.returnValue).childResult;
  }
  const more = await createHook({ token });
  return sum + more;
}

// the same shape with plain steps, to compare heap growth per operation
export async function stepsThenHook(n, token) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await add(i, i);
  const more = await createHook({ token });
  return sum + more;
}

// ---- catalogue row 69: Run handles cross the workflow/step boundary both ways
const inspectRun = useStep("inspectRun");
const passRun = useStep("passRun");

export async function runHandles(v) {
  const run = await start(double, [v]);
  await run.returnValue;
  const seen = await inspectRun(run);
  const back = await passRun(run);
  return { seen, isRun: back instanceof run.constructor, same: back.runId === run.runId, again: await back.returnValue };
}

// two Run objects for one child awaited at once share one wait
export async function twoHandles() {
  const run = await start(double, [3]);
  const other = await passRun(run);
  const [a, b] = await Promise.all([run.returnValue, other.returnValue]);
  return a.childResult + b.childResult;
}

// a parent racing a sleeping child against its own short timer
export async function napper(ms) {
  await sleep(ms);
  return ms;
}

export async function raceChild() {
  const run = await start(napper, [3000]);
  const winner = await Promise.race([run.returnValue.then(() => "child"), sleep(300).then(() => "timer")]);
  return winner;
}

// a stream never closed: followers end when the run ends
export async function unclosed() {
  await emit(getWritable(), ["only"]);
  return "ok";
}

// ---- catalogue row 68: a step starts a child run (wfctl.Client), another step awaits it
const spawnChild = useStep("spawnChild");
const awaitChildResult = useStep("awaitChildResult");

export async function spawnFromStep(v) {
  const runId = await spawnChild(v);
  return await awaitChildResult(runId);
}
