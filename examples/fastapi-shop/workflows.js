// The order workflow of the FastAPI shop: reserve stock, ask the payment provider for a
// payment, wait for its webhook (a typed hook: the payload is checked against the schema on the
// host before it is recorded), then ship or release the stock.
import { defineHook, useStep, FatalError } from "workflow";

const reserveStock = useStep("reserve_stock");
const requestPayment = useStep("request_payment");
const ship = useStep("ship");
const releaseStock = useStep("release_stock");

const paymentResult = defineHook({
  schema: {
    type: "object",
    properties: {
      orderId: { type: "string" },
      paymentId: { type: "string", minLength: 1 },
      status: { enum: ["paid", "declined"] },
    },
    required: ["orderId", "paymentId", "status"],
  },
});

export async function orderFlow(orderId, cents) {
  const reservation = await reserveStock(orderId);
  const payment = await requestPayment(orderId, cents);
  const result = await paymentResult.create({ token: `payment:${orderId}` });
  if (result.status !== "paid") {
    await releaseStock(reservation.reservationId);
    throw new FatalError(`payment ${result.paymentId} for order ${orderId} was declined`);
  }
  const shipment = await ship(orderId, reservation.warehouse);
  return { orderId, paymentId: payment.paymentId, cents, shipment };
}
