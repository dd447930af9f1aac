// Fixture app of the engine-level acceptance tests (tests/engine, tests/cli).
// Keep line numbers of `addTen` stable: tests edit this file in copies.
import { useStep, sleep, createHook } from "workflow";

const add = useStep("add");
const inc = useStep("inc");
const slowInc = useStep("slow_inc");
const boom = useStep("boom");
const flaky = useStep("flaky");
const unencodable = useStep("unencodable");

export async function addTen(x) {
  const a = await add(x, 2);
  const b = await add(a, 3);
  const c = await add(b, 5);
  return c;
}

export async function waitHook(token, x) {
  const a = await add(x, 1);
  const hook = createHook({ token, metadata: { x } });
  const got = await hook;
  const b = await add(a, got.n);
  return { a, b, got };
}

export async function seqSteps(n) {
  let v = 0;
  for (let i = 0; i < n; i++) {
    v = await inc(v);
  }
  return v;
}

export async function slowSeq(n, ms) {
  let v = 0;
  for (let i = 0; i < n; i++) {
    v = await slowInc(v, ms);
  }
  return v;
}

// every `every`-th iteration calls a step that fails (FatalError) and catches the error
export async function catchFail(n, every) {
  let v = 0;
  const caught = [];
  for (let i = 0; i < n; i++) {
    if (i % every === 0) {
      try {
        await boom(i);
      } catch (e) {
        caught.push(e.message);
      }
    }
    v = await inc(v);
  }
  return { v, caught };
}

export async function unknownStep() {
  // A computed name: `wfctl check` cannot see it, so the run itself fails on the unknown step.
  const nope = useStep(["no", "pe"].join(""));
  return await nope();
}

export async function badResult() {
  return await unencodable();
}

export async function sleeper(ms) {
  const before = Date.now();
  await sleep(ms);
  const x = await add(1, 1);
  return { x, slept: Date.now() - before >= ms };
}

export async function retried() {
  return await flaky();
}

export async function mixed(x) {
  const [a, b] = await Promise.all([add(x, 1), add(x, 2)]);
  await sleep(50);
  const c = await inc(a + b);
  return { a, b, c, when: new Date(0), set: new Set([a, b]), map: new Map([["c", c]]) };
}

// a secret travels as run input, step argument, step result, step error, hook payload and output
const failWith = useStep("fail_with");

export async function secretFlow(secret, token) {
  const echoed = await add(secret, "!");
  let message = null;
  try {
    await failWith(`failure mentions ${secret}`);
  } catch (e) {
    message = e.message;
  }
  const hook = createHook({ token, metadata: { secret } });
  const got = await hook;
  return { echoed, message, got };
}

export async function secretFail(secret) {
  throw new Error(`workflow failure mentions ${secret}`);
}

// a step runs while a durable timer is open (the timeout pattern)
export async function raceTimeout(ms) {
  const winner = await Promise.race([slowInc(0, ms), sleep("1h").then(() => "timeout")]);
  return winner;
}

// replays must see fresh step results even when the workflow mutates them
const echo = useStep("echo");
const big = useStep("big");

export async function mutate() {
  const o = await echo({ n: 1, list: [1] });
  o.n += 1;
  o.list.push(2);
  const p = await inc(o.n);
  const q = await echo(o);
  return { o, p, q };
}

export async function bigResults(n) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += (await big(i)).length;
  }
  return total;
}
