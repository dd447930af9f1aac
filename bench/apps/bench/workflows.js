// Benchmark workloads (mirroring the reference suite, workflow-devkit.md §11.1) with steps
// that do no work, so what is measured is the engine's own overhead.
import { useStep, sleep, createHook } from "workflow";

const noop = useStep("noop");
const echoPayload = useStep("echo_payload");

export async function noSteps(x) {
  return x * 2;
}

export async function sequential(n) {
  let last = -1;
  for (let i = 0; i < n; i++) last = await noop(i);
  return last;
}

export async function promiseAll(n) {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => noop(i)));
  return results.length;
}

// As the reference promiseRaceStressTestLargeWorkflow: race the remaining steps, drop the winner.
export async function promiseRace(n) {
  const running = new Map();
  for (let i = 0; i < n; i++) running.set(i, noop(i));
  while (running.size > 0) {
    const winner = await Promise.race(running.values());
    running.delete(winner);
  }
  return n;
}

// Payload in both directions: the step takes `size` bytes and returns them with their length.
export async function seqPayload(n, size) {
  let len = 0;
  for (let i = 0; i < n; i++) len = (await echoPayload("x".repeat(size))).len;
  return len;
}

export async function concPayload(n, size) {
  const results = await Promise.all(Array.from({ length: n }, () => echoPayload("x".repeat(size))));
  return results.length;
}

// n durable sleeps of 1 ms: the engine waits for each timer in-process.
export async function sleeps(n) {
  for (let i = 0; i < n; i++) await sleep("1ms");
  return n;
}

// n hooks in sequence: the run leaves the process at each one (the heap is saved) and the
// driver resumes it with `bench-hook-<i>`.
export async function hooks(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await createHook({ token: `bench-hook-${i}` });
  return sum;
}
