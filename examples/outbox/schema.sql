-- The application's database: its own table, and the outbox that the
-- relay publishes from.  An order and its event are written in one
-- transaction (place-order.sh), so there is never one without the other.
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS orders (
	id TEXT PRIMARY KEY,
	customer TEXT NOT NULL,
	amount INTEGER NOT NULL,
	placed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- publishing order
	id TEXT NOT NULL UNIQUE,                -- becomes the event id
	type TEXT NOT NULL,
	stream TEXT NOT NULL,
	data TEXT NOT NULL,                     -- JSON
	created_at TEXT NOT NULL,
	published_at TEXT                       -- NULL until the relay is sure
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq)
	WHERE published_at IS NULL;
