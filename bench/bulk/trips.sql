-- bench.trips: the bulk-load benchmark table, generated deterministically (no random()).
-- Every value derives from the row number through hashint8extended(g, seed), so each generation gives
-- the same rows on the same PostgreSQL major version. 14 columns, ~140 bytes/row on the heap.
-- Run by bench/bulk/run.sh:  psql -v rows=5000000 -v marker='...' -f trips.sql
\set ON_ERROR_STOP on
CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.trips;
CREATE TABLE bench.trips (
  id              bigint        NOT NULL,
  vendor_id       integer       NOT NULL,
  passenger_count integer       NOT NULL,
  pickup_zone     integer       NOT NULL,
  dropoff_zone    integer       NOT NULL,
  pickup_at       timestamptz   NOT NULL,
  dropoff_at      timestamptz   NOT NULL,
  trip_distance   double precision NOT NULL,
  payment_type    text          NOT NULL,
  fare_amount     numeric(10,2) NOT NULL,
  tip_amount      numeric(10,2) NOT NULL,
  total_amount    numeric(10,2) NOT NULL,
  is_shared       boolean       NOT NULL,
  note            varchar(64)
);
-- h.hN are non-negative 63-bit hashes of the row number, one per seed
INSERT INTO bench.trips
SELECT g,
       1 + h.h1 % 4,
       1 + h.h2 % 6,
       1 + h.h3 % 265,
       1 + h.h4 % 265,
       t.pickup,
       t.pickup + make_interval(secs => 120 + h.h6 % 5400),
       (h.h7 % 5000000) / 100000.0::double precision,
       (ARRAY['credit_card', 'cash', 'no_charge', 'dispute', 'unknown', 'voided'])[1 + h.h8 % 6],
       m.fare,
       m.tip,
       m.fare + m.tip + 2.50,
       h.h11 % 5 = 0,
       CASE WHEN h.h12 % 10 = 0 THEN NULL
            WHEN h.h12 % 10 = 1 THEN 'late, "rush hour" pickup'
            ELSE 'trip ' || substr(md5(g::text), 1, 24) END
  FROM generate_series(1, :rows::bigint) AS g
 CROSS JOIN LATERAL (SELECT hashint8extended(g, 1) & 9223372036854775807 AS h1,
                            hashint8extended(g, 2) & 9223372036854775807 AS h2,
                            hashint8extended(g, 3) & 9223372036854775807 AS h3,
                            hashint8extended(g, 4) & 9223372036854775807 AS h4,
                            hashint8extended(g, 5) & 9223372036854775807 AS h5,
                            hashint8extended(g, 6) & 9223372036854775807 AS h6,
                            hashint8extended(g, 7) & 9223372036854775807 AS h7,
                            hashint8extended(g, 8) & 9223372036854775807 AS h8,
                            hashint8extended(g, 9) & 9223372036854775807 AS h9,
                            hashint8extended(g, 10) & 9223372036854775807 AS h10,
                            hashint8extended(g, 11) & 9223372036854775807 AS h11,
                            hashint8extended(g, 12) & 9223372036854775807 AS h12) AS h
 CROSS JOIN LATERAL (SELECT timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => (h.h5 % 31536000000000) / 1000000.0) AS pickup) AS t
 CROSS JOIN LATERAL (SELECT ((h.h9 % 20000) / 100.0)::numeric(10,2) AS fare, ((h.h10 % 3000) / 100.0)::numeric(10,2) AS tip) AS m
 ORDER BY g;
ALTER TABLE bench.trips ADD PRIMARY KEY (id);
VACUUM (FREEZE, ANALYZE) bench.trips;
COMMENT ON TABLE bench.trips IS :'marker';
-- flush the generated pages now, so the first benchmark run does not pay for the checkpoint
CHECKPOINT;
