"""Steps of the invoices example (docs/DEBUGGING.md). `compute_total` has a bug on purpose."""

import logging

from wfctl import get_step_metadata, step

log = logging.getLogger("invoices")

ORDERS = {
    "o-1": {"customer": "ada@example.com", "lines": [{"sku": "pen", "qty": 3, "cents": 250}]},
    # a line without "qty": the shop's old export format, meaning one unit
    "o-2": {"customer": "bob@example.com", "lines": [{"sku": "ink", "cents": 900}]},
    "o-3": {"customer": "cy@example.com", "lines": [{"sku": "desk", "qty": 2, "cents": 65000}]},
}


@step
def load_order(order_id: str) -> dict:
    return ORDERS[order_id]


@step
def compute_total(lines: list) -> int:
    print(f"computing a total over {len(lines)} lines")
    return sum(line["qty"] * line["cents"] for line in lines)


@step
def send_invoice(customer: str, cents: int) -> str:
    log.warning("sending %d cents to %s", cents, customer)
    return f"inv-{get_step_metadata().step_id[-6:]}"


@step
def check_credit(customer: str) -> bool:
    return not customer.startswith("blocked")


# Not used yet: docs/DEBUGGING.md ("Checking a code change with replay") adds a call to it.
@step
def check_credit(customer: str) -> bool:
    return not customer.startswith("blocked")
