-- orders.lua: the query side of the order service (CQRS).  One state
-- per order (partitioned by data.orderId): evproject writes it as a row
-- of the table "orders" (getOrder(id)).  The handlers also keep the
-- table orders_by_customer (getOrdersByCustomer(customerId)) with the
-- db handle, in the transaction that saves the checkpoint.
return {
  partition_by = function(e) return e.data.orderId end,
  on = {
    OrderPlaced = function(s, e, db)
      s.customer, s.total, s.status = e.data.customerId, e.data.total, "placed"
      db:exec([[INSERT OR REPLACE INTO orders_by_customer
                (customer, order_id, total, status) VALUES (?, ?, ?, ?)]],
              e.data.customerId, e.data.orderId, e.data.total, "placed")
    end,
    OrderShipped = function(s, e, db)
      s.status, s.carrier = "shipped", e.data.carrier
      db:exec("UPDATE orders_by_customer SET status = ? WHERE order_id = ?",
              "shipped", e.data.orderId)
    end,
    OrderCancelled = function(s, e, db)
      s.status, s.reason = "cancelled", e.data.reason
      db:exec("DELETE FROM orders_by_customer WHERE order_id = ?",
              e.data.orderId)
    end,
  },
}
