-- saga.lua: the order saga as a process manager.  It reacts to the
-- events of each order (partitioned by data.orderId) and emits the next
-- command: reserve the inventory, then charge the payment, then
-- schedule the shipping.  When the payment fails, it emits the
-- compensation: release the inventory it had reserved.
--
-- Commands are events too, emitted to the log given with --emit-to:
-- their meta.causationId is the event that caused them, and their ids
-- are derived from it, so a rerun never sends a command twice.
local function command(e, type, data)
  emit { type = type, stream = "order-" .. e.data.orderId, data = data }
end

return {
  partition_by = function(e) return e.data.orderId end,
  init = function() return { status = "new" } end,
  on = {
    OrderPlaced = function(s, e)
      s.status, s.sku, s.qty, s.amount =
        "reserving", e.data.sku, e.data.qty, e.data.amount
      command(e, "inventory.reserve",
              { orderId = e.data.orderId, sku = s.sku, qty = s.qty })
    end,
    InventoryReserved = function(s, e)
      s.status = "charging"
      command(e, "payment.charge",
              { orderId = e.data.orderId, amount = s.amount })
    end,
    PaymentSucceeded = function(s, e)
      s.status = "shipping"
      command(e, "shipping.schedule", { orderId = e.data.orderId })
    end,
    PaymentFailed = function(s, e)
      s.status, s.reason = "compensating", e.data.reason
      command(e, "inventory.release",
              { orderId = e.data.orderId, sku = s.sku, qty = s.qty })
    end,
    ShippingScheduled = function(s) s.status = "completed" end,
    InventoryReleased = function(s) s.status = "cancelled" end,
  },
}
