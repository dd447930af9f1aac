import { useStep } from "workflow";
const add = useStep("add");

export async function spin() {
  await add(1, 2);
  while (true) {} // a runaway loop after a step: the run must fail, not hang the engine
}

function deep(n) {
  return deep(n + 1) + 1;
}
export async function recurse() {
  await add(1, 2);
  return deep(0);
}

export async function hog() {
  const chunks = [];
  try {
    for (;;) chunks.push("x".repeat(1 << 20) + chunks.length);
  } catch (err) {
    chunks.length = 0;
    return { caught: String(err && err.message) };
  }
}

export async function usesTimers() {
  return new Promise((resolve) => setTimeout(resolve, 10));
}

export async function usesFetch() {
  return fetch("http://example.com");
}
