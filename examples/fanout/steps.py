import time

from wfctl import step


@step
def square(i: int) -> int:
    return i * i


@step
def fetch_quote(exchange: str, delay_s: float) -> dict:
    time.sleep(delay_s)
    return {"exchange": exchange, "price": 101.5}
