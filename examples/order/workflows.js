// An order flow: reserve stock, charge (a flaky payment provider, retried), wait for a
// manager's approval (a hook), cool off (a durable sleep), then ship.
import { useStep, sleep, createHook, FatalError, getWorkflowMetadata } from "workflow";

const reserveStock = useStep("reserve_stock");
const chargeCard = useStep("charge_card");
const ship = useStep("ship");
const refund = useStep("refund");

export async function orderFlow(orderId, cents) {
  const { workflowRunId } = getWorkflowMetadata();
  const reservation = await reserveStock(orderId);
  const charge = await chargeCard(orderId, cents);

  const approval = createHook({ token: `approve:${orderId}`, metadata: { orderId, cents } });
  const decision = await approval;
  if (!decision || decision.approved !== true) {
    await refund(orderId, charge.chargeId);
    throw new FatalError(`order ${orderId} was rejected by ${decision?.by ?? "someone"}`);
  }

  await sleep("2s"); // cooling-off period before shipping
  const shipment = await ship(orderId, reservation.warehouse);
  return { orderId, runId: workflowRunId, charged: charge.cents, approvedBy: decision.by, shipment };
}
