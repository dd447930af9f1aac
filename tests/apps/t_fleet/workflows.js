// Fixture app of the worker-fleet tests (tests/fleet): every run mixes the shapes a fleet must
// hand between workers. The kind is i % 5; the output is a pure function of i (and the payload).
import { useStep, sleep, createHook } from "workflow";

const inc = useStep("inc");
const flaky = useStep("flaky");
const slowInc = useStep("slow_inc");

export async function mix(i) {
  let v = await inc(i); // every run: at least one step
  const kind = i % 5;
  if (kind === 0) {
    for (let k = 0; k < 3; k++) v = await inc(v); // sequential
  } else if (kind === 1) {
    const xs = await Promise.all([inc(v), inc(v + 1), inc(v + 2)]); // fan-out
    v = xs[0] + xs[1] + xs[2];
  } else if (kind === 2) {
    v = v + (await flaky(i)); // fails on its first attempt, retried
  } else if (kind === 3) {
    await sleep(300); // durable timer
    v = await inc(v);
  } else {
    const got = await createHook({ token: `fleet:${i}` }); // resumed from another process
    v = await inc(v + got.n);
  }
  return { i, v };
}

// a run that takes a while, one step at a time: the fault tests kill its worker mid-way
export async function slow(n, ms) {
  let v = 0;
  for (let k = 0; k < n; k++) v = await slowInc(v, ms);
  return v;
}

export async function waitHook(token) {
  const got = await createHook({ token });
  return await inc(got.n);
}

// like slow, but each step's result carries the pid of the process that ran it: the fencing
// test shows whose step_completed made it into the log
const tagged = useStep("tagged");

export async function slowTagged(n, ms) {
  let v = 0;
  for (let k = 0; k < n; k++) v = (await tagged(v, ms)).v;
  return v;
}
