// Deterministic sources for workflow code: seeded Math.random, the log-driven clock,
// monotonic ULIDs and nanoid tokens. Ports of seedrandom (ARC4), ulid@3 monotonicFactory and
// nanoid customRandom, so a given seed yields the same ids as the Workflow DevKit.

function ARC4(key) {
  let t;
  let keylen = key.length;
  const s = [];
  let i = 0;
  let j = 0;
  if (!keylen) key = [keylen++];
  while (i < 256) s[i] = i++;
  for (i = 0; i < 256; i++) {
    s[i] = s[(j = 255 & (j + key[i % keylen] + (t = s[i])))];
    s[j] = t;
  }
  this.S = s;
  this.i = 0;
  this.j = 0;
  this.g(256); // discard the first 256 bytes, as seedrandom does
}
ARC4.prototype.g = function (count) {
  let t;
  let r = 0;
  let i = this.i;
  let j = this.j;
  const s = this.S;
  while (count--) {
    t = s[(i = 255 & (i + 1))];
    r = r * 256 + s[255 & ((s[i] = s[(j = 255 & (j + t))]) + (s[j] = t))];
  }
  this.i = i;
  this.j = j;
  return r;
};

function mixkey(seed, key) {
  const str = `${seed}`;
  let smear = 0;
  let j = 0;
  while (j < str.length) {
    key[255 & j] = 255 & ((smear ^= key[255 & j] * 19) + str.charCodeAt(j++));
  }
  return key;
}

/** seedrandom(seed)() — returns a function producing doubles in [0, 1). */
export function seededRandom(seed) {
  const key = [];
  mixkey(seed, key);
  const arc4 = new ARC4(key);
  return function random() {
    let n = arc4.g(6);
    let d = 281474976710656; // 256^6
    let x = 0;
    while (n < 4503599627370496) {
      // 2^52
      n = (n + x) * 256;
      d *= 256;
      x = arc4.g(1);
    }
    while (n >= 9007199254740992) {
      // 2^53
      n /= 2;
      d /= 2;
      x >>>= 1;
    }
    return (n + x) / d;
  };
}

const ENCODING = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function encodeTime(now, len) {
  let str = "";
  for (; len > 0; len--) {
    const mod = now % 32;
    str = ENCODING.charAt(mod) + str;
    now = (now - mod) / 32;
  }
  return str;
}

function incrementBase32(str) {
  let index = str.length;
  while (index-- > 0) {
    const charIndex = ENCODING.indexOf(str[index]);
    if (charIndex === 31) {
      str = str.slice(0, index) + ENCODING[0] + str.slice(index + 1);
      continue;
    }
    return str.slice(0, index) + ENCODING[charIndex + 1] + str.slice(index + 1);
  }
  throw new Error("cannot increment this ULID");
}

/** ulid@3 monotonicFactory(prng): same time prefix, incremented random part. */
export function monotonicUlid(prng) {
  let lastTime = 0;
  let lastRandom = "";
  return function ulid(seedTime) {
    if (seedTime <= lastTime) {
      lastRandom = incrementBase32(lastRandom);
      return encodeTime(lastTime, 10) + lastRandom;
    }
    lastTime = seedTime;
    let rnd = "";
    for (let k = 0; k < 16; k++) {
      let r = Math.floor(prng() * 32);
      if (r === 32) r = 31;
      rnd = ENCODING.charAt(r) + rnd;
    }
    lastRandom = rnd;
    return encodeTime(seedTime, 10) + rnd;
  };
}

const URL_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyz";

/** nanoid customRandom(urlAlphabet, 21, bytes drawn from prng). */
export function nanoidFactory(prng) {
  const mask = 63;
  const size = 21;
  const step = Math.ceil((1.6 * mask * size) / URL_ALPHABET.length);
  return function nanoid() {
    let id = "";
    for (;;) {
      const bytes = [];
      for (let k = 0; k < step; k++) bytes.push(Math.trunc(256 * prng()));
      let i = step;
      while (i--) {
        id += URL_ALPHABET[bytes[i] & mask] || "";
        if (id.length >= size) return id;
      }
    }
  };
}

/**
 * Replace Date and Math.random in this realm with log-driven, seeded versions.
 * `clock` is an object whose `now` field the runtime advances as it consumes events.
 */
export function installDeterminism(clock, rng) {
  const RealDate = Date;
  function WorkflowDate(...args) {
    if (!new.target) return new RealDate(clock.now).toString();
    return args.length === 0 ? new RealDate(clock.now) : new RealDate(...args);
  }
  WorkflowDate.prototype = RealDate.prototype;
  WorkflowDate.now = () => clock.now;
  WorkflowDate.parse = RealDate.parse;
  WorkflowDate.UTC = RealDate.UTC;
  Object.defineProperty(RealDate.prototype, "constructor", {
    value: WorkflowDate,
    writable: true,
    configurable: true,
  });
  globalThis.Date = WorkflowDate;
  // WeakRef.deref() and FinalizationRegistry callbacks expose garbage-collection timing, which
  // differs between a live run and its replay (docs/RUNTIMES.md, "The sandbox's globals").
  delete globalThis.WeakRef;
  delete globalThis.FinalizationRegistry;
  Math.random = () => rng.next();
  // QuickJS's performance.now is a non-configurable native; replace the whole object.
  Object.defineProperty(globalThis, "performance", {
    value: Object.freeze({ now: () => clock.now - clock.origin }),
    configurable: true,
    writable: true,
  });
}
