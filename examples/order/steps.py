"""Steps of the order example. `charge_card` fails on its first attempt, like a flaky provider."""

from wfctl import RetryableError, get_step_metadata, step


@step
def reserve_stock(order_id: str) -> dict:
    return {"orderId": order_id, "warehouse": "AMS-1"}


@step(name="charge_card", max_retries=5)
def charge(order_id: str, cents: int) -> dict:
    meta = get_step_metadata()
    if meta.attempt == 1:
        raise RetryableError("payment provider timed out", retry_after="1s")
    return {"chargeId": f"ch_{order_id}", "cents": cents, "attempts": meta.attempt}


@step
def refund(order_id: str, charge_id: str) -> dict:
    return {"refunded": charge_id}


@step
async def ship(order_id: str, warehouse: str) -> dict:
    return {"carrier": "DHL", "from": warehouse, "tracking": f"TRK-{order_id}"}
