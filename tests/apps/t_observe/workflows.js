import { useStep, sleep, createHook } from "workflow";

const add = useStep("add");
const flaky = useStep("flaky");
const lookup = useStep("lookup");
const slowStep = useStep("slow_step");

// console output at several points of the logical execution (replays must not repeat it)
export async function chatty(n) {
  console.log("begin", n);
  const a = await add(n, 1);
  console.warn("after add", a);
  await sleep("300ms");
  const b = await add(a, 1);
  console.log("end", b);
  return b;
}

export async function retrying(n) {
  const v = await flaky(n);
  return v + 1;
}

export async function failing(key) {
  return await lookup({ a: 1 }, key);
}

export async function approval(id) {
  const a = await add(id, 1);
  console.log("waiting for approval of", id);
  const ok = await createHook({ token: `approve:${id}` });
  const b = await add(a, 1);
  return { ok, b };
}

export async function napping(duration) {
  await add(1, 1);
  await sleep(duration);
  return "rested";
}

export async function slowly(seconds) {
  return await slowStep(seconds);
}
