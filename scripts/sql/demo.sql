-- A small shop database for `make demo`: a few related tables, types users meet, a view, a table without a key.
DROP VIEW IF EXISTS order_totals;
DROP TABLE IF EXISTS order_items, orders, customers, products, audit_log CASCADE;
DROP TYPE IF EXISTS order_state;
CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped', 'cancelled');

CREATE TABLE customers (
  id bigint PRIMARY KEY,
  email varchar(200) NOT NULL,
  name text,
  country char(2),
  created_at timestamptz NOT NULL DEFAULT now(),
  marketing_opt_in boolean DEFAULT false,
  profile jsonb
);
CREATE TABLE products (
  sku uuid PRIMARY KEY,
  title text NOT NULL,
  price numeric(10,2) NOT NULL,
  weight_kg real,
  tags text[],
  image bytea
);
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers(id),
  state order_state NOT NULL,
  ordered_on date NOT NULL,
  delivery_window tstzrange,
  total numeric(12,2),
  note text
);
CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders(id),
  line int NOT NULL,
  sku uuid NOT NULL REFERENCES products(sku),
  quantity smallint NOT NULL,
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE audit_log (at timestamptz DEFAULT now(), actor text, action text, details json);
CREATE VIEW order_totals AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;

INSERT INTO customers SELECT i, 'customer' || i || '@example.com', 'Customer ' || i, (ARRAY['DE','FR','US','JP'])[1 + i % 4],
  timestamptz '2024-01-01 00:00:00+00' + (i || ' minutes')::interval, i % 3 = 0, jsonb_build_object('tier', i % 5)
  FROM generate_series(1, 5000) i;
INSERT INTO products SELECT md5('sku' || i)::uuid, 'Product ' || i, (i % 500) + 0.99, (i % 70) / 7.0, ARRAY['tag' || i % 7, 'cat' || i % 3], decode(md5('img' || i), 'hex')
  FROM generate_series(1, 500) i;
INSERT INTO orders SELECT i, 1 + i % 5000, (ARRAY['new','paid','shipped','cancelled'])[1 + i % 4]::order_state, date '2024-01-01' + i % 365,
  tstzrange(timestamptz '2024-02-01 08:00+00' + (i % 30 || ' days')::interval, timestamptz '2024-02-01 12:00+00' + (i % 30 || ' days')::interval),
  (i % 1000) * 1.25, CASE WHEN i % 10 = 0 THEN 'gift wrap ' || i END
  FROM generate_series(1, 20000) i;
INSERT INTO order_items SELECT o, l, md5('sku' || (1 + (o * l) % 500))::uuid, 1 + (o + l) % 4, ((o * l) % 500) + 0.99
  FROM generate_series(1, 20000) o, generate_series(1, 3) l;
INSERT INTO audit_log (actor, action, details) SELECT 'user' || i % 10, 'login', json_build_object('ip', '10.0.0.' || i % 255) FROM generate_series(1, 1000) i;
ANALYZE;
