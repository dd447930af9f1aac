"""Golden payloads: the real DevKit's store and real devalue 5.6.3 output."""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wfctl.serde import (
    UNDEFINED,
    BigInt,
    JSError,
    JSMap,
    PayloadError,
    Tagged,
    TypedArray,
    decode,
    encode,
    parse,
    stringify,
    unwrap_text,
    wrap_text,
)

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "golden_payloads.json").read_text(encoding="utf-8"))["payloads"]
CORPUS = json.loads((HERE / "devalue_corpus.json").read_text(encoding="utf-8"))["entries"]
CORPUS_BY_NAME = {e["name"]: e["text"] for e in CORPUS}


def _id(p: dict) -> str:
    return p["source"].split("/")[-1]


@pytest.mark.parametrize("p", GOLDEN, ids=_id)
def test_golden_payload_decodes_and_reencodes_exactly(p):
    raw = base64.b64decode(p["data"])
    assert raw == b"devl" + p["text"].encode()
    value = decode(raw, undefined=UNDEFINED)
    assert stringify(value) == p["text"]
    assert encode(value) == raw
    assert unwrap_text(raw) == p["text"]
    assert wrap_text(p["text"]) == raw
    # the default decode (undefined -> None) works too
    decode(raw)


def _golden(text: str) -> bytes:
    for p in GOLDEN:
        if p["text"] == text:
            return base64.b64decode(p["data"])
    raise AssertionError(f"not in the golden store: {text}")


def test_golden_values():
    assert decode(_golden("[[1],3]")) == [3]
    assert decode(_golden("[6]")) == 6
    assert decode(_golden('["ok after 2"]')) == "ok after 2"
    step_input = decode(_golden('[{"args":1,"closureVars":-1,"thisVal":-1},[2,3],0,1]'))
    assert step_input == {"args": [0, 1], "closureVars": None, "thisVal": None}
    assert decode(_golden('[{"approved":1,"amount":2},true,42]')) == {
        "approved": True,
        "amount": 42,
    }
    assert decode(_golden('[{"slept":1},true]')) == {"slept": True}


RICH_INPUT = (
    '[{"args":1,"closureVars":-1,"thisVal":-1},[2],{"d":3,"m":5,"s":10,"b":13,"u":15},'
    '["Date",4],"1970-01-02T00:00:00.000Z",["Map",6],[7],[8,9],"a",1,["Set",11],[9,12],2,'
    '["BigInt",14],"100000000000000000000",["Uint8Array",16],"AQID"]'
)


def test_golden_rich_values_types():
    v = decode(_golden(RICH_INPUT))
    (arg,) = v["args"]
    assert arg["d"] == datetime(1970, 1, 2, tzinfo=UTC)
    assert arg["d"].tzinfo is not None
    assert isinstance(arg["m"], JSMap) and arg["m"] == {"a": 1}
    assert arg["s"] == {1, 2}
    assert isinstance(arg["b"], BigInt) and arg["b"] == 10**20
    assert arg["u"] == b"\x01\x02\x03"


def test_golden_reproduced_from_python_values():
    args = {
        "d": datetime(1970, 1, 2, tzinfo=UTC),
        "m": JSMap({"a": 1}),
        "s": {1, 2},
        "b": 10**20,  # beyond 2**53: BigInt
        "u": b"\x01\x02\x03",
    }
    step_input = {"args": [args], "closureVars": UNDEFINED, "thisVal": UNDEFINED}
    assert stringify(step_input) == RICH_INPUT
    assert encode([3]) == _golden("[[1],3]")
    assert encode({"args": [0, 1], "closureVars": UNDEFINED, "thisVal": UNDEFINED}) == _golden(
        '[{"args":1,"closureVars":-1,"thisVal":-1},[2,3],0,1]'
    )
    assert encode({"approved": True, "amount": 42}) == _golden(
        '[{"approved":1,"amount":2},true,42]'
    )
    run_input = [
        {
            "when": datetime(1970, 1, 1, tzinfo=UTC),
            "bytes": bytes([9, 8]),
            "big": BigInt(7),
            "tags": {"x"},
        }
    ]
    assert encode(run_input) == _golden(
        '[[1],{"when":2,"bytes":4,"big":6,"tags":8},["Date",3],"1970-01-01T00:00:00.000Z",'
        '["Uint8Array",5],"CQg=",["BigInt",7],"7",["Set",9],[10],"x"]'
    )


# ------------------------------------------------------------ real devalue 5.6.3 corpus

LOSSLESS = [e for e in CORPUS if "lossy" not in e]


@pytest.mark.parametrize("entry", LOSSLESS, ids=lambda e: e["name"])
def test_devalue_corpus_round_trips_byte_exact(entry):
    text = entry["text"]
    assert stringify(parse(text, undefined=UNDEFINED)) == text


def test_corpus_is_mostly_lossless():
    assert len(LOSSLESS) >= 140


def test_corpus_lossy_entries_decode_as_documented():
    nan = parse(CORPUS_BY_NAME["nan"])
    assert math.isnan(nan)
    assert parse(CORPUS_BY_NAME["holes"]) == [1, None, 3, None, None, 6]
    assert parse(CORPUS_BY_NAME["holes"], undefined=UNDEFINED)[1] is UNDEFINED
    sparse = parse(CORPUS_BY_NAME["sparse"])
    assert len(sparse) == 1001 and sparse[5] == "y" and sparse[1000] == "x" and sparse[6] is None
    assert parse(CORPUS_BY_NAME["all-holes"]) == [None] * 5
    assert parse(CORPUS_BY_NAME["null-proto"]) == {"a": 1, "b": [2]}
    assert parse(CORPUS_BY_NAME["boxed"]) == [5, "s", False]
    assert parse(CORPUS_BY_NAME["date-invalid"]) is None
    assert parse(CORPUS_BY_NAME["set"]) == {1, "two", 3}
    assert parse(CORPUS_BY_NAME["lone-surrogates"]) == [
        "\ud800",
        "a\udc00b",
        "\U0001f600",
        "\ude00\ud83d",
        "x\ud83d",
    ]
    # lone surrogates are escaped on the way out (devalue would emit them raw)
    assert stringify(parse(CORPUS_BY_NAME["lone-surrogates"])) == (
        '[[1,2,3,4,5],"\\ud800","a\\udc00b","\U0001f600","\\ude00\\ud83d","x\\ud83d"]'
    )
    for name in ("date-far", "map-obj-key", "set-objs"):
        with pytest.raises(PayloadError):
            parse(CORPUS_BY_NAME[name])


def test_corpus_rich_types_decode():
    errs = parse(CORPUS_BY_NAME["error-builtins"])
    assert [e.name for e in errs] == [
        "EvalError",
        "RangeError",
        "ReferenceError",
        "SyntaxError",
        "TypeError",
        "URIError",
    ]
    fatal = parse(CORPUS_BY_NAME["fatal"])
    assert fatal == JSError("FatalError", "kaboom x", "FatalError: kaboom x\n    at boom")
    retry = parse(CORPUS_BY_NAME["retryable"])
    assert retry.name == "RetryableError"
    assert retry.extra["retryAfter"] == datetime.fromtimestamp(1_700_000_000, UTC)
    agg = parse(CORPUS_BY_NAME["aggregate"])
    assert agg.name == "AggregateError"
    assert [e.message for e in agg.extra["errors"]] == ["a", "b"]
    cause = parse(CORPUS_BY_NAME["error-cause"])
    assert cause.cause.name == "TypeError" and cause.cause.cause == "root"
    assert parse(CORPUS_BY_NAME["url"]) == Tagged("URL", "https://example.com/a?b=1#c")
    assert parse(CORPUS_BY_NAME["workflow-fn"]) == {
        "f": Tagged("WorkflowFunction", {"workflowId": "workflow//./w//f"})
    }
    typed = parse(CORPUS_BY_NAME["typed-all"])
    assert typed[0] == TypedArray.from_list("Int8Array", [-1, 2])
    assert typed[7].tolist() == [math.pi, 0.0]
    assert typed[8].tolist() == [-1, 2**62]
    m = parse(CORPUS_BY_NAME["map-cycle"])
    assert m["self"] is m
    o = parse(CORPUS_BY_NAME["cycle-object"])
    assert o["self"] is o and o["list"][0] is o
