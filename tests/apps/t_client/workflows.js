// Fixture app of the Client and `wfctl serve` tests.
import { useStep, sleep, createHook, createWebhook, defineHook, FatalError } from "workflow";

const add = useStep("add");
const charge = useStep("charge");
const slow = useStep("slow");
const echo = useStep("echo");

export async function sumTo(n) {
  let total = 0;
  for (let i = 1; i <= n; i++) total = await add(total, i);
  return total;
}

export async function richResult() {
  return { when: new Date(0), tags: new Set(["a"]), big: 2n ** 70n, map: new Map([[1, "one"]]) };
}

export async function failInStep(cents) {
  await add(1, 2);
  return await charge(cents);
}

export async function failInWorkflow() {
  await add(1, 2);
  throw new FatalError("workflow gave up");
}

export async function sleepy(ms) {
  await sleep(ms);
  return "woke";
}

export async function slowSteps(n, seconds) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await slow(i, seconds));
  return out;
}

export async function approval(id) {
  const decision = await createHook({ token: `approve:${id}` });
  return await echo({ id, decision });
}

const payment = defineHook({
  schema: {
    type: "object",
    properties: { amount: { type: "integer", minimum: 1 }, currency: { enum: ["EUR", "USD"] } },
    required: ["amount", "currency"],
  },
});

export async function typedPayment(id) {
  const hook = payment.create({ token: `pay:${id}` });
  const first = await hook;
  return { id, amount: first.amount, currency: first.currency };
}

export async function webhookFlow() {
  const plain = createWebhook();
  const stat = createWebhook({ respondWith: { status: 402, body: "Hello from static response!" } });
  const typed = createWebhook({ schema: { type: "object", required: ["paid"], properties: { paid: { type: "boolean" } } } });
  await echo({ urls: [plain.url, stat.url, typed.url], tokens: [plain.token, stat.token, typed.token] });
  const a = await plain;
  const b = await stat;
  const c = await typed;
  return [a, b, c].map((r) => ({ url: r.url, method: r.method, body: r.body, json: r.json }));
}

export async function webhookOnce() {
  const hook = createWebhook();
  const req = await hook;
  return req.json;
}
