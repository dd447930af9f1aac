// Fan-out / fan-in: Promise.all over N steps, then a Promise.race between a slow and a fast step.
import { useStep } from "workflow";

const square = useStep("square");
const fetchQuote = useStep("fetch_quote");

export async function fanOut(n) {
  const squares = await Promise.all(Array.from({ length: n }, (_, i) => square(i)));
  const total = squares.reduce((a, b) => a + b, 0);
  const fastest = await Promise.race([fetchQuote("slow-exchange", 1.5), fetchQuote("fast-exchange", 0.05)]);
  return { n, total, fastest };
}
