from datetime import timedelta

from wfctl import BigInt, FatalError, JSMap, step


@step
def describe(value: dict) -> dict:
    return {
        "types": {k: type(v).__name__ for k, v in value.items()},
        "nextDay": value["when"] + timedelta(days=1),
        "bigPlusOne": BigInt(value["big"] + 1),
        "bytesReversed": bytes(reversed(value["bytes"])),
        "tags": set(value["tags"]) | {"c"},
        "prices": JSMap(value["prices"]),
    }


@step(max_retries=0)
def explode(reason: str) -> None:
    try:
        raise ValueError(f"inner {reason}")
    except ValueError as exc:
        raise FatalError(f"outer {reason}") from exc
