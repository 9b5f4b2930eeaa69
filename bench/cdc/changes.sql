-- The CDC benchmark's workload on benchcdc.items, deterministic: :txns transactions, each with
-- :per_txn changes = 70% updates, 20% inserts, 10% deletes (as three statements, in that order).
--   updates: distinct existing rows never deleted (id % 20 <> 0), visited in a scrambled order
--   inserts: new ids after :rows
--   deletes: distinct rows with id % 20 = 0 (needs :txns * deletes per transaction * 20 <= :rows)
-- Run by bench/cdc/run.sh:  psql -v rows=1000000 -v txns=50 -v per_txn=10000 -f changes.sql
\set ON_ERROR_STOP on
\set QUIET on
SELECT (:per_txn * 7 / 10) AS upd, (:per_txn * 2 / 10) AS ins, (:per_txn - :per_txn * 7 / 10 - :per_txn * 2 / 10) AS del \gset
SELECT :rows / 20 * 19 AS live \gset
-- one transaction per round, generated as SQL text and run with \gexec
SELECT format($f$
BEGIN;
UPDATE benchcdc.items i SET status = (ARRAY['paid', 'packed', 'shipped', 'delivered', 'returned', 'cancelled'])[1 + (i.id + %1$s) %% 6],
  amount = i.amount + 1.25, qty = coalesce(i.qty, 0) + 1, score = i.score / 2, updated_at = now(),
  note = 'updated in round %1$s'
  FROM (SELECT (k / 19) * 20 + k %% 19 + 1 AS id FROM (SELECT ((%1$s::bigint * %2$s + j) * 104729) %% %5$s AS k FROM generate_series(0, %2$s - 1) j) s) u
  WHERE i.id = u.id;
INSERT INTO benchcdc.items (id, customer_id, status, amount, qty, score, created_at, updated_at, note, seq)
  SELECT %6$s + %1$s::bigint * %3$s + j, 1 + j %% 50000, 'new', j / 100.0, 1 + j %% 40, j / 7.0, now(), now(), 'inserted in round %1$s', 0
  FROM generate_series(1, %3$s) j;
DELETE FROM benchcdc.items WHERE id IN (SELECT (%1$s::bigint + %7$s * j) * 20 + 20 FROM generate_series(0, %4$s - 1) j);
COMMIT;$f$, r, :upd, :ins, :del, :live, :rows, :txns)
FROM generate_series(0, :txns - 1) r \gexec
