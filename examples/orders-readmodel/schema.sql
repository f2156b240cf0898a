-- The read model's own table, beside the "orders" table evproject keeps.
-- evproject only writes it through the projection's db handle.
CREATE TABLE IF NOT EXISTS orders_by_customer (
	customer TEXT NOT NULL,
	order_id TEXT PRIMARY KEY,
	total INTEGER NOT NULL,
	status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer_customer
	ON orders_by_customer (customer);
