// Invoicing, with a bug to find: docs/DEBUGGING.md walks through debugging it.
// Load the customer's order lines, total them, ask a manager to approve large invoices
// (a hook), then send the invoice.
import { useStep, createHook } from "workflow";

const loadOrder = useStep("load_order");
const computeTotal = useStep("compute_total");
const sendInvoice = useStep("send_invoice");

export async function invoice(orderId) {
  const order = await loadOrder(orderId);
  console.log(`order ${orderId}: ${order.lines.length} lines for ${order.customer}`);
  const total = await computeTotal(order.lines);
  if (total >= 100000) {
    const decision = await createHook({ token: `approve:${orderId}`, metadata: { total } });
    if (!decision.approved) return { orderId, total, sent: false };
  }
  const receipt = await sendInvoice(order.customer, total);
  return { orderId, total, sent: true, receipt };
}
