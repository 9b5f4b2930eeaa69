-- benchcdc.items: the CDC benchmark table, generated deterministically (no random()): every value derives
-- from the row number through hashint8extended(g, seed). 10 columns of mixed types, ~110 bytes/row.
-- `seq` is 0 after generation; the latency phase writes a sequence number into it (bench/cdc/helpers.ts).
-- Run by bench/cdc/run.sh:  psql -v rows=1000000 -v marker='...' -f items.sql
\set ON_ERROR_STOP on
CREATE SCHEMA IF NOT EXISTS benchcdc;
DROP TABLE IF EXISTS benchcdc.items;
CREATE TABLE benchcdc.items (
  id          bigint        PRIMARY KEY,
  customer_id integer       NOT NULL,
  status      text          NOT NULL,
  amount      numeric(12,2) NOT NULL,
  qty         integer,
  score       double precision,
  created_at  timestamptz   NOT NULL,
  updated_at  timestamptz   NOT NULL,
  note        varchar(80),
  seq         bigint        NOT NULL DEFAULT 0
);
INSERT INTO benchcdc.items
SELECT g,
       1 + h.h1 % 50000,
       (ARRAY['new', 'paid', 'packed', 'shipped', 'delivered', 'returned'])[1 + h.h2 % 6],
       (h.h3 % 10000000) / 100.0,
       CASE WHEN h.h4 % 20 = 0 THEN NULL ELSE 1 + h.h4 % 40 END,
       (h.h5 % 1000000) / 1000.0::double precision,
       t.created,
       t.created + make_interval(secs => h.h6 % 86400),
       CASE WHEN h.h7 % 8 = 0 THEN NULL ELSE 'item ' || g || ' note ' || h.h7 % 1000 END,
       0
FROM generate_series(1, :rows) g
CROSS JOIN LATERAL (SELECT abs(hashint8extended(g, 1)) AS h1, abs(hashint8extended(g, 2)) AS h2,
  abs(hashint8extended(g, 3)) AS h3, abs(hashint8extended(g, 4)) AS h4, abs(hashint8extended(g, 5)) AS h5,
  abs(hashint8extended(g, 6)) AS h6, abs(hashint8extended(g, 7)) AS h7, abs(hashint8extended(g, 8)) AS h8) h
CROSS JOIN LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => h.h8 % 31536000) AS created) t;
VACUUM (FREEZE, ANALYZE) benchcdc.items;
COMMENT ON TABLE benchcdc.items IS :'marker';
