/**
 * lib/cdc/debezium.ts against real Debezium events (test/fixtures/debezium: Debezium 3.4.3 on
 * PostgreSQL 15, see each fixture's description): every value of every type must come out as the
 * text PostgreSQL's COPY gives for the same row under EXACT_TEXT_SETTINGS (captured with it), the
 * text the bulk load converts into Iceberg. What Debezium itself loses is listed per config below;
 * the list must stay exact (a loss that no longer happens fails the test too).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  timestamptzText, timestamptzTextExact,
  DecodeError, columnFromField, debeziumColumnFromPg, debeziumEncoding, decimalText, decodeChangeEvent, float4Text, float8Text, parseJson,
  pgColumnFromDebezium, type ConnectField, type ConnectSchema, type DecodeOptions, type DecodedEvent, type Row,
} from '../../lib/cdc/debezium.js';
import { change, decode, fixture, valueBytes, type Fixture, type FixtureEvent } from '../helpers/debezium-fixtures.js';
import { mapPgColumn } from '../../lib/source/postgres/type-mapping.js';

/** The id of the source row an event is about (the fixtures' tables key on `id`). */
const rowId = (e: FixtureEvent) => e.expected.after?.id ?? e.expected.before?.id ?? null;
const sourceRow = (e: FixtureEvent) => String(Number(rowId(e)) % 1000);
const isSnapshot = (e: FixtureEvent) => e.step === 'snapshot';

// ---------------------------------------------------------------------------------------------
// What Debezium 3.4.3 loses, per connector config: cells that cannot equal COPY's text
// ---------------------------------------------------------------------------------------------

interface KnownLoss {
  columns: string[];
  when?: (e: FixtureEvent) => boolean;
  why: string;
}

const LOSSES_OF_EVERY_CONFIG: KnownLoss[] = [
  { columns: ['c_interval_array'], why: 'interval[] has no Debezium converter: the column is left out of every event' },
  { columns: ['c_int_2d'], why: 'a multi-dimensional array arrives as one NULL per sub-array' },
  { columns: ['c_timetz_array'], why: 'timetz[] elements arrive in UTC and without fractions of a second, COPY prints the offsets written' },
  { columns: ['c_varbit', 'c_varbit10'], why: 'varbit arrives as a number without its length: leading zeros are lost' },
  { columns: ['c_date_array'], when: (e) => sourceRow(e) === '6', why: 'dates in arrays are read through JDBC, which drops the BC era' },
  {
    columns: ['c_date', 'c_timestamp', 'c_timestamptz', 'c_ts3'], when: (e) => isSnapshot(e) && sourceRow(e) === '6',
    why: "Debezium's own snapshot reads dates through JDBC (Julian calendar before 1583, no BC era)",
  },
];

const UNKNOWN_TYPE_COLUMNS = ['c_tsquery', 'c_line', 'c_lseg', 'c_box', 'c_path', 'c_polygon', 'c_circle', 'c_int4multirange', 'c_pair', 'c_pg_lsn', 'c_xid8'];

const LOSSES_OF_CURRENT_CONFIG: KnownLoss[] = [
  ...LOSSES_OF_EVERY_CONFIG,
  { columns: UNKNOWN_TYPE_COLUMNS, why: 'no converter and include.unknown.datatypes=false: left out of every event' },
  { columns: ['c_name'], when: (e) => !isSnapshot(e), why: '`name` is an unknown type while streaming (include.unknown.datatypes=false): NULL' },
  { columns: ['c_numeric'], why: 'decimal.handling.mode=precise: VariableScaleDecimal strips trailing zeros (1.50 → 1.5), NaN/±Infinity become NULL' },
  { columns: ['c_numeric_10_2'], why: 'decimal.handling.mode=precise: NaN becomes NULL' },
  { columns: ['c_money'], when: isSnapshot, why: "Debezium's snapshot reads money as a double" },
];

/** Events whose decoding must fail, naming the column. */
interface ExpectedError {
  when: (e: FixtureEvent) => boolean;
  message: RegExp;
}

const TIMESTAMP_BEYOND_INT64: ExpectedError = {
  when: (e) => sourceRow(e) === '8',
  message: /after\.c_timestamp \(TIMESTAMP\): not a PostgreSQL timestamp/,
};

const CASES: { file: string; losses: KnownLoss[]; errors: ExpectedError[] }[] = [
  { file: 'all-types.current-config.json', losses: LOSSES_OF_CURRENT_CONFIG, errors: [TIMESTAMP_BEYOND_INT64] },
  {
    file: 'all-types.recommended-config.json',
    losses: LOSSES_OF_EVERY_CONFIG,
    errors: [TIMESTAMP_BEYOND_INT64, { when: (e) => isSnapshot(e) && ['1', '2'].includes(sourceRow(e)), message: /after\.c_money \(MONEY\): not a plain decimal; value "-?9\.223372036854776E16"/ }],
  },
  {
    // streamed rows 1-3 and the update only: no BC dates, no snapshot
    file: 'all-types.base64-unknown-types.json',
    losses: [
      ...LOSSES_OF_EVERY_CONFIG.filter((l) => !l.when),
      { columns: ['c_pair'], why: 'a composite arrives base64-encoded: without knownColumns it reads as a domain over text' },
    ],
    errors: [],
  },
];

describe('Debezium events → the text COPY prints (real events)', () => {
  for (const { file, losses, errors } of CASES) {
    test(`${file}: every value equals PostgreSQL's, except Debezium's listed losses`, () => {
      const f = fixture(file);
      const unexplained: string[] = [];
      const lossesSeen = new Set<KnownLoss>();
      const errorsSeen = new Set<ExpectedError>();
      let compared = 0;
      for (const e of f.events) {
        const expectedError = errors.find((x) => x.when(e));
        if (expectedError) {
          assert.throws(() => decode(f, e), (err: unknown) => err instanceof DecodeError && expectedError.message.test(err.message), `${e.step}@${e.offset}`);
          errorsSeen.add(expectedError);
          continue;
        }
        const decoded = decode(f, e);
        if (e.op === 'tombstone') {
          assert.equal(decoded.kind, 'tombstone');
          continue;
        }
        const c = change(decoded);
        assert.equal(c.op, e.op);
        assert.equal(`${c.schema}.${c.table}`, f.table);
        for (const which of ['before', 'after'] as const) {
          const expected = e.expected[which];
          if (!expected) continue;
          for (const [column, text] of Object.entries(expected)) {
            compared++;
            const actual = c[which]?.[column];
            if (actual === text) continue;
            const loss = losses.find((l) => l.columns.includes(column) && (l.when?.(e) ?? true));
            if (loss) lossesSeen.add(loss);
            else unexplained.push(`${e.step} ${e.op}@${e.offset} ${which}.${column}: COPY ${JSON.stringify(text)}, decoded ${JSON.stringify(actual)}`);
          }
        }
      }
      assert.deepEqual(unexplained, []);
      assert.deepEqual(losses.filter((l) => !lossesSeen.has(l)).map((l) => l.why), [], 'every listed loss still happens');
      assert.deepEqual(errors.filter((x) => !errorsSeen.has(x)).map((x) => x.message.source), []);
      assert.ok(compared >= 400, `${compared} values compared`);
    });
  }

  test('the LSN, transaction and timestamps are read exactly from the raw event', () => {
    const f = fixture('all-types.current-config.json');
    for (const e of f.events.filter((x) => x.valuePayload && sourceRow(x) !== '8')) {
      const c = change(decode(f, e));
      const source = /"source":\{.*"txId":(\d+),"lsn":(\d+)/.exec(e.valuePayload!)!;
      assert.equal(c.lsn, BigInt(source[2]!));
      assert.equal(c.txId, BigInt(source[1]!));
      assert.equal(c.tsMs, Number(/"ts_ms":(\d+),"ts_us"[^}]*\}$/.exec(e.valuePayload!)![1]));
      assert.equal(c.snapshot, isSnapshot(e));
    }
  });

  test('an LSN beyond 2^53 keeps every digit', () => {
    const f = fixture('keyed.current-config.json');
    const e = f.events.find((x) => x.op === 'c')!;
    const huge = '18446744073709551615';
    const c = change(decode(f, { ...e, valuePayload: e.valuePayload!.replace(/"lsn":\d+/, `"lsn":${huge}`) }));
    assert.equal(c.lsn, 18446744073709551615n);
  });

  test('bigint extremes keep every digit', () => {
    const f = fixture('all-types.recommended-config.json');
    const c = change(decode(f, f.events.find((e) => rowId(e) === '1001')!));
    assert.equal(c.after!.c_bigint, '9223372036854775807');
    assert.equal(c.after!.c_bigint_array, '{9223372036854775807,-9223372036854775808}');
  });

  test('a primary-key change arrives as delete, tombstone and create; a delete as delete and tombstone', () => {
    const f = fixture('all-types.current-config.json');
    const keyChange = f.events.filter((e) => e.step === 'update-key' || (e.step === 'tombstone' && e.offset === '68'));
    assert.deepEqual(keyChange.map((e) => e.op), ['d', 'tombstone', 'c']);
    const [deleted, tombstone, created] = keyChange.map((e) => decode(f, e));
    assert.deepEqual(change(deleted!).key, { id: '1002' });
    assert.equal(change(deleted!).after, null);
    assert.deepEqual(tombstone, { kind: 'tombstone', key: { id: '1002' } });
    assert.deepEqual(change(created!).key, { id: '5000' });
    assert.equal(change(created!).after!.c_text, '');
  });

  test('REPLICA IDENTITY DEFAULT: updates without before, deletes with the key only, unchanged TOAST values left out', () => {
    for (const file of ['keyed.current-config.json', 'keyed.recommended-config.json']) {
      const f = fixture(file);
      const events = f.events.map((e) => decode(f, e));
      assert.deepEqual(events.map((d) => (d.kind === 'change' ? d.op : d.kind)), ['r', 'r', 'u', 'd', 'tombstone', 'c', 'd', 'tombstone', 'c', 't']);
      const update = change(events[2]!);
      assert.equal(update.before, null);
      assert.deepEqual(update.unavailableColumns, ['big']);
      assert.deepEqual(update.after, { id: '1', v: 'uno', n: '1.25' }, 'big keeps its current value');
      const keyDelete = change(events[3]!);
      assert.deepEqual(keyDelete.before, { id: '2', v: null, big: null, n: null });
      assert.deepEqual(change(events[5]!).after, { id: '3', v: 'two', big: null, n: null });
      assert.deepEqual(change(events[8]!).after, { id: '10', v: 'ten', big: 'small', n: '1.50' });
      for (const [i, e] of f.events.entries()) {
        const d = events[i]!;
        if (d.kind === 'change' && e.expected.after && d.op !== 'u') assert.deepEqual(d.after, e.expected.after, `${file} ${e.op}@${e.offset}`);
      }
    }
  });

  test('TRUNCATE: op t with no rows and no key', () => {
    const f = fixture('keyed.recommended-config.json');
    const t = change(decode(f, f.events.find((e) => e.op === 't')!));
    assert.deepEqual({ op: t.op, before: t.before, after: t.after, key: t.key, table: t.table }, { op: 't', before: null, after: null, key: null, table: 'keyed' });
    assert.ok(t.lsn > 0n && t.txId !== null);
  });

  test('unchanged TOASTed values of every kind are reported, not written (NULL where Debezium sends NULL)', () => {
    const nulledBy: Record<string, string[]> = {
      'toast.current-config.json': ['b', 'na'],
      'toast.base64-config.json': ['b', 'na'],
      // binary.handling.mode=bytes sends bytea's placeholder; numeric[] is NULL in every config
      'toast.recommended-config.json': ['na'],
    };
    for (const [file, nulled] of Object.entries(nulledBy)) {
      const f = fixture(file);
      const e = f.events[0]!;
      const c = change(decode(f, e));
      assert.deepEqual(c.unavailableColumns, f.toastedUnchanged!.filter((x) => !nulled.includes(x)), file);
      for (const column of nulled) assert.equal(c.after![column], null, `${file}: ${column}`);
      for (const [column, text] of Object.entries(e.expected.after!)) assert.equal(c.after![column], text, `${file}: ${column}`);
    }
  });

  test('base64 binary mode: knownColumns tells a composite (encoded) from a domain over text (plain)', () => {
    const f = fixture('all-types.base64-unknown-types.json');
    const e = f.events.find((x) => rowId(x) === '1001')!;
    assert.equal(change(decode(f, e)).after!.c_pair, 'KDEsImEgYiIp');
    const knownColumns = new Map(f.pgColumns.map((c) => [c.name, c]));
    const c = change(decode(f, e, { knownColumns }));
    assert.equal(c.after!.c_pair, e.expected.after!.c_pair);
    assert.equal(c.after!.c_domain_text, e.expected.after!.c_domain_text);
  });
});

// ---------------------------------------------------------------------------------------------

/** Every column schema of every captured event (snapshot and streaming describe some types differently). */
function capturedColumns(f: Fixture): ConnectField[] {
  return Object.values(f.schemas).flatMap((text) => {
    const schema = JSON.parse(text) as { fields: { field: string; fields: (ConnectField & { parameters?: Record<string, string> })[] }[] };
    return schema.fields.find((x) => x.field === 'after')!.fields.map((c) => ({ ...c, parameters: c.parameters ?? {} }));
  });
}

describe('pgColumnFromDebezium', () => {
  test('every captured column gets the Iceberg type the bulk load gives it, built-in types their exact format_type', () => {
    for (const file of ['all-types.current-config.json', 'all-types.recommended-config.json', 'all-types.base64-unknown-types.json']) {
      const f = fixture(file);
      for (const field of capturedColumns(f)) {
        const fromEvent = pgColumnFromDebezium(columnFromField(field));
        const discovered = f.pgColumns.find((c) => c.name === field.field)!;
        const where = `${file} ${field.field} (${field.parameters['__debezium.source.column.type']})`;
        assert.equal(mapPgColumn(fromEvent).icebergType, mapPgColumn(discovered).icebergType, where);
        assert.equal(fromEvent.notNull, discovered.notNull, where);
        if (discovered.typtype === 'b' && !discovered.type.includes('.')) {
          assert.deepEqual({ type: fromEvent.type, typtype: fromEvent.typtype, category: fromEvent.category }, { type: discovered.type, typtype: discovered.typtype, category: discovered.category }, where);
        } else {
          // user types: Debezium upper-cases their names and drops the schema while streaming; with
          // binary.handling.mode=base64 a composite (a string) cannot be told from a domain over text
          const ambiguous = discovered.typtype === 'c' && field.type === 'string';
          assert.equal(fromEvent.typtype, ambiguous ? 'd' : discovered.typtype, where);
          assert.match(discovered.type, new RegExp(`(^|\\.)${fromEvent.type.replace(/[[\].]/g, '\\$&')}$`), where);
        }
      }
    }
  });

  test('rebuilds the PostgreSQL type from column.propagate.source.type', () => {
    const col = (type: string, params: Record<string, string>, extra: Partial<ConnectField> = {}) => pgColumnFromDebezium(columnFromField({
      field: 'c', type: 'string', optional: true, ...extra,
      parameters: Object.fromEntries(Object.entries({ type, ...params }).map(([k, v]) => [`__debezium.source.column.${k}`, v])),
    }));
    assert.equal(col('NUMERIC', { length: '10', scale: '2' }).type, 'numeric(10,2)');
    assert.equal(col('NUMERIC', { length: '131089', scale: '0' }).type, 'numeric');
    assert.equal(col('NUMERIC', { length: '5', scale: '2046' }).type, 'numeric(5,-2)');
    assert.equal(col('INT4', {}).type, 'integer');
    assert.equal(col('TIMESTAMPTZ', { scale: '6' }).type, 'timestamp with time zone');
    assert.equal(col('TIMESTAMP', { scale: '3' }).type, 'timestamp(3) without time zone');
    assert.deepEqual(col('_INT4', {}), { name: 'c', notNull: false, type: 'integer[]', typtype: 'b', category: 'A' });
    assert.equal(col('VARCHAR', { length: '20' }).type, 'character varying(20)');
    assert.equal(col('BPCHAR', { length: '5' }).type, 'character(5)');
    assert.equal(col('VARBIT', { length: '2147483647' }).type, 'bit varying');
    assert.deepEqual(col('"APP"."MOOD"', {}, { name: 'io.debezium.data.Enum' }), { name: 'c', notNull: false, type: 'app.mood', typtype: 'e', category: 'E' });
    assert.deepEqual(col('POSITIVE_INT', {}, { type: 'int32' }), { name: 'c', notNull: false, type: 'positive_int', typtype: 'd', category: 'N', baseType: 'integer' });
    assert.equal(mapPgColumn(col('POSITIVE_INT', {}, { type: 'int32' })).icebergType, 'int');
  });

  test('without source-type parameters, derives the type from the Debezium schema', () => {
    const col = (field: Partial<ConnectField>) => pgColumnFromDebezium(columnFromField({ field: 'c', type: 'string', optional: false, parameters: {}, ...field }));
    assert.equal(col({ type: 'int16' }).type, 'smallint');
    assert.equal(col({ type: 'int64' }).type, 'bigint');
    assert.equal(col({ type: 'double' }).type, 'double precision');
    assert.equal(col({ type: 'bytes', name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', 'connect.decimal.precision': '10' } }).type, 'numeric(10,2)');
    assert.equal(col({ type: 'int64', name: 'io.debezium.time.MicroTimestamp' }).type, 'timestamp without time zone');
    assert.equal(col({ type: 'string', name: 'io.debezium.time.ZonedTimestamp' }).type, 'timestamp with time zone');
    assert.equal(col({ type: 'string', name: 'io.debezium.data.Enum' }).typtype, 'e');
    assert.deepEqual(col({ type: 'array', items: { type: 'int64', optional: true, parameters: {} } }), { name: 'c', notNull: true, type: 'bigint[]', typtype: 'b', category: 'A' });
  });
});

describe('messages without schemas (value.converter.schemas.enable=false)', () => {
  // the JsonConverter without schemas writes exactly the payload it embeds with them
  const decodeSchemaless = (f: Fixture, e: FixtureEvent, options: DecodeOptions) => decodeChangeEvent(
    e.key === null ? null : Buffer.from(JSON.stringify((JSON.parse(e.key) as { payload: unknown }).payload)),
    e.valuePayload === null ? null : Buffer.from(e.valuePayload),
    { topic: e.topic, partition: e.partition, offset: e.offset },
    { encoding: debeziumEncoding(f.connectorConfig), ...options },
  );

  test('with knownColumns (the bulk load\'s PgColumns) every row equals the one decoded with schemas', () => {
    for (const file of ['all-types.current-config.json', 'all-types.recommended-config.json', 'keyed.current-config.json', 'toast.recommended-config.json']) {
      const f = fixture(file);
      const knownColumns = new Map(f.pgColumns.map((c) => [c.name, c]));
      for (const e of f.events) {
        let withSchema: DecodedEvent;
        try {
          withSchema = decode(f, e);
        } catch {
          assert.throws(() => decodeSchemaless(f, e, { knownColumns }), DecodeError);
          continue;
        }
        const without = decodeSchemaless(f, e, { knownColumns });
        if (withSchema.kind === 'tombstone') {
          assert.deepEqual(without, withSchema);
          continue;
        }
        const a = change(withSchema);
        const b = change(without);
        // columns Debezium left out of the schema are simply absent from the payload too
        const sent = (row: Row | null) => row && Object.fromEntries(Object.entries(row).filter(([k]) => a.columns.some((c) => c.name === k)));
        assert.deepEqual({ before: sent(b.before), after: sent(b.after), key: b.key, lsn: b.lsn, unavailable: b.unavailableColumns }, { before: a.before, after: a.after, key: a.key, lsn: a.lsn, unavailable: a.unavailableColumns }, `${file} ${e.op}@${e.offset}`);
        // a truncate carries no row, so no columns
        assert.deepEqual(b.columns.map((c) => c.name), a.op === 't' ? [] : a.columns.map((c) => c.name), 'the columns are the fields the event carries');
      }
    }
  });

  test('without knownColumns, values are typed from JSON alone (documented best effort)', () => {
    const f = fixture('all-types.current-config.json');
    const e = f.events.find((x) => rowId(x) === '1001')!;
    const c = change(decodeSchemaless(f, e, {}));
    assert.equal(c.after!.c_int, '2147483647');
    assert.equal(c.after!.c_bigint, '9223372036854775807');
    assert.equal(c.after!.c_text, e.expected.after!.c_text);
    assert.equal(c.after!.c_bool, 't');
    assert.equal(c.after!.c_numeric, '123456789012345678901234567890.123456789', 'a VariableScaleDecimal is recognised by its shape');
    assert.equal(c.after!.c_date, '19782', 'a date stays its day number: give knownColumns');
  });

  test('debeziumColumnFromPg describes each column as the captured events do', () => {
    for (const file of ['all-types.current-config.json', 'all-types.recommended-config.json']) {
      const f = fixture(file);
      const encoding = debeziumEncoding(f.connectorConfig);
      const captured = new Map(capturedColumns(f).map((c) => [c.field, c]));
      for (const pg of f.pgColumns) {
        const field = captured.get(pg.name);
        if (!field) continue;
        const derived = debeziumColumnFromPg(pg, encoding);
        assert.deepEqual([derived.debeziumType, derived.logicalName, derived.items?.type, derived.items?.name], [field.type, field.name, field.items?.type, field.items?.name], `${file} ${pg.name}`);
      }
    }
  });
});

describe('messages that are not change events', () => {
  const meta = { topic: 'app.public.t', partition: 3, offset: '42' };
  const named = /app\.public\.t partition 3 offset 42/;

  test('malformed JSON → DecodeError naming topic, partition and offset', () => {
    assert.throws(() => decodeChangeEvent(null, Buffer.from('{"schema":{"type":"struct"},"payload":{'), meta), (err: unknown) => {
      assert.ok(err instanceof DecodeError);
      assert.match(err.message, named);
      assert.match(err.message, /invalid JSON/);
      assert.deepEqual(err.meta, meta);
      return true;
    });
  });

  test('a message cut short after a schema seen before → DecodeError', () => {
    const f = fixture('keyed.recommended-config.json');
    const e = f.events.find((x) => x.step === 'keyed-insert')!;
    decode(f, e);
    const whole = valueBytes(f, e)!;
    for (const cut of [1, 5, whole.length - 20]) {
      assert.throws(() => decodeChangeEvent(null, whole.subarray(0, whole.length - cut), meta), (err: unknown) => err instanceof DecodeError && named.test(err.message) && /invalid JSON/.test(err.message), `cut ${cut}`);
    }
  });

  test('valid JSON that is no Debezium envelope, and bytes that are not UTF-8 → DecodeError', () => {
    assert.throws(() => decodeChangeEvent(null, Buffer.from('{"hello":"world"}'), meta), /offset 42: payload\.op is undefined: not a Debezium change event/);
    assert.throws(() => decodeChangeEvent(null, Buffer.from([0x7b, 0xff, 0x7d]), meta), /offset 42: message is not valid UTF-8/);
    assert.throws(() => decodeChangeEvent(null, Buffer.from('{"op":"c","after":{},"source":{"schema":"s","table":"t"},"ts_ms":1}'), meta), /payload\.source\.lsn is missing/);
  });

  test('a value that does not fit its type → DecodeError naming the column', () => {
    const f = fixture('keyed.current-config.json');
    const e = f.events.find((x) => x.step === 'keyed-insert')!;
    const broken = { ...e, valuePayload: e.valuePayload!.replace(/"n":"AJY="/, '"n":"not base64!"') };
    assert.throws(() => decode(f, broken), (err: unknown) => err instanceof DecodeError && /after\.n \(NUMERIC\): not base64; value "not base64!"/.test(err.message));
  });

  test('a logical type without an exact text fails only when a value needs it', () => {
    const schema = envelope([{ field: 'g', type: 'struct', optional: true, name: 'io.debezium.data.geometry.Geometry', parameters: {} }]);
    const message = (g: unknown) => Buffer.from(`{"schema":${JSON.stringify(schema)},"payload":${JSON.stringify(payloadOf({ g }))}}`);
    assert.deepEqual(change(decodeChangeEvent(null, message(null), meta)).after, { g: null });
    assert.throws(() => decodeChangeEvent(null, message({ wkb: 'AQ==', srid: null }), meta), /Geometry is not supported/);
  });

  test('a tombstone (null value) carries only the key', () => {
    assert.deepEqual(decodeChangeEvent(Buffer.from('{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false},"payload":{"id":9007199254740993}}'), null, meta), { kind: 'tombstone', key: { id: '9007199254740993' } });
    assert.deepEqual(decodeChangeEvent(null, null, meta), { kind: 'tombstone', key: null });
  });
});

/** A minimal Debezium envelope schema around some columns. */
function envelope(columns: ConnectField[]): ConnectSchema {
  const row: ConnectSchema = { type: 'struct', optional: true, parameters: {}, fields: columns };
  return {
    type: 'struct', optional: false, parameters: {}, fields: [
      { ...row, field: 'before' }, { ...row, field: 'after' },
      { field: 'source', type: 'struct', optional: false, parameters: {}, fields: [] }, { field: 'op', type: 'string', optional: false, parameters: {} },
    ],
  };
}

function payloadOf(after: Record<string, unknown>): unknown {
  return { before: null, after, source: { schema: 'public', table: 't', lsn: 1, txId: 2, ts_ms: 3 }, op: 'c', ts_ms: 4 };
}

describe('a pluggable message decoder (e.g. Avro through a schema registry)', () => {
  test('schema and JS values (bigint, Uint8Array) from another decoder convert the same way', () => {
    const columns: ConnectField[] = [
      { field: 'id', type: 'int64', optional: false, parameters: {} },
      { field: 'amount', type: 'bytes', optional: true, name: 'org.apache.kafka.connect.data.Decimal', parameters: { scale: '2', '__debezium.source.column.type': 'NUMERIC' } },
      { field: 'at', type: 'int64', optional: true, name: 'io.debezium.time.MicroTimestamp', parameters: {} },
      { field: 'raw', type: 'bytes', optional: true, parameters: { '__debezium.source.column.type': 'BYTEA' } },
    ];
    const avroLike = {
      decode: () => ({
        schema: envelope(columns),
        payload: { op: 'c', before: null, after: { id: 2n ** 62n, amount: Uint8Array.of(0xff, 0x38), at: -1n, raw: Uint8Array.of(1, 171) }, source: { schema: 'public', table: 't', lsn: 2n ** 60n, txId: 7n, ts_ms: 5n }, ts_ms: 6 },
      }),
    };
    const c = change(decodeChangeEvent(null, Buffer.from('binary'), { topic: 't', partition: 0, offset: '0' }, { valueDecoder: avroLike }));
    assert.deepEqual(c.after, { id: '4611686018427387904', amount: '-2.00', at: '1969-12-31 23:59:59.999999', raw: '\\x01ab' });
    assert.equal(c.lsn, 2n ** 60n);
  });
});

describe('text forms', () => {
  test('float8 and float4 print as PostgreSQL prints them (extra_float_digits=3, captured)', () => {
    const f8: [number, string][] = [[2 ** -1074, '5e-324'], [2 ** -1022, '2.2250738585072014e-308'], [2 ** 53, '9.007199254740992e+15'], [1e23, '9.999999999999999e+22'],
      [1e14, '100000000000000'], [1e15, '1e+15'], [0.0001, '0.0001'], [2.5e-5, '2.5e-05'], [-0, '-0'], [NaN, 'NaN'], [-Infinity, '-Infinity'], [2 ** 1023, '8.98846567431158e+307']];
    for (const [x, text] of f8) assert.equal(float8Text(x), text, String(x));
    const f4: [number, string][] = [[2 ** -149, '1e-45'], [2 ** -133, '9.1835e-41'], [2 ** -126, '1.1754944e-38'], [2 ** 24, '1.6777216e+07'], [16777217, '1.6777216e+07'],
      [2554298.25, '2.5542982e+06'], [0.000244140625, '0.00024414062'], [123456, '123456'], [1234567, '1.234567e+06'], [0.1, '0.1'], [2.8e-45, '3e-45']];
    for (const [x, text] of f4) assert.equal(float4Text(x), text, String(x));
  });

  test('decimals keep exactly their scale', () => {
    assert.equal(decimalText(150n, 2), '1.50');
    assert.equal(decimalText(-1n, 21), '-0.000000000000000000001');
    assert.equal(decimalText(0n, 5), '0.00000');
    assert.equal(decimalText(123n, -2), '12300');
  });

  test('the lossless JSON reader keeps number digits and plain keys', () => {
    const parsed = parseJson('{"a":[1,2.50,-3e400],"__proto__":{"x":"\\u00e9\\n"}}') as Record<string, unknown>;
    assert.deepEqual((parsed.a as { text: string }[]).map((n) => n.text), ['1', '2.50', '-3e400']);
    assert.deepEqual(Object.keys(parsed), ['a', '__proto__']);
    assert.equal((parsed.__proto__ as Record<string, string>).x, 'é\n');
    assert.throws(() => parseJson('{"a":1,}'), /invalid JSON/);
  });

  test('debeziumEncoding reads a connector config, with Debezium\'s defaults for unset keys', () => {
    assert.deepEqual(debeziumEncoding({ 'decimal.handling.mode': 'string', 'include.unknown.datatypes': 'true' }), {
      decimalHandlingMode: 'string', binaryHandlingMode: 'bytes', intervalHandlingMode: 'numeric', hstoreHandlingMode: 'json',
      includeUnknownDatatypes: true, unavailableValuePlaceholder: '__debezium_unavailable_value',
    });
    assert.throws(() => debeziumEncoding({ 'binary.handling.mode': 'octal' }), /binary\.handling\.mode=octal/);
  });
});

describe('ZonedTimestamp fast path', () => {
  test('agrees with the exact conversion', () => {
    const random = (() => { let x = 12345; return () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32); })();
    const samples = ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000000Z', '2024-02-29T23:59:59.999999Z', '1000-01-01T00:00:00.5Z',
      '0999-12-31T23:59:59Z', '2024-01-01T00:00:00.1234567Z', '2024-01-01T00:00:00.123000000Z', '9999-12-31T23:59:59.000001Z', 'infinity', '-infinity'];
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor((random() * 2 - 0.5) * 4e13);
      const micros = String(Math.floor(random() * 1e6)).padStart(6, '0').replace(/0+$/, '');
      samples.push(new Date(ms).toISOString().replace(/\.\d{3}Z$/, micros ? `.${micros}Z` : 'Z'));
    }
    const outcome = (convert: (iso: string) => string, iso: string) => {
      try {
        return convert(iso);
      } catch (err) {
        return `error: ${(err as Error).message}`;
      }
    };
    for (const iso of samples) assert.equal(outcome(timestamptzText, iso), outcome(timestamptzTextExact, iso), iso);
  });
});

describe('float8 fast path', () => {
  test('JavaScript\'s shortest digits agree with the exact search for values of up to 15 digits', () => {
    let x = 987654321;
    const random = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const values = [0.1, 0.5, 123.455, 1e-7, 2.5e-5, 1e15 - 1, 4503599627370495.5, 0.30000000000000004];
    for (let i = 0; i < 20000; i++) {
      const digits = 1 + Math.floor(random() * 15);
      const scale = Math.floor(random() * 40) - 20;
      values.push(Number(`${Math.floor(random() * 10 ** digits)}e${scale}`) * (random() < 0.5 ? -1 : 1), random() * 10 ** scale);
    }
    for (const v of values) assert.equal(float8Text(v), float8Text(v, true), String(v));
  });
});
