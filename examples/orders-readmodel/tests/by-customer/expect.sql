SELECT customer, order_id, total, status FROM orders_by_customer ORDER BY customer, order_id
