// devalue 5.6.3 stringify/parse with the Workflow DevKit's common reducers, for the VM.
//
// Output is byte-identical to `devalue.stringify(value, reducers)` as the DevKit calls it
// (workflow-devkit.md §7.3/§7.4), with one deliberate difference: lone surrogates are
// escaped as \uXXXX (devalue leaves them raw and TextEncoder would turn them into U+FFFD),
// exactly like wfctl/serde/devalue.py. Plain JavaScript, no host APIs (no TextEncoder,
// Buffer, structuredClone, Intl, URL): runs in QuickJS-NG and in node.
//
//   stringify(value, options?)  options.before / options.after: {Tag: reducer} consulted
//                               before / after the common reducers (first truthy wins)
//   parse(text, revivers?)      revivers: {Tag: fn} taking precedence over the common ones
//   unflatten(parsed, revivers?)
//
// Reducers are consulted for objects, functions and bigints (never for strings, numbers,
// booleans, null or undefined: no DevKit reducer matches those). Values that cannot be
// serialized (functions, symbols, class instances, symbol-keyed objects) throw a TypeError
// naming the type and the path, e.g. "Cannot serialize a function at .args[0].cb".

// Captured at load, before app code runs: a workflow replacing JSON.* must not change how
// its values are encoded for the host (docs/RUNTIMES.md, "Hardening").
const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;

const UNDEFINED = -1;
const HOLE = -2;
const NAN = -3;
const POSITIVE_INFINITY = -4;
const NEGATIVE_INFINITY = -5;
const NEGATIVE_ZERO = -6;
const SPARSE = -7;

const FATAL_KEY = Symbol.for("@workflow/errors//FatalError");
const RETRYABLE_KEY = Symbol.for("@workflow/errors//RetryableError");

const toString = Object.prototype.toString;
const hasOwn = Object.prototype.hasOwnProperty;

// ---------------------------------------------------------------- base64 over bytes

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
B64_INDEX["-".charCodeAt(0)] = 62; // url-safe variants, as Buffer.from(s, 'base64') accepts
B64_INDEX["_".charCodeAt(0)] = 63;

export function bytesToBase64(bytes) {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (i < n) {
    const a = bytes[i];
    const b = i + 1 < n ? bytes[i + 1] : 0;
    const v = (a << 16) | (b << 8);
    out += B64[v >> 18] + B64[(v >> 12) & 63];
    out += i + 1 < n ? B64[(v >> 6) & 63] + "=" : "==";
  }
  return out;
}

export function base64ToBytes(str) {
  const bits = [];
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c === 61) break; // '='
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v >= 0) bits.push(v); // skip whitespace / junk like Buffer does
  }
  const len = Math.floor((bits.length * 6) / 8);
  const out = new Uint8Array(len);
  let acc = 0;
  let nbits = 0;
  let o = 0;
  for (let i = 0; i < bits.length; i++) {
    acc = ((acc << 6) | bits[i]) & 0xffffff;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      if (o < len) out[o++] = (acc >> nbits) & 0xff;
    }
  }
  return out;
}

function bufferToBase64(buffer, offset, length) {
  if (length === 0) return "."; // reducer results must be truthy
  return bytesToBase64(new Uint8Array(buffer, offset, length));
}

function viewToBase64(view) {
  return bufferToBase64(view.buffer, view.byteOffset, view.byteLength);
}

function reviveArrayBuffer(value) {
  const bytes = base64ToBytes(value === "." ? "" : String(value));
  return bytes.buffer;
}

// ---------------------------------------------------------------- strings

function escapeChar(code) {
  switch (code) {
    case 0x22:
      return '\\"';
    case 0x3c:
      return "\\u003C";
    case 0x5c:
      return "\\\\";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x2028:
      return "\\u2028";
    case 0x2029:
      return "\\u2029";
    default:
      return "\\u" + code.toString(16).padStart(4, "0");
  }
}

const NEEDS_ESCAPE = /[\x00-\x1f"<\\\u2028\u2029\ud800-\udfff]/;

export function stringifyString(str) {
  if (!NEEDS_ESCAPE.test(str)) return `"${str}"`;
  let result = "";
  let last = 0;
  const len = str.length;
  for (let i = 0; i < len; i++) {
    const c = str.charCodeAt(i);
    let rep = null;
    if (c < 0x20 || c === 0x22 || c === 0x3c || c === 0x5c || c === 0x2028 || c === 0x2029) {
      rep = escapeChar(c);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < len ? str.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a valid pair stays raw
        continue;
      }
      rep = escapeChar(c);
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      rep = escapeChar(c); // lone low surrogate
    }
    if (rep !== null) {
      result += str.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return `"${result}${str.slice(last)}"`;
}

// ---------------------------------------------------------------- type helpers

function isPrimitive(thing) {
  return Object(thing) !== thing;
}

const OBJECT_PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort().join("\0");

function isPlainObject(thing) {
  const proto = Object.getPrototypeOf(thing);
  return (
    proto === Object.prototype ||
    proto === null ||
    Object.getPrototypeOf(proto) === null ||
    Object.getOwnPropertyNames(proto).sort().join("\0") === OBJECT_PROTO_NAMES
  );
}

function getType(thing) {
  return toString.call(thing).slice(8, -1);
}

function isError(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    (value instanceof Error || toString.call(value) === "[object Error]")
  );
}

function ctorName(value) {
  try {
    const c = value.constructor;
    return c && typeof c.name === "string" ? c.name : undefined;
  } catch {
    return undefined;
  }
}

function instanceOfGlobal(value, name) {
  const C = globalThis[name];
  return typeof C === "function" && value instanceof C;
}

const IDENT = /^[a-zA-Z_$][a-zA-Z_$0-9]*$/;

function stringifyKey(key) {
  return IDENT.test(key) ? "." + key : "[" + jsonStringify(key) + "]";
}

function describe(thing) {
  if (typeof thing === "function") return "a function";
  if (typeof thing === "symbol") return "a symbol";
  const name = ctorName(thing);
  return name ? `an instance of class ${name}` : `a ${getType(thing)} object`;
}

// ---------------------------------------------------------------- common reducers (§7.4 order)

function reduceErrorBase(value) {
  const reduced = { message: value.message, stack: value.stack };
  if ("cause" in value) reduced.cause = value.cause;
  return reduced;
}

function namedErrorBase(name, value) {
  if (!isError(value) || ctorName(value) !== name) return false;
  return reduceErrorBase(value);
}

function simpleError(name) {
  return (value) => namedErrorBase(name, value);
}

function typedArrayReducer(name) {
  return (value) => instanceOfGlobal(value, name) && viewToBase64(value);
}

export const COMMON_REDUCERS = {
  ArrayBuffer: (value) =>
    value instanceof ArrayBuffer && bufferToBase64(value, 0, value.byteLength),
  BigInt: (value) => typeof value === "bigint" && value.toString(),
  BigInt64Array: typedArrayReducer("BigInt64Array"),
  BigUint64Array: typedArrayReducer("BigUint64Array"),
  Date: (value) => {
    if (!(value instanceof Date)) return false;
    return Number.isNaN(value.getDate()) ? "." : value.toISOString();
  },
  DOMException: (value) => {
    if (!isError(value) || ctorName(value) !== "DOMException") return false;
    const reduced = { message: value.message, name: value.name, stack: value.stack };
    if ("cause" in value) reduced.cause = value.cause;
    return reduced;
  },
  EvalError: simpleError("EvalError"),
  FatalError: simpleError("FatalError"),
  RangeError: simpleError("RangeError"),
  ReferenceError: simpleError("ReferenceError"),
  RetryableError: (value) => {
    const base = namedErrorBase("RetryableError", value);
    if (!base) return false;
    const raw = value.retryAfter;
    let retryAfter;
    if (raw && typeof raw === "object" && typeof raw.getTime === "function") {
      const t = raw.getTime();
      retryAfter = Number.isNaN(t) ? Date.now() + 1000 : t;
    } else if (typeof raw === "string" || typeof raw === "number") {
      const t = new Date(raw).getTime();
      retryAfter = Number.isNaN(t) ? Date.now() + 1000 : t;
    } else {
      retryAfter = Date.now() + 1000;
    }
    base.retryAfter = retryAfter;
    return base;
  },
  SyntaxError: simpleError("SyntaxError"),
  TypeError: simpleError("TypeError"),
  URIError: simpleError("URIError"),
  AggregateError: (value) => {
    const base = namedErrorBase("AggregateError", value);
    if (!base) return false;
    base.errors = value.errors;
    return base;
  },
  Error: (value) => {
    if (!isError(value)) return false;
    const reduced = { name: value.name, message: value.message, stack: value.stack };
    if ("cause" in value) reduced.cause = value.cause;
    return reduced;
  },
  Float32Array: typedArrayReducer("Float32Array"),
  Float64Array: typedArrayReducer("Float64Array"),
  Headers: (value) => instanceOfGlobal(value, "Headers") && Array.from(value),
  Int8Array: typedArrayReducer("Int8Array"),
  Int16Array: typedArrayReducer("Int16Array"),
  Int32Array: typedArrayReducer("Int32Array"),
  Map: (value) => value instanceof Map && Array.from(value),
  RegExp: (value) => value instanceof RegExp && { source: value.source, flags: value.flags },
  Set: (value) => value instanceof Set && Array.from(value),
  URL: (value) => instanceOfGlobal(value, "URL") && value.href,
  WorkflowFunction: (value) => {
    if (typeof value !== "function") return false;
    const workflowId = value.workflowId;
    if (typeof workflowId !== "string") return false;
    return { workflowId };
  },
  URLSearchParams: (value) => {
    if (!instanceOfGlobal(value, "URLSearchParams")) return false;
    if (value.size === 0) return ".";
    return String(value);
  },
  Uint8Array: typedArrayReducer("Uint8Array"),
  Uint8ClampedArray: typedArrayReducer("Uint8ClampedArray"),
  Uint16Array: typedArrayReducer("Uint16Array"),
  Uint32Array: typedArrayReducer("Uint32Array"),
};

function reducerList(options) {
  const list = [];
  const add = (obj) => {
    if (!obj) return;
    for (const key of Object.getOwnPropertyNames(obj)) list.push([key, obj[key]]);
  };
  add(options && options.before);
  add(COMMON_REDUCERS);
  add(options && options.after);
  return list;
}

const DEFAULT_REDUCERS = reducerList(null);

// ---------------------------------------------------------------- stringify

function stringifyPrimitive(thing) {
  const type = typeof thing;
  if (type === "string") return stringifyString(thing);
  if (thing instanceof String) return stringifyString(thing.toString());
  if (thing === void 0) return String(UNDEFINED);
  if (thing === 0 && 1 / thing < 0) return String(NEGATIVE_ZERO);
  if (type === "bigint") return `["BigInt","${thing}"]`;
  return String(thing);
}

function validArrayIndices(array) {
  const keys = Object.keys(array);
  let i = keys.length - 1;
  for (; i >= 0; i--) {
    const s = keys[i];
    if (/^(0|[1-9][0-9]*)$/.test(s) && +s < 2 ** 32 - 1) break;
  }
  keys.length = i + 1;
  return keys;
}

export function stringify(value, options) {
  const reducers =
    options && (options.before || options.after) ? reducerList(options) : DEFAULT_REDUCERS;
  const stringified = [];
  const indexes = new Map();
  const keys = [];
  let p = 0;

  function fail(what) {
    const path = keys.join("");
    throw new TypeError(`Cannot serialize ${what}${path ? " at " + path : ""}`);
  }

  function flatten(thing) {
    if (thing === undefined) return UNDEFINED;
    if (Number.isNaN(thing)) return NAN;
    if (thing === Infinity) return POSITIVE_INFINITY;
    if (thing === -Infinity) return NEGATIVE_INFINITY;
    if (thing === 0 && 1 / thing < 0) return NEGATIVE_ZERO;

    if (indexes.has(thing)) return indexes.get(thing);

    const type = typeof thing;
    if (type === "symbol") fail("a symbol");

    const index = p++;
    indexes.set(thing, index);

    if (type === "object" || type === "function" || type === "bigint") {
      for (let r = 0; r < reducers.length; r++) {
        const reduced = reducers[r][1](thing);
        if (reduced) {
          stringified[index] = `[${stringifyString(reducers[r][0])},${flatten(reduced)}]`;
          return index;
        }
      }
    }

    if (type === "function") fail(describe(thing));

    let str = "";
    if (isPrimitive(thing)) {
      str = stringifyPrimitive(thing);
    } else {
      const t = getType(thing);
      switch (t) {
        case "Number":
        case "String":
        case "Boolean":
          str = `["Object",${stringifyPrimitive(thing)}]`;
          break;
        case "Array": {
          let mostlyDense = false;
          str = "[";
          for (let i = 0; i < thing.length; i += 1) {
            if (i > 0) str += ",";
            if (hasOwn.call(thing, i)) {
              keys.push(`[${i}]`);
              str += flatten(thing[i]);
              keys.pop();
            } else if (mostlyDense) {
              str += HOLE;
            } else {
              const populated = validArrayIndices(thing);
              const population = populated.length;
              const d = String(thing.length).length;
              const holeCost = (thing.length - population) * 3;
              const sparseCost = 4 + d + population * (d + 1);
              if (holeCost > sparseCost) {
                str = "[" + SPARSE + "," + thing.length;
                for (let j = 0; j < populated.length; j++) {
                  const key = populated[j];
                  keys.push(`[${key}]`);
                  str += "," + key + "," + flatten(thing[key]);
                  keys.pop();
                }
                break;
              } else {
                mostlyDense = true;
                str += HOLE;
              }
            }
          }
          str += "]";
          break;
        }
        default: {
          if (!isPlainObject(thing)) fail(describe(thing));
          const symbols = Object.getOwnPropertySymbols(thing).filter(
            (s) => Object.getOwnPropertyDescriptor(thing, s).enumerable,
          );
          if (symbols.length > 0) fail("an object with symbol keys");
          const nullProto = Object.getPrototypeOf(thing) === null;
          str = nullProto ? '["null"' : "{";
          let started = false;
          for (const key of Object.keys(thing)) {
            if (key === "__proto__") fail("an object with a __proto__ key");
            keys.push(stringifyKey(key));
            if (nullProto) {
              str += `,${stringifyString(key)},${flatten(thing[key])}`;
            } else {
              if (started) str += ",";
              started = true;
              str += `${stringifyString(key)}:${flatten(thing[key])}`;
            }
            keys.pop();
          }
          str += nullProto ? "]" : "}";
        }
      }
    }
    stringified[index] = str;
    return index;
  }

  const index = flatten(value);
  if (index < 0) return `${index}`;
  return `[${stringified.join(",")}]`;
}

// ---------------------------------------------------------------- common revivers

function causeOpts(v) {
  return "cause" in v ? { cause: v.cause } : undefined;
}

function finishError(error, v, setCause) {
  if (v.stack !== undefined) {
    try {
      error.stack = v.stack;
    } catch {
      Object.defineProperty(error, "stack", { value: v.stack, writable: true, configurable: true });
    }
  }
  if (setCause && "cause" in v) error.cause = v.cause;
  return error;
}

function builtinErrorReviver(ctor) {
  return (v) => {
    const C = globalThis[ctor] || Error;
    const error = new C(v.message, causeOpts(v));
    if (C === Error && ctor !== "Error") error.name = ctor;
    return finishError(error, v, false);
  };
}

function typedArrayReviver(name) {
  return (value) => new globalThis[name](reviveArrayBuffer(value));
}

export const COMMON_REVIVERS = {
  ArrayBuffer: (value) => reviveArrayBuffer(value),
  BigInt: (value) => BigInt(value),
  BigInt64Array: typedArrayReviver("BigInt64Array"),
  BigUint64Array: typedArrayReviver("BigUint64Array"),
  Date: (value) => new Date(value === "." ? NaN : value),
  DOMException: (v) => {
    let error;
    if (typeof globalThis.DOMException === "function") {
      error = new globalThis.DOMException(v.message, v.name);
    } else {
      error = new Error(v.message);
      error.name = v.name;
    }
    return finishError(error, v, true);
  },
  EvalError: builtinErrorReviver("EvalError"),
  FatalError: (v) => {
    const C = globalThis[FATAL_KEY];
    let error;
    if (typeof C === "function") {
      error = new C(v.message);
    } else {
      error = new Error(v.message);
      error.name = "FatalError";
    }
    return finishError(error, v, true);
  },
  RangeError: builtinErrorReviver("RangeError"),
  ReferenceError: builtinErrorReviver("ReferenceError"),
  RetryableError: (v) => {
    const C = globalThis[RETRYABLE_KEY];
    const retryAfter = new Date(v.retryAfter);
    let error;
    if (typeof C === "function") {
      error = new C(v.message, { retryAfter });
    } else {
      error = new Error(v.message);
      error.name = "RetryableError";
      error.retryAfter = retryAfter;
    }
    return finishError(error, v, true);
  },
  SyntaxError: builtinErrorReviver("SyntaxError"),
  TypeError: builtinErrorReviver("TypeError"),
  URIError: builtinErrorReviver("URIError"),
  AggregateError: (v) => {
    const error = new AggregateError(v.errors || [], v.message, causeOpts(v));
    return finishError(error, v, false);
  },
  Error: (v) => {
    const error = new Error(v.message, causeOpts(v));
    error.name = v.name;
    return finishError(error, v, false);
  },
  Float32Array: typedArrayReviver("Float32Array"),
  Float64Array: typedArrayReviver("Float64Array"),
  Headers: (value) =>
    typeof globalThis.Headers === "function" ? new globalThis.Headers(value) : value,
  Int8Array: typedArrayReviver("Int8Array"),
  Int16Array: typedArrayReviver("Int16Array"),
  Int32Array: typedArrayReviver("Int32Array"),
  Map: (value) => new Map(value),
  RegExp: (value) => new RegExp(value.source, value.flags),
  Set: (value) => new Set(value),
  URL: (value) => (typeof globalThis.URL === "function" ? new globalThis.URL(value) : value),
  URLSearchParams: (value) => {
    const s = value === "." ? "" : value;
    return typeof globalThis.URLSearchParams === "function"
      ? new globalThis.URLSearchParams(s)
      : s;
  },
  WorkflowFunction: (value) => {
    const fn = () => {
      throw new Error(
        `Workflow function "${value.workflowId}" cannot be called directly; use start()`,
      );
    };
    fn.workflowId = value.workflowId;
    return fn;
  },
  Uint8Array: typedArrayReviver("Uint8Array"),
  Uint8ClampedArray: typedArrayReviver("Uint8ClampedArray"),
  Uint16Array: typedArrayReviver("Uint16Array"),
  Uint32Array: typedArrayReviver("Uint32Array"),
};

const TYPED_ARRAYS = new Set([
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
]);

// ---------------------------------------------------------------- parse

export function parse(serialized, revivers) {
  return unflatten(jsonParse(serialized), revivers);
}

export function unflatten(parsed, revivers) {
  const lookup = (type) => {
    if (revivers && hasOwn.call(revivers, type)) return revivers[type];
    if (hasOwn.call(COMMON_REVIVERS, type)) return COMMON_REVIVERS[type];
    return undefined;
  };

  if (typeof parsed === "number") return hydrate(parsed, true);
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error("Invalid input");

  const values = parsed;
  const hydrated = Array(values.length);
  let hydrating = null;

  function hydrate(index, standalone = false) {
    if (index === UNDEFINED) return undefined;
    if (index === NAN) return NaN;
    if (index === POSITIVE_INFINITY) return Infinity;
    if (index === NEGATIVE_INFINITY) return -Infinity;
    if (index === NEGATIVE_ZERO) return -0;
    if (standalone || typeof index !== "number") throw new Error("Invalid input");
    if (index in hydrated) return hydrated[index];

    const value = values[index];
    if (!value || typeof value !== "object") {
      hydrated[index] = value;
    } else if (Array.isArray(value)) {
      if (typeof value[0] === "string") {
        const type = value[0];
        // Map and Set are built before their entries so self-references resolve
        // (the DevKit's revivers would throw "Invalid circular reference" instead).
        if (
          (type === "Map" || type === "Set") &&
          value.length === 2 &&
          typeof value[1] === "number" &&
          !(revivers && hasOwn.call(revivers, type)) &&
          Array.isArray(values[value[1]]) &&
          typeof values[value[1]][0] !== "string"
        ) {
          const container = type === "Map" ? new Map() : new Set();
          hydrated[index] = container;
          const payload = hydrate(value[1]);
          for (const item of payload) {
            if (type === "Map") container.set(item[0], item[1]);
            else container.add(item);
          }
          return container;
        }
        const reviver = lookup(type);
        const builtin =
          // devalue's own encodings for the same tags (not produced by the DevKit)
          (type === "Map" && value.length !== 2) ||
          (type === "Set" && value.length !== 2) ||
          (type === "RegExp" && typeof value[1] === "string") ||
          (TYPED_ARRAYS.has(type) &&
            typeof value[1] === "number" &&
            Array.isArray(values[value[1]]) &&
            values[value[1]][0] === "ArrayBuffer");
        if (reviver && !builtin) {
          let i = value[1];
          if (typeof i !== "number") i = values.push(value[1]) - 1;
          hydrating ??= new Set();
          if (hydrating.has(i)) throw new Error("Invalid circular reference");
          hydrating.add(i);
          hydrated[index] = reviver(hydrate(i));
          hydrating.delete(i);
          return hydrated[index];
        }
        switch (type) {
          case "Date":
            hydrated[index] = new Date(value[1]);
            break;
          case "Set": {
            const set = new Set();
            hydrated[index] = set;
            for (let i = 1; i < value.length; i += 1) set.add(hydrate(value[i]));
            break;
          }
          case "Map": {
            const map = new Map();
            hydrated[index] = map;
            for (let i = 1; i < value.length; i += 2) {
              map.set(hydrate(value[i]), hydrate(value[i + 1]));
            }
            break;
          }
          case "RegExp":
            hydrated[index] = new RegExp(value[1], value[2]);
            break;
          case "Object":
            hydrated[index] = Object(value[1]);
            break;
          case "BigInt":
            hydrated[index] = BigInt(value[1]);
            break;
          case "null": {
            const obj = Object.create(null);
            hydrated[index] = obj;
            for (let i = 1; i < value.length; i += 2) obj[value[i]] = hydrate(value[i + 1]);
            break;
          }
          case "ArrayBuffer":
            if (typeof value[1] !== "string") throw new Error("Invalid ArrayBuffer encoding");
            hydrated[index] = reviveArrayBuffer(value[1]);
            break;
          default:
            if (TYPED_ARRAYS.has(type)) {
              if (!Array.isArray(values[value[1]]) || values[value[1]][0] !== "ArrayBuffer") {
                throw new Error("Invalid data");
              }
              const C = globalThis[type];
              const typed = new C(hydrate(value[1]));
              hydrated[index] = value[2] !== undefined ? typed.subarray(value[2], value[3]) : typed;
              break;
            }
            throw new Error(`Unknown type ${type}`);
        }
      } else if (value[0] === SPARSE) {
        const len = value[1];
        const array = new Array(len);
        hydrated[index] = array;
        for (let i = 2; i < value.length; i += 2) array[value[i]] = hydrate(value[i + 1]);
      } else {
        const array = new Array(value.length);
        hydrated[index] = array;
        for (let i = 0; i < value.length; i += 1) {
          const n = value[i];
          if (n === HOLE) continue;
          array[i] = hydrate(n);
        }
      }
    } else {
      const object = {};
      hydrated[index] = object;
      for (const key of Object.keys(value)) {
        if (key === "__proto__") throw new Error("Cannot parse an object with a `__proto__` property");
        object[key] = hydrate(value[key]);
      }
    }
    return hydrated[index];
  }

  return hydrate(0);
}
