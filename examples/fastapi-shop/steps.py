"""Steps of the FastAPI shop. A real shop would call its payment provider in request_payment."""

from wfctl import step


@step
def reserve_stock(order_id: str) -> dict:
    return {"reservationId": f"res_{order_id}", "warehouse": "AMS-1"}


@step(max_retries=5)
def request_payment(order_id: str, cents: int) -> dict:
    # Here the provider would be told to call POST /webhooks/payment when the customer has paid.
    return {"paymentId": f"pay_{order_id}", "cents": cents}


@step
def release_stock(reservation_id: str) -> dict:
    return {"released": reservation_id}


@step
def ship(order_id: str, warehouse: str) -> dict:
    return {"carrier": "DHL", "from": warehouse, "tracking": f"TRK-{order_id}"}
