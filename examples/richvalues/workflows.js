// Rich values crossing the JS ↔ Python boundary both ways: Date, Map, Set, Uint8Array, BigInt,
// and errors with cause chains.
import { useStep, FatalError } from "workflow";

const describe = useStep("describe");
const explode = useStep("explode");

export async function richValues() {
  const sent = {
    when: new Date("2026-01-02T03:04:05.678Z"),
    tags: new Set(["a", "b"]),
    prices: new Map([["apple", 3], ["pear", 5]]),
    bytes: new Uint8Array([1, 2, 3, 255]),
    big: 2n ** 70n,
  };
  const back = await describe(sent);
  let caught;
  try {
    await explode("boom");
  } catch (err) {
    caught = {
      name: err.name,
      message: err.message,
      isFatal: FatalError.is(err),
      cause: err.cause && { name: err.cause.name, message: err.cause.message },
    };
  }
  return {
    types: back.types,
    nextDay: back.nextDay instanceof Date ? back.nextDay.toISOString() : null,
    bigPlusOne: typeof back.bigPlusOne === "bigint" ? back.bigPlusOne.toString() : null,
    bytesReversed: Array.from(back.bytesReversed),
    tagCount: back.tags.size,
    priceOfPear: back.prices.get("pear"),
    caught,
  };
}
