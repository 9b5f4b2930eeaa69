/** validate/status logic without the stack: WAL positions, verdicts on differing tables, rendering. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeDuckdbType } from '../../lib/validate/iceberg.js';
import { appliedLsn, classifyDifference, lsnCompare, lsnDistance, minLsn, validateExitCode, type PositionFacts } from '../../lib/validate/positions.js';
import { renderStatusReport, renderValidateReport } from '../../lib/validate/render.js';
import type { StatusReport } from '../../lib/validate/status.js';
import type { ValidateReport } from '../../lib/validate/validate.js';

describe('WAL positions', () => {
  test('compare, distance and minimum of X/Y positions', () => {
    assert.equal(lsnCompare('0/16B3748', '0/16B3748'), 0);
    assert.equal(lsnCompare('1/0', '0/FFFFFFFF'), 1);
    assert.equal(lsnCompare('0/A', '0/B'), -1);
    assert.equal(lsnDistance('0/100', '0/180'), 128n);
    assert.equal(lsnDistance('0/180', '0/100'), 0n, 'never negative');
    assert.equal(minLsn(['0/200', null, '0/1F0', '1/0']), '0/1F0');
    assert.equal(minLsn([null, undefined]), null);
  });

  test('a table has applied CDC’s last position, else the load’s snapshot', () => {
    assert.equal(appliedLsn({ last_applied_lsn: '0/300', snapshot_lsn: '0/100' }), '0/300');
    assert.equal(appliedLsn({ last_applied_lsn: null, snapshot_lsn: '0/100' }), '0/100');
    assert.equal(appliedLsn(undefined), null);
  });
});

describe('verdict on a table whose sides differ', () => {
  const facts = (f: Partial<PositionFacts>): PositionFacts => ({
    sourceLsn: '0/1000', applied: '0/800', loadStatus: 'completed', streaming: false, caughtUp: false, slotName: 'lakeloader_app', ...f,
  });

  test('CDC streaming and behind: in flux, not a mismatch', () => {
    const v = classifyDifference(facts({ streaming: true }));
    assert.equal(v.result, 'in_flux');
    assert.match(v.note, /source at 0\/1000, lakehouse at 0\/800: CDC has not applied the latest changes yet \(use --wait-for-lsn\)/);
  });

  test('nothing streams: the lakehouse will not catch up, a mismatch', () => {
    const v = classifyDifference(facts({}));
    assert.equal(v.result, 'mismatch');
    assert.match(v.note, /no connector streams from slot lakeloader_app/);
  });

  test('caught up (slot past the source position, topic consumed) or at the same position: a mismatch', () => {
    assert.equal(classifyDifference(facts({ streaming: true, caughtUp: true })).result, 'mismatch');
    assert.equal(classifyDifference(facts({ streaming: true, applied: '0/1000' })).result, 'mismatch');
  });

  test('lakehouse past the source snapshot: the table changed while validating', () => {
    const v = classifyDifference(facts({ applied: '0/2000' }));
    assert.equal(v.result, 'in_flux');
    assert.match(v.note, /past the source snapshot/);
  });

  test('unfinished loads and unknown positions are mismatches', () => {
    assert.deepEqual(classifyDifference(facts({ loadStatus: 'failed', streaming: true })), { result: 'mismatch', note: 'load_status failed' });
    assert.equal(classifyDifference(facts({ applied: null, streaming: true })).result, 'mismatch');
  });

  test('exit code 0 only when every table is ok', () => {
    assert.equal(validateExitCode(['ok', 'ok']), 0);
    assert.equal(validateExitCode([]), 0);
    assert.equal(validateExitCode(['ok', 'in_flux']), 1);
    assert.equal(validateExitCode(['missing_in_source']), 1);
  });

  test('DuckDB type spellings compare equal', () => {
    assert.equal(normalizeDuckdbType('TIMESTAMP WITH TIME ZONE'), 'TIMESTAMPTZ');
    assert.equal(normalizeDuckdbType('DECIMAL(12, 2)'), 'DECIMAL(12,2)');
    assert.equal(normalizeDuckdbType('varchar'), 'VARCHAR');
  });
});

describe('rendering', () => {
  const report: ValidateReport = {
    source: 'app', namespace: 'bronze.app', source_lsn: '0/1000', source_snapshot_at: '2026-01-01T00:00:00.000Z', deep: true,
    slot: { name: 'lakeloader_app', exists: true, active: false, confirmed_flush_lsn: '0/800' }, waited_seconds: null,
    tables: [
      { table: 'public.a', iceberg_table: 'bronze.app.a', source_rows: 10, iceberg_rows: 10, difference: 0, load_status: 'completed', applied_lsn: '0/800', last_snapshot_at: '2026-01-01T00:00:00.000Z', result: 'ok', detail: '' },
      { table: 'public.b', iceberg_table: 'bronze.app.b', source_rows: 10, iceberg_rows: 11, difference: 1, load_status: 'completed', applied_lsn: '0/800', last_snapshot_at: null, result: 'mismatch', detail: '1 row(s) more in Iceberg; extra id=7, "quoted"' },
      { table: 'public.c', iceberg_table: null, source_rows: 3, iceberg_rows: null, difference: null, load_status: null, applied_lsn: null, last_snapshot_at: null, result: 'missing_in_iceberg', detail: 'table is in the source but not in Iceberg' },
    ],
    hidden: 1,
    summary: { tables: 4, ok: 2, mismatch: 1, in_flux: 0, not_replicated: 0, missing_in_iceberg: 1, missing_in_source: 0, error: 0 },
    exit_code: 1,
  };

  test('validate: table with a header, details and a summary; JSON is the whole report; CSV the rows', () => {
    const text = renderValidateReport(report, 'table');
    assert.match(text, /^source app at LSN 0\/1000 \(snapshot 2026-01-01T00:00:00.000Z\), Iceberg namespace bronze.app, slot lakeloader_app not streaming, contents compared \(--deep\)\n/);
    assert.match(text, /public\.b +│ bronze\.app\.b +│ 10 +│ 11 +│ 1 +│ completed/);
    assert.match(text, /public\.b \(mismatched\): 1 row\(s\) more in Iceberg; extra id=7, "quoted"\n/);
    assert.match(text, /4 tables: 2 ok, 1 mismatched, 1 missing in Iceberg \(1 empty hidden\)\n$/);
    assert.deepEqual(JSON.parse(renderValidateReport(report, 'json')), report);
    const csv = renderValidateReport(report, 'csv').trim().split('\n');
    assert.equal(csv.length, 4);
    assert.equal(csv[2], 'public.b,bronze.app.b,10,11,1,completed,0/800,,mismatch,"1 row(s) more in Iceberg; extra id=7, ""quoted"""');
  });

  test('status: concise lines; JSON is the whole report', () => {
    const status: StatusReport = {
      source: 'app', namespace: 'bronze.app', loaded: true,
      tables: { total: 4, by_status: { skipped: 1, failed: 1, completed: 2 } }, rows_loaded: 1234,
      problems: [{ table: 'public.x', load_status: 'failed', error: 'column at holds infinity\nmore', updated_at: null }],
      cdc: {
        source_lsn: '0/2000', min_applied_lsn: '0/1000', min_applied_table: 'public.a', lsn_distance_bytes: 4096, events_applied: 7, last_event_at: null,
        slot: { name: 'lakeloader_app', exists: true, active: true, confirmed_flush_lsn: '0/1800', behind_bytes: 2048 },
        kafka: { cluster: 'main', group: 'lakeloader-cdc-app', reachable: true, topics: [{ topic: 'app.public.a', partitions: 1, lag: 5, committed: true }], missing_topics: ['app.public.b'], total_lag: 5 },
      },
      schema_changes: [{ table_name: 'public.a', change_timestamp: '2026-01-02T00:00:00Z', change_type: 'column_added', column_name: 'email' }],
      dead_letters: 3,
      maintenance: null,
      exit_code: 1,
    };
    const text = renderStatusReport(status, 'table');
    assert.match(text, /tables: 4 \(2 completed, 1 failed, 1 skipped\), 1234 rows loaded\n/);
    assert.match(text, / {2}FAILED public\.x: column at holds infinity\n/);
    assert.match(text, /CDC: source at 0\/2000; lowest applied 0\/1000 \(public\.a\), 4\.0 KiB of WAL behind; 7 events applied\n/);
    assert.match(text, /slot lakeloader_app: streaming, confirmed 0\/1800 \(2\.0 KiB behind\)/);
    assert.match(text, /Kafka main, group lakeloader-cdc-app: lag 5 message\(s\) over 1 topic\(s\), 1 topic\(s\) not created yet\n {4}app\.public\.a: 5\n/);
    assert.match(text, /2026-01-02T00:00:00Z public\.a column_added email/);
    assert.match(text, /dead letters: 3\nmaintenance: never ran [^\n]*\nstatus: 1 table\(s\) failed or blocked\n$/);
    assert.deepEqual(JSON.parse(renderStatusReport(status, 'json')), status);
    const unreachable = renderStatusReport({ ...status, cdc: { ...status.cdc, kafka: { ...status.cdc.kafka, reachable: false, error: 'no answer within 10s', topics: [], total_lag: null } as StatusReport['cdc']['kafka'] } }, 'table');
    assert.match(unreachable, /Kafka main: unreachable \(no answer within 10s\)/);
  });
});
