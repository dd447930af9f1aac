// Port of the Workflow DevKit e2e fixtures (workbench/example/workflows/99_e2e.ts) to wfctl.
// Steps are Python (steps.py); durations are shortened so the suite stays fast
// (see docs/CONFORMANCE.md for every adaptation).

import {
  createHook,
  createWebhook,
  FatalError,
  getWorkflowMetadata,
  RetryableError,
  sleep,
  useStep,
} from "workflow";
import { callThrower } from "./helpers.js";

const add = useStep("add");
const randomDelay = useStep("random_delay");
const specificDelay = useStep("specific_delay");
const stepThatFails = useStep("step_that_fails");
const nullByteStep = useStep("null_byte_step");
const stepWithMetadata = useStep("step_with_metadata");
const raceDelayStep = useStep("race_delay_step");
const retryUntilAttempt3 = useStep("retry_until_attempt3");
const throwFatalError = useStep("throw_fatal_error");
const throwRetryableError = useStep("throw_retryable_error");
const throwWithNoRetries = useStep("throw_with_no_retries");
const stepWithNoRetriesThatSucceeds = useStep("step_with_no_retries_that_succeeds");
const errorStepFn = useStep("error_step_fn");
const stepThatThrowsFromHelper = useStep("step_that_throws_from_helper");
const throwFatalWithCause = useStep("throw_fatal_with_cause");
const throwCustomException = useStep("throw_custom_exception");
const echo = useStep("echo");
const processPayload = useStep("process_payload");
const noopStep = useStep("noop_step");
const makeLarge = useStep("make_large");
const measure = useStep("measure");
const recordValues = useStep("record_values");
const importedStepOnly = useStep("imported_step_only");
const metadataHelperStep = useStep("metadata_helper_step");

// ------------------------------------------------------------------ basics (#1, #4–#6)

export async function addTenWorkflow(input) {
  const a = await add(input, 2);
  const b = await add(a, 3);
  const c = await add(b, 5);
  return c;
}

export async function promiseAllWorkflow() {
  const [a, b, c] = await Promise.all([randomDelay("a"), randomDelay("b"), randomDelay("c")]);
  return a + b + c;
}

// reference: 10 s / 100 ms / 20 s; here the slow ones are short but still far slower than "b"
export async function promiseRaceWorkflow(slowA = 800, fast = 50, slowC = 1200) {
  const winner = await Promise.race([
    specificDelay(slowA, "a"),
    specificDelay(fast, "b"), // "b" should always win
    specificDelay(slowC, "c"),
  ]);
  return winner;
}

export async function promiseAnyWorkflow() {
  const winner = await Promise.any([
    stepThatFails(),
    specificDelay(50, "b"), // "b" should always win
    specificDelay(600, "c"),
  ]);
  return winner;
}

// #7: a step that only a helper Python module defines (steps.py never names it)
export async function importedStepOnlyWorkflow() {
  return await importedStepOnly();
}

// #66: step metadata read from a module-level helper the step calls
export async function metadataFromHelperWorkflow(label) {
  return await metadataHelperStep(label);
}

// ------------------------------------------------------------------ sleeps (#9, #10, #80, #81)

export async function sleepingWorkflow(durationMs = 1000) {
  const startTime = Date.now();
  await sleep(durationMs);
  const endTime = Date.now();
  return { startTime, endTime };
}

export async function parallelSleepWorkflow() {
  const startTime = Date.now();
  await Promise.all(Array.from({ length: 10 }, () => sleep("1s")));
  const endTime = Date.now();
  return { startTime, endTime };
}

export async function sleepInLoopWorkflow(sleepMs = 500) {
  const iterations = 3;
  const timestamps = [];
  for (let i = 0; i < iterations; i++) {
    const result = await noopStep(i);
    timestamps.push(result.ts);
    if (i < iterations - 1) {
      await sleep(sleepMs);
    }
  }
  const totalElapsed = timestamps[timestamps.length - 1] - timestamps[0];
  return { timestamps, totalElapsed };
}

export async function sleepWithSequentialStepsWorkflow() {
  let shouldCancel = false;
  void sleep("1d").then(() => {
    shouldCancel = true;
  });
  const a = await add(1, 2);
  const b = await add(a, 3);
  const c = await add(b, 4);
  return { a, b, c, shouldCancel };
}

// ------------------------------------------------------------------ values (#11, #12, large)

export async function nullByteWorkflow() {
  const a = await nullByteStep();
  return a;
}

export async function workflowAndStepMetadataWorkflow() {
  const workflowMetadata = getWorkflowMetadata();
  const stepMetadata = await stepWithMetadata();
  const after = getWorkflowMetadata();
  return {
    workflowMetadata,
    stepMetadata,
    sameAfterStep:
      after.workflowName === workflowMetadata.workflowName &&
      after.workflowRunId === workflowMetadata.workflowRunId &&
      after.workflowStartedAt.getTime() === workflowMetadata.workflowStartedAt.getTime(),
    keys: Object.keys(workflowMetadata).sort(),
  };
}

export async function largePayloadWorkflow(input) {
  // 1 MB in (run input) -> step -> workflow; 1 MB made by a step -> workflow -> step
  const echoed = await echo(input);
  const made = await makeLarge(input.length);
  const measured = await measure(made);
  return {
    inputLength: input.length,
    echoedSame: echoed === input,
    madeLength: made.length,
    measured,
    head: made.slice(0, 16),
  };
}

// ------------------------------------------------------------------ #14 race stress

export async function promiseRaceStressTestWorkflow(stepMs = 100) {
  const promises = new Map();
  const done = [];
  for (let i = 0; i < 5; i++) {
    promises.set(i, raceDelayStep(stepMs * i, i));
  }
  while (promises.size > 0) {
    const res = await Promise.race(promises.values());
    done.push(res);
    promises.delete(res);
  }
  return done;
}

// ------------------------------------------------------------------ hooks (#15, #19–#23)
// As in the reference, `using` disposes the hook (and releases its token) at block exit;
// QuickJS-NG implements explicit resource management natively.

export async function hookWorkflow(token, customData) {
  using hook = createHook({ token, metadata: { customData } });
  const payloads = [];
  for await (const payload of hook) {
    payloads.push(payload);
    if (payload.done) {
      break;
    }
  }
  return payloads;
}

export async function hookCleanupTestWorkflow(token, customData) {
  using hook = createHook({ token, metadata: { customData } });
  const payload = await hook;
  return {
    message: payload.message,
    customData: payload.customData,
    hookCleanupTestData: "workflow_completed",
  };
}

export async function hookDisposeTestWorkflow(token, customData, sleepFor = "1s") {
  let message;
  let customDataResult;
  {
    // block scope: the token is released when the block exits, while this run keeps going
    using hook = createHook({ token, metadata: { customData } });
    const payload = await hook;
    message = payload.message;
    customDataResult = payload.customData;
  }
  await sleep(sleepFor);
  return {
    message,
    customData: customDataResult,
    disposed: true,
    hookDisposeTestData: "workflow_completed",
  };
}

// the same, disposing by hand instead of with `using`
export async function hookExplicitDisposeWorkflow(token, sleepFor = "1s") {
  const hook = createHook({ token });
  let payload;
  try {
    payload = await hook;
  } finally {
    hook.dispose();
  }
  await sleep(sleepFor);
  return { payload, disposed: true };
}

export async function hookWithSleepWorkflow(token) {
  using hook = createHook({ token });
  void sleep("1d"); // concurrent sleep that never completes during the test
  const results = [];
  for await (const payload of hook) {
    const result = await processPayload(payload);
    results.push(result);
    if (payload.done) {
      break;
    }
  }
  return results;
}

export async function hookWithSleepFinalStepWorkflow(token) {
  using hook = createHook({ token });
  void sleep("1d");
  const seen = [];
  let finalResult = null;
  for await (const payload of hook) {
    seen.push(payload.id);
    if (payload.done) {
      finalResult = await processPayload({ type: "final", id: payload.id });
      break;
    }
  }
  return { seen, finalResult };
}

// ------------------------------------------------------------------ error handling (#35–#51)

function errorNested3() {
  throw new Error("Nested workflow error");
}
function errorNested2() {
  errorNested3();
}
function errorNested1() {
  errorNested2();
}

export async function errorWorkflowNested() {
  errorNested1();
  return "never reached";
}

export async function errorWorkflowCrossFile() {
  callThrower(); // from helpers.js
  return "never reached";
}

export async function errorStepBasic() {
  try {
    await errorStepFn();
    return { caught: false, message: null, stack: null };
  } catch (e) {
    return { caught: true, message: e.message, stack: e.stack, name: e.name };
  }
}

export async function errorStepCrossFile() {
  try {
    await stepThatThrowsFromHelper();
    return { caught: false, message: null, stack: null };
  } catch (e) {
    return { caught: true, message: e.message, stack: e.stack };
  }
}

export async function errorRetrySuccess() {
  const attempt = await retryUntilAttempt3();
  return { finalAttempt: attempt };
}

export async function errorRetryFatal() {
  await throwFatalError();
  return "never reached";
}

export async function errorRetryCustomDelay(retryAfter = "2s") {
  return await throwRetryableError(retryAfter);
}

export async function errorRetryDisabled() {
  try {
    await throwWithNoRetries();
    return { failed: false, attempt: null };
  } catch (e) {
    const match = e.message?.match(/attempt (\d+)/);
    return { failed: true, attempt: match ? parseInt(match[1], 10) : null, message: e.message };
  }
}

export async function maxRetriesZeroWorkflow() {
  const successResult = await stepWithNoRetriesThatSucceeds();
  let failedAttempt = null;
  let gotError = false;
  try {
    await throwWithNoRetries();
  } catch (error) {
    gotError = true;
    const match = error.message?.match(/attempt (\d+)/);
    if (match) failedAttempt = parseInt(match[1], 10);
  }
  return { successResult, gotError, failedAttempt };
}

export async function errorFatalCatchable() {
  try {
    await throwFatalError();
    return { caught: false, isFatal: false };
  } catch (e) {
    return { caught: true, isFatal: FatalError.is(e), isInstance: e instanceof FatalError };
  }
}

export async function retryableAndFatalErrorWorkflow() {
  const retryableResult = await throwRetryableError("1s");
  let gotFatalError = false;
  try {
    await stepThatFails();
  } catch (error) {
    if (FatalError.is(error)) gotFatalError = true;
  }
  return { retryableResult, gotFatalError };
}

export async function stepFatalErrorWithCause() {
  try {
    await throwFatalWithCause();
    return { caught: false };
  } catch (e) {
    return {
      caught: true,
      isFatalInstance: e instanceof FatalError,
      isError: e instanceof Error,
      name: e.name,
      message: e.message,
      fatal: e.fatal === true,
      fatalIs: FatalError.is(e),
      causeIsTypeError: e.cause instanceof TypeError,
      causeName: e.cause?.name,
      causeMessage: e.cause?.message,
    };
  }
}

export async function workflowFatalErrorWithCause() {
  throw new FatalError("workflow fatal", { cause: new RangeError("out of range") });
}

export async function workflowThrowsNonError() {
  throw { code: "E_PLAIN", detail: [1, 2, 3], note: "not an Error" };
}

export async function stepThrowsCustomException() {
  try {
    await throwCustomException();
    return { caught: false };
  } catch (e) {
    return {
      caught: true,
      name: e.name,
      message: e.message,
      fatal: FatalError.is(e),
      causeName: e.cause?.name,
      causeMessage: e.cause?.message,
    };
  }
}

export async function stepNotRegisteredCatchable() {
  const ghost = useStep("nonExistentStep");
  try {
    await ghost();
    return { caught: false, error: null };
  } catch (e) {
    return { caught: true, error: e.message, fatal: FatalError.is(e) };
  }
}

export async function stepNotRegisteredUncaught() {
  const ghost = useStep("anotherNonExistentStep");
  return await ghost();
}

function describeErr(e) {
  const out = {
    ctor: e.constructor?.name,
    name: e.name,
    message: e.message,
    hasStack: typeof e.stack === "string" && e.stack.length > 0,
    hasCause: "cause" in e,
  };
  if ("cause" in e) out.cause = e.cause instanceof Error ? { name: e.cause.name, message: e.cause.message } : e.cause;
  if (e instanceof AggregateError) out.errors = e.errors.map((x) => ({ name: x.name, message: x.message }));
  if (e.fatal !== undefined) out.fatal = e.fatal;
  if (e.retryAfter !== undefined) out.retryAfter = e.retryAfter instanceof Date ? e.retryAfter.toISOString() : String(e.retryAfter);
  return out;
}

export async function errorSubclassRoundTripWorkflow(fromClient) {
  const made = [
    new TypeError("type", { cause: new Error("inner") }),
    new RangeError("range"),
    new SyntaxError("syntax"),
    new URIError("uri"),
    new ReferenceError("reference"),
    new EvalError("eval"),
    new AggregateError([new Error("a1"), new TypeError("a2")], "aggregate"),
    new FatalError("fatal"),
    new RetryableError("retryable", { retryAfter: new Date("2099-01-01T00:00:00.000Z") }),
    new Error("plain", { cause: "string-cause" }),
  ];
  const expected = made.map(describeErr);
  const back = await echo(made); // workflow -> Python step -> workflow
  const got = back.map(describeErr);
  const classOk = back.map(
    (e, i) => e instanceof made[i].constructor && Object.getPrototypeOf(e) === Object.getPrototypeOf(made[i]),
  );
  const client = (fromClient || []).map(describeErr);
  const clientBack = await echo(fromClient || []);
  return {
    expected,
    got,
    classOk,
    client,
    clientBack: clientBack.map(describeErr),
    made: back, // -> client (Python)
    fromClient: clientBack,
  };
}

// ------------------------------------------------------------------ determinism

export async function determinismWorkflow() {
  const before = {
    random: [Math.random(), Math.random(), Math.random()],
    now: Date.now(),
    date: new Date().toISOString(),
  };
  const loggedBefore = await recordValues(before); // the step input is in the log
  await sleep("500ms");
  const after = { random: [Math.random(), Math.random()], now: Date.now() };
  const loggedAfter = await recordValues(after);
  return { before, after, loggedBefore, loggedAfter };
}

// ------------------------------------------------------------------ cancel (#75)

export async function longSleepWorkflow(duration = "30s") {
  await sleep(duration);
  return "woke up";
}

// #17 webhookWorkflow: three webhooks created up front; default response, a static response
// (402), and (adapted: wfctl has no 'manual' responses) a second default one.
export async function webhookWorkflow() {
  const payloads = [];
  const withDefault = createWebhook();
  const withStatic = createWebhook({
    respondWith: { status: 402, body: "Hello from static response!" },
  });
  const another = createWebhook();
  for (const hook of [withDefault, withStatic, another]) {
    const req = await hook;
    payloads.push({ url: req.url, method: req.method, body: req.body });
  }
  return { payloads, urls: [withDefault.url, withStatic.url, another.url] };
}
