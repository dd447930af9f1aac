// The app of tests/versions: code that tests edit while runs are in flight.
import { useStep, createHook, sleep, start } from "workflow";
import { LABEL } from "./lib/label.js";

const tick = useStep("tick");
const breaks = useStep("breaks");

// Five sequential steps; each one leaves a mark in the side-effect counter.
export async function fiveSteps(n) {
  let v = n;
  for (let i = 1; i <= 5; i++) v = await tick(`s${i}`, v);
  return { v, label: LABEL };
}

// One step, an approval hook, one more step.
export async function approval(n) {
  const a = await tick("before", n);
  const ok = await createHook({ token: `ap:${n}` });
  const b = await tick("after", a);
  return { a, b, ok, label: LABEL };
}

// Step 2 fails until steps.py is fixed.
export async function fragile(n) {
  const a = await tick("f1", n);
  const b = await breaks(a);
  const c = await tick("f3", b);
  return c;
}

// A sleep and a hook before the third step.
export async function mixed(n) {
  const a = await tick("m1", n);
  await sleep("10ms");
  const h = await createHook({ token: `mx:${n}` });
  const b = await tick("m2", a + h);
  const c = await tick("m3", b);
  return c;
}

// Four steps at once, then one more.
export async function parallel(n) {
  const xs = await Promise.all([1, 2, 3, 4].map((i) => tick(`p${i}`, n * i)));
  return tick("p5", xs.reduce((a, b) => a + b, 0));
}

// A child run of fiveSteps: it runs the code its parent runs.
export async function parent(n) {
  const run = await start(fiveSteps, [n]);
  return { child: run.runId, out: await run.returnValue };
}
