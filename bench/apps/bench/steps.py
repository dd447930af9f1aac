"""Steps of the benchmark app: they do no work."""

from wfctl import step


@step
def noop(i: int) -> int:
    return i


@step
def echo_payload(data: str) -> dict:
    return {"data": data, "len": len(data)}
