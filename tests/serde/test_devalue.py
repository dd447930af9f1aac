"""wfctl.serde.devalue: Python mapping, round trips, exact bytes, errors."""

from __future__ import annotations

import array
import math
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from wfctl.serde import (
    UNDEFINED,
    ArrayBuffer,
    BigInt,
    JSError,
    JSMap,
    JSRegExp,
    PayloadError,
    SerializationError,
    Tagged,
    TypedArray,
    parse,
    stringify,
    unflatten,
)
from wfctl.serde.devalue import js_number, stringify_string


def rt(value, **kw):
    return parse(stringify(value), **kw)


# ------------------------------------------------------------------ primitives


@pytest.mark.parametrize(
    "value,text",
    [
        (None, "[null]"),
        (True, "[true]"),
        (False, "[false]"),
        (0, "[0]"),
        (42, "[42]"),
        (-7, "[-7]"),
        (1.5, "[1.5]"),
        ("", '[""]'),
        ("hi", '["hi"]'),
        (UNDEFINED, "-1"),
        (math.nan, "-3"),
        (math.inf, "-4"),
        (-math.inf, "-5"),
        (-0.0, "-6"),
        (2**53 - 1, "[9007199254740991]"),
        (-(2**53 - 1), "[-9007199254740991]"),
        (2**53, '[["BigInt",1],"9007199254740992"]'),
        (-(2**70), '[["BigInt",1],"-1180591620717411303424"]'),
        (BigInt(5), '[["BigInt",1],"5"]'),
        (BigInt(0), '[["BigInt",1],"0"]'),
        ([], "[[]]"),
        ({}, "[{}]"),
    ],
)
def test_exact_primitives(value, text):
    assert stringify(value) == text


def test_special_round_trips():
    assert rt(None) is None
    assert math.isnan(rt(math.nan))
    assert rt(math.inf) == math.inf and rt(-math.inf) == -math.inf
    z = rt(-0.0)
    assert z == 0 and math.copysign(1, z) < 0
    assert rt(UNDEFINED) is None
    assert rt(UNDEFINED, undefined=UNDEFINED) is UNDEFINED
    v = rt([math.nan, -0.0, UNDEFINED, None], undefined=UNDEFINED)
    assert math.isnan(v[0]) and math.copysign(1, v[1]) < 0 and v[2] is UNDEFINED and v[3] is None


@pytest.mark.parametrize(
    "x,s",
    [
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (2.0**60, "1152921504606847000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (123e-20, "1.23e-18"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-2.5, "-2.5"),
        (3.0, "3"),
        (100.0, "100"),
        (123456789.125, "123456789.125"),
        (-1e-7, "-1e-7"),
    ],
)
def test_js_number_formatting(x, s):
    assert js_number(x) == s


def test_bigint_boundaries():
    assert type(rt(2**53 - 1)) is int
    big = rt(2**53)
    assert isinstance(big, BigInt) and big == 2**53
    assert isinstance(rt(BigInt(3)), BigInt)
    # a large JavaScript *number* stays a float in Python (not a BigInt)
    f = parse("[100000000000000000000]")
    assert isinstance(f, float) and f == 1e20
    assert stringify(f) == "[100000000000000000000]"
    assert stringify(float(2**53)) == "[9007199254740992]"


def test_int_and_float_dedupe_like_js_numbers():
    assert stringify([1, 1.0, True, "1"]) == '[[1,1,2,3],1,true,"1"]'


def test_primitive_subclasses():
    import enum

    class Color(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    assert stringify([Color.RED, Name("x")]) == '[[1,2],1,"x"]'


# ------------------------------------------------------------------ strings


def test_string_escaping_exact():
    s = '<\u2028\u2029\x00\x1f"\\\b\f\n\r\t\x7f/é'
    assert (
        stringify_string(s) == '"\\u003C\\u2028\\u2029\\u0000\\u001f\\"\\\\\\b\\f\\n\\r\\t\x7f/é"'
    )
    assert rt(s) == s


@pytest.mark.parametrize(
    "s",
    [
        "nul\x00byte",
        "\x00" * 5,
        "\U0001f600 emoji",
        "中文 ñ",
        "\ud800",
        "x\udfffy",
        "\ud83d\ude00",  # a surrogate *pair* as two code points
        "</script>",
        "".join(chr(i) for i in range(0x100)),
    ],
)
def test_string_round_trips(s):
    text = stringify(s)
    assert text.encode("utf-8")  # always valid UTF-8, even with lone surrogates
    back = parse(text)
    if s == "\ud83d\ude00":
        assert back == "\U0001f600"  # JSON joins an escaped pair into one character
    else:
        assert back == s


def test_lone_surrogates_are_escaped():
    assert stringify("a\ud800b") == '["a\\ud800b"]'
    assert stringify("\U0001f600") == '["\U0001f600"]'


# ------------------------------------------------------------------ containers


def test_object_and_key_order():
    # array-index keys come first in ascending order, like Object.keys in JavaScript
    assert stringify({"b": 1, "2": 2, "a": 3, "1": 4, "01": 5}) == (
        '[{"1":1,"2":2,"b":3,"a":4,"01":5},4,2,1,3,5]'
    )
    assert rt({"x": [1, {"y": None}]}) == {"x": [1, {"y": None}]}


def test_tuple_is_array():
    assert stringify((1, 2)) == "[[1,2],1,2]"
    assert rt((1, (2,))) == [1, [2]]


def test_shared_references():
    shared = {"k": 1}
    v = rt([shared, shared, {"again": shared}])
    assert v[0] is v[1] is v[2]["again"]
    assert stringify([shared, shared]) == '[[1,1],{"k":2},1]'


def test_cycles():
    lst: list = [1]
    lst.append(lst)
    assert stringify(lst) == "[[1,0],1]"
    back = parse(stringify(lst))
    assert back[1] is back

    d: dict = {"name": "n"}
    d["self"] = d
    d["list"] = [d]
    back = rt(d)
    assert back["self"] is back and back["list"][0] is back

    m = JSMap()
    m["me"] = m
    back = rt(m)
    assert back["me"] is back


def test_map_mapping():
    assert stringify(JSMap({"a": 1})) == '[["Map",1],[2],[3,4],"a",1]'
    m = rt({1: "one", None: "nil", 2.5: [1], (1, 2): "t", BigInt(7): "b"})
    assert isinstance(m, JSMap)
    assert m == {1: "one", None: "nil", 2.5: [1], (1, 2): "t", 7: "b"}
    assert isinstance(list(m)[4], BigInt)
    assert rt(JSMap()) == JSMap() and isinstance(rt(JSMap()), JSMap)
    assert type(rt({})) is dict


def test_set_mapping():
    assert stringify({"x"}) == '[["Set",1],[2],"x"]'
    assert rt({1, 2, "three"}) == {1, 2, "three"}
    assert rt(frozenset({4})) == {4}
    assert rt(set()) == set()
    s = {1}
    v = rt([s, s])
    assert v[0] is v[1]


def test_deep_nesting_is_not_recursive():
    v: object = "leaf"
    for _ in range(20000):
        v = [v]
    back = rt(v)
    depth = 0
    while isinstance(back, list):
        back = back[0]
        depth += 1
    assert depth == 20000 and back == "leaf"
    d: object = None
    for i in range(5000):
        d = {"v": d, "i": i}
    assert rt(d)["i"] == 4999


# ------------------------------------------------------------------ dates


def test_datetime():
    dt = datetime(2024, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    assert stringify(dt) == '[["Date",1],"2024-03-04T05:06:07.891Z"]'
    back = rt(dt)
    assert back == dt.replace(microsecond=891000)
    assert back.tzinfo is not None and back.utcoffset() == timedelta(0)
    # other offsets are converted to UTC
    tz = timezone(timedelta(hours=2))
    assert stringify(datetime(2024, 1, 1, 1, 0, tzinfo=tz)) == (
        '[["Date",1],"2023-12-31T23:00:00.000Z"]'
    )
    assert rt(datetime(1, 1, 1, tzinfo=UTC)) == datetime(1, 1, 1, tzinfo=UTC)
    assert stringify(datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)) == (
        '[["Date",1],"1969-12-31T23:59:59.999Z"]'
    )


def test_date_builtin_and_numeric_forms():
    assert parse('[["Date","2020-01-01T00:00:00.000Z"]]') == datetime(2020, 1, 1, tzinfo=UTC)
    assert parse('[["Date",1],0]') == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse('[["Date",1],"."]') is None


def test_naive_datetime_and_date_are_rejected():
    with pytest.raises(SerializationError, match="naive datetime") as ei:
        stringify({"when": datetime(2024, 1, 1)})
    assert ei.value.path == "value.when"
    with pytest.raises(SerializationError, match=r"datetime\.date"):
        stringify([date(2024, 1, 1)])


# ------------------------------------------------------------------ binary


def test_bytes_like():
    assert stringify(b"\x01\x02\x03") == '[["Uint8Array",1],"AQID"]'
    assert stringify(b"") == '[["Uint8Array",1],"."]'
    assert rt(b"") == b""
    assert rt(b"\x00\x00\xff") == b"\x00\x00\xff"
    assert rt(bytearray(b"ab")) == b"ab"
    assert rt(memoryview(b"xyz")) == b"xyz"
    assert type(rt(b"q")) is bytes
    ab = rt(ArrayBuffer(b"\x01\x02"))
    assert isinstance(ab, ArrayBuffer) and ab == b"\x01\x02"
    assert stringify(ArrayBuffer(b"")) == '[["ArrayBuffer",1],"."]'


def test_typed_arrays():
    t = TypedArray.from_list("Float64Array", [1.5, -2.0])
    assert rt(t) == t
    assert rt(TypedArray.from_list("BigInt64Array", [-1, 2**62])).tolist() == [-1, 2**62]
    assert stringify(array.array("i", [1, -1])) == stringify(
        TypedArray.from_list("Int32Array", [1, -1])
    )
    assert rt(array.array("d", [0.5])) == TypedArray.from_list("Float64Array", [0.5])
    with pytest.raises(ValueError):
        TypedArray("Int32Array", b"\x00")


def test_devalue_builtin_typed_array_form():
    text = '[["Uint8Array",1,1,3],["ArrayBuffer","AQIDBA=="]]'
    assert parse(text) == b"\x02\x03"
    assert parse('[["Int16Array",1],["ArrayBuffer","AQACAA=="]]').tolist() == [1, 2]


def test_regexp():
    assert stringify(JSRegExp("a+b", "gi")) == ('[["RegExp",1],{"source":2,"flags":3},"a+b","gi"]')
    assert rt(JSRegExp("x", "")) == JSRegExp("x", "")
    assert rt(re.compile("a.b", re.I | re.S)) == JSRegExp("a.b", "is")
    assert parse('[["RegExp","ab","g"]]') == JSRegExp("ab", "g")


# ------------------------------------------------------------------ errors


def test_jserror_exact_and_round_trip():
    e = JSError("Error", "boom", "Error: boom\n    at x")
    assert stringify(e) == (
        '[["Error",1],{"name":2,"message":3,"stack":4},"Error","boom","Error: boom\\n    at x"]'
    )
    assert rt(e) == e
    t = JSError("TypeError", "bad", "S")
    assert stringify(t) == '[["TypeError",1],{"message":2,"stack":3},"bad","S"]'
    assert rt(t) == t
    assert stringify(JSError("Error", "m")) == (
        '[["Error",1],{"name":2,"message":3,"stack":-1},"Error","m"]'
    )


def test_jserror_cause_chain_and_cycle():
    root = JSError("RangeError", "root", "s1")
    mid = JSError("Error", "mid", "s2", cause=root)
    top = JSError("FatalError", "top", "s3", cause=mid)
    back = rt(top)
    assert back == top
    assert back.cause.cause.name == "RangeError"
    assert back.cause.has_cause and not back.cause.cause.has_cause
    # cause explicitly undefined is kept distinct from "no cause"
    u = JSError("Error", "u", "s", cause=UNDEFINED, has_cause=True)
    assert '"cause":-1' in stringify(u)
    assert rt(u, undefined=UNDEFINED) == u
    # a cycle through cause
    a = JSError("Error", "a", "s")
    a.cause = a
    a.has_cause = True
    b = rt(a)
    assert b.cause is b


def test_jserror_tags_extra_and_name():
    r = JSError(
        "RetryableError",
        "later",
        "s",
        extra={"retryAfter": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)},
    )
    text = stringify(r)
    assert text == (
        '[["RetryableError",1],{"message":2,"stack":3,"retryAfter":4},"later","s",1700000000000]'
    )
    assert rt(r) == r
    agg = JSError("AggregateError", "many", "s", extra={"errors": [JSError("Error", "x", "y")]})
    back = rt(agg)
    assert back == agg and back.extra["errors"][0].message == "x"
    # an Error-tagged error with a subclass name keeps its tag
    odd = parse('[["Error",1],{"name":2,"message":3,"stack":4},"TypeError","m","s"]')
    assert odd.name == "TypeError" and odd.tag == "Error"
    assert stringify(odd).startswith('[["Error",')
    dom = parse('[["DOMException",1],{"message":2,"name":3,"stack":4},"m","AbortError","s"]')
    assert dom.name == "AbortError" and dom.wire_tag == "DOMException"
    assert (
        stringify(dom)
        == '[["DOMException",1],{"message":2,"name":3,"stack":4},"m","AbortError","s"]'
    )


def test_python_exceptions():
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError("outer msg") from inner
    except ValueError as exc:
        caught = exc
    back = rt(caught)
    assert isinstance(back, JSError)
    assert back.name == "ValueError" and back.message == "outer msg"
    assert back.stack.startswith("ValueError: outer msg\n    at test_python_exceptions (")
    assert back.cause.name == "KeyError" and back.cause.message == "'inner'"
    assert stringify(ValueError("x")).startswith('[["Error",1],{"name":2,"message":3,"stack":4}')

    class FatalError(Exception):
        pass

    class MyFatal(FatalError):
        pass

    assert stringify(FatalError("f")) == (
        '[["FatalError",1],{"message":2,"stack":3},"f","FatalError: f"]'
    )
    assert rt(MyFatal("g")).name == "FatalError"

    class RetryableError(Exception):
        def __init__(self, msg, retry_after):
            super().__init__(msg)
            self.retry_after = retry_after

    when = datetime(2030, 1, 1, tzinfo=UTC)
    back = rt(RetryableError("r", when))
    assert back.name == "RetryableError" and back.extra["retryAfter"] == when
    soon = rt(RetryableError("r", 5))  # numbers are seconds from now
    delta = soon.extra["retryAfter"] - datetime.now(UTC)
    assert timedelta(seconds=3) < delta <= timedelta(seconds=5)

    group = ExceptionGroup("grp", [ValueError("a"), TypeError("b")])
    back = rt(group)
    assert back.name == "AggregateError" and back.message == "grp"
    assert [e.name for e in back.extra["errors"]] == ["ValueError", "TypeError"]


def test_jserror_is_raisable_and_comparable():
    e = JSError("Error", "m", "s")
    with pytest.raises(JSError, match="m"):
        raise e
    assert e == JSError("Error", "m", "s")
    assert e != JSError("Error", "m", "other")
    assert hash(e) == hash(JSError("Error", "m", "s"))


# ------------------------------------------------------------------ tagged / reducers


def test_tagged_pass_through():
    text = '[{"f":1},["StepFunction",2],{"stepId":3},"step//./a//b"]'
    v = parse(text)
    assert v == {"f": Tagged("StepFunction", {"stepId": "step//./a//b"})}
    assert stringify(v) == text
    assert stringify(Tagged("URL", "https://x/")) == '[["URL",1],"https://x/"]'


def test_custom_reducers():
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    red = [("Point", lambda v: isinstance(v, Point) and {"x": v.x, "y": v.y})]
    text = stringify([Point(1, 2)], reducers=red)
    assert text == '[[1],["Point",2],{"x":3,"y":4},1,2]'
    assert parse(text) == [Tagged("Point", {"x": 1, "y": 2})]
    # non-matching values still use the built-in mapping
    assert stringify([b"\x01", {1}], reducers=red) == stringify([b"\x01", {1}])


# ------------------------------------------------------------------ errors


class Custom:
    pass


@pytest.mark.parametrize(
    "value,path,tname",
    [
        ({"result": [1, 2, {"when": Custom()}]}, "value.result[2].when", "Custom"),
        ([lambda: 1], "value[0]", "function"),
        (JSMap({"k": object()}), 'value.get("k")', "object"),
        ({1: {"a b": Custom()}}, 'value.get(1)["a b"]', "Custom"),
        ({Custom()}, "value.values()[0]", "Custom"),
        (JSError("Error", "m", cause=Custom()), "value.cause", "Custom"),
        (Custom(), "value", "Custom"),
        ({"x": 1 + 2j}, "value.x", "complex"),
    ],
)
def test_unsupported_values_name_type_and_path(value, path, tname):
    with pytest.raises(SerializationError) as ei:
        stringify(value)
    err = ei.value
    assert isinstance(err, TypeError)
    assert err.path == path
    assert tname in err.type_name
    assert str(err).endswith(f" at {path}")


def test_error_context_and_root():
    with pytest.raises(SerializationError) as ei:
        stringify({"a": [Custom()]}, context='step "add" return value', root="result")
    msg = str(ei.value)
    assert msg.startswith('step "add" return value: Cannot serialize a value of Python type ')
    assert "Custom at result.a[0]" in msg
    with pytest.raises(SerializationError, match="__proto__"):
        stringify({"__proto__": 1})


# ------------------------------------------------------------------ parse errors


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "{}",
        '"str"',
        "5",
        "-7",
        "[NaN]",
        "[[1]]",
        "[[-9]]",
        '[["Map",1],5]',
        '[{"__proto__":1},2]',
        "[[true]]",
        '[["Date",1],{}]',
        '[["BigInt","zz"]]',
        '[["Uint8Array",1],["Nope"]]',
        '[["Error",1],5]',
        "[[-7,99999999999]]",
    ],
)
def test_invalid_input_raises_payload_error(text):
    with pytest.raises(PayloadError):
        parse(text)


def test_unflatten_legacy():
    assert unflatten([[1], 3]) == [3]
    assert unflatten(-1) is None
    assert math.isnan(unflatten(-3))
