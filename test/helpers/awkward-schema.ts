/**
 * A seeded generator of a deliberately awkward PostgreSQL source, the kind a real application database
 * has: identifiers that need quoting (reserved words, Mixed Case, spaces, dots, non-ASCII, 63
 * characters), a second schema whose name has a space, every column type with its edge values and
 * NULLs, and every table shape (composite / single / no key, key only, empty, 200+ columns, TOASTed,
 * generated columns, partitioned, UNLOGGED, a view and a materialized view). Then a workload of small
 * transactions on it, with key changes, partition moves, a partition created mid-stream and two DDL
 * changes. Everything (DDL, data, workload) is a pure function of the seed and the schema names, so a
 * failing run is replayed with `LL_AWKWARD_SEED=<seed>`.
 */
import { quoteIdent, quoteString } from '../../lib/lakehouse/sql.js';
import { rng } from './cdc.js';

export const DEFAULT_AWKWARD_SEED = 20261201;

/** The seed: `LL_AWKWARD_SEED` (a number, or `random`), else the fixed default CI uses. */
export function awkwardSeed(env: NodeJS.ProcessEnv = process.env): number {
  const setting = env.LL_AWKWARD_SEED?.trim();
  if (!setting) return DEFAULT_AWKWARD_SEED;
  if (setting === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(setting);
  if (!Number.isSafeInteger(seed)) throw new Error(`LL_AWKWARD_SEED must be an integer or 'random', not '${setting}'`);
  return seed;
}

type Random = () => number;
/** A SQL literal (or NULL) for one column value. */
type ValueMaker = (random: Random) => string;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const sometimesNull = (random: Random, maker: ValueMaker, nullShare = 0.15): string => (random() < nullShare ? 'NULL' : maker(random));
const oneOf = (...literals: string[]): ValueMaker => (random) => pick(random, literals);
const str = (s: string) => quoteString(s);

/** Text a real application stores: quotes, newlines, backslashes, COPY's markers, non-ASCII, emoji. */
export const AWKWARD_TEXTS = [
  'O\'Brien said "hi"', 'line1\nline2\r\nline3', 'back\\slash \\N \\x00 \\\\', 'tab\tseparated\tvalues', 'ünïcödé Straße 日本語 données',
  'emoji 🦆 👩‍💻 🏳️‍🌈', '', '  padded  ', 'NULL', '\\N', ',;|"\'', `{"not": "json"`, 'x'.repeat(300),
];
const awkwardText: ValueMaker = (random) => str(`${pick(random, AWKWARD_TEXTS)}${random() < 0.5 ? '' : ` #${Math.floor(random() * 1000)}`}`);
const shortText: ValueMaker = (random) => str(pick(random, ['', 'ü', 'a b', "it's", 'ß"', '日本', '\\']) + Math.floor(random() * 100));
const int = (min: number, max: number): ValueMaker => (random) => String(min + Math.floor(random() * (max - min + 1)));
const decimal = (digits: number, scale: number): ValueMaker => (random) => {
  const whole = String(Math.floor(random() * 10 ** Math.min(digits - scale, 15)));
  const frac = Array.from({ length: scale }, () => Math.floor(random() * 10)).join('');
  return `${random() < 0.3 ? '-' : ''}${whole}${scale > 0 ? `.${frac}` : ''}`;
};
const uuid: ValueMaker = (random) => str(Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'));
/** Random base-64 text: compresses poorly, so 5–20 kB stays out of line in TOAST. */
const largeText: ValueMaker = (random) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const length = 5000 + Math.floor(random() * 15000);
  return str(Array.from({ length }, () => alphabet[Math.floor(random() * 64)]).join(''));
};

export interface ColumnDef {
  name: string;
  /** SQL type, as written in CREATE TABLE (may reference the plain schema's enum/domain). */
  type: string;
  /** The value maker, for columns the workload writes; absent for generated columns. */
  value?: ValueMaker;
  /** `GENERATED ALWAYS AS (…) STORED` expression. */
  generated?: string;
  notNull?: boolean;
  /** Large (TOASTed) column: the workload mostly leaves it unchanged. */
  large?: boolean;
}

/** One table of the source, as the test needs to know it. */
export interface AwkwardTable {
  schema: string;
  name: string;
  /** Primary key columns; [] for the table without a key. */
  key: string[];
  columns: ColumnDef[];
  /** false: UNLOGGED, so logical decoding never sees its changes. */
  replicated: boolean;
  /** Partitioned parents: the leaf partitions as bulk-loaded. */
  partitions?: { name: string; values: string }[];
  partitionColumn?: string;
  replicaIdentityFull?: boolean;
  initialRows: number;
  /** A new key (SQL literals per key column) for the n-th key of this table. */
  newKey?: (n: number, random: Random) => string[];
}

export interface AwkwardView {
  schema: string;
  name: string;
  kind: 'view' | 'materialized view';
}

export type WorkloadStep =
  | { kind: 'transaction'; statements: string[] }
  | { kind: 'ddl'; statement: string; description: string };

/** A `_schema_changes` row the workload's DDL must produce. */
export interface ExpectedSchemaChange {
  table: string;
  changeType: string;
  column: string;
}

export interface AwkwardSource {
  seed: number;
  /** [plain schema, schema whose name has a space] */
  schemas: [string, string];
  /** CREATE statements and initial rows, in order. */
  setup: string[];
  tables: AwkwardTable[];
  views: AwkwardView[];
  /** The partition the workload creates (on the partitioned table), after the load. */
  latePartition: { table: AwkwardTable; name: string; values: string };
  workload: WorkloadStep[];
  /** Exactly the column-level schema changes the workload's DDL makes. */
  schemaChanges: ExpectedSchemaChange[];
}

export const qualified = (t: { schema: string; name: string }) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
/** `schema.table` as lakeloader names a source table (`_cdc_status.table_name`, `_schema_changes.table_name`). */
export const sourceTableName = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

export const LONG_TABLE_NAME = 'table_with_a_name_of_exactly_sixty_three_characters_'.padEnd(63, 'x');
export const ADDED_COLUMN = 'added Ünï';

/** The columns of the table with every type, each with its edge values (docs/type-mapping.md). */
function everyTypeColumns(plain: string): ColumnDef[] {
  const p = quoteIdent(plain);
  const c = (name: string, type: string, value: ValueMaker): ColumnDef => ({ name, type, value: (r) => sometimesNull(r, value) });
  return [
    c('c_smallint', 'smallint', oneOf('-32768', '32767', '0')),
    c('c_int', 'integer', oneOf('-2147483648', '2147483647', '0', '-1')),
    c('c_bigint', 'bigint', oneOf('-9223372036854775808', '9223372036854775807', '0')),
    c('c_numeric_10_2', 'numeric(10,2)', oneOf('99999999.99', '-99999999.99', '0.01', '0.00')),
    c('c_numeric_38_10', 'numeric(38,10)', oneOf('9999999999999999999999999999.9999999999', '-9999999999999999999999999999.9999999999', '0.0000000001')),
    c('c_numeric', 'numeric', oneOf("'NaN'", "'Infinity'", "'-Infinity'", '123456789012345678901234567890.123456789012345678901234567890', '-0.000000000000000000001', '1.50')),
    c('c_money', 'money', oneOf("'-999999.99'", "'1234.56'", "'0.01'")),
    c('c_real', 'real', oneOf("'NaN'", "'Infinity'", "'-Infinity'", '3.4028235e38', '1.17549435e-38', "'-0'", '1.5')),
    c('c_double', 'double precision', oneOf("'NaN'", "'Infinity'", "'-Infinity'", '1.7976931348623157e308', '5e-324', "'-0'", '0.1')),
    c('c_bool', 'boolean', oneOf('true', 'false')),
    c('c_char', 'char(5)', oneOf("'ab'", "'ü'", "''", "'12345'")),
    c('c_varchar', 'varchar(20)', shortText),
    c('c_text', 'text', awkwardText),
    c('c_bytea', 'bytea', oneOf("'\\x'", "'\\x00ff'", "'\\xdeadbeef00'")),
    c('c_date', 'date', oneOf("'0001-01-01'", "'9999-12-31'", "'2024-02-29'", "'infinity'", "'-infinity'")),
    c('c_time', 'time', oneOf("'00:00:00'", "'23:59:59.999999'", "'12:34:56.5'")),
    c('c_timetz', 'timetz', oneOf("'00:00:00+14'", "'23:59:59.999999-12'", "'12:00:00+05:30'")),
    c('c_timestamp', 'timestamp', oneOf("'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'infinity'", "'-infinity'", "'2000-02-29 12:34:56.789'")),
    c('c_timestamptz', 'timestamptz', oneOf("'0001-01-01 00:00:00+00'", "'9999-12-31 23:59:59.999999+00'", "'infinity'", "'-infinity'", "'2024-02-29 23:59:59.999999+05:30'")),
    c('c_interval', 'interval', oneOf("'1 year 2 mons -3 days 04:05:06.789'", "'-1 days'", "'00:00:00'")),
    c('c_uuid', 'uuid', (r) => (r() < 0.3 ? pick(r, ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"]) : uuid(r))),
    c('c_json', 'json', oneOf(str('{"a": "é\\n", "b": [1, 2.50, null]}'), str('[]'), str('"just a string"'), str(' {"spaced" :  true} '))),
    c('c_jsonb', 'jsonb', oneOf(str('{"b": {"c": null}, "a": [1, "ü", 1.50]}'), str('{}'), str('null'), str('"🦆"'))),
    c('c_int_array', 'integer[]', oneOf("'{1,NULL,-2147483648}'", "'{}'", "'{42}'")),
    c('c_text_array', 'text[]', oneOf(str('{"a b","c,d","q\\"uote",NULL,"NULL"}'), "'{}'", str('{ü,"日本"}'))),
    c('c_mood', `${p}."Mood"`, oneOf("'sad'", "'ok'", "'très bien'")),
    c('c_domain', `${p}.positive_int`, oneOf('1', '2147483647')),
    c('c_inet', 'inet', oneOf("'192.168.0.1/24'", "'::1'", "'2001:db8::1/64'")),
    c('c_cidr', 'cidr', oneOf("'10.0.0.0/8'", "'2001:db8::/32'")),
    c('c_macaddr', 'macaddr', oneOf("'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'")),
    c('c_bit', 'bit(4)', oneOf("B'1010'", "B'0000'")),
    c('c_varbit', 'varbit', oneOf("B''", "B'1'", "B'101010101'")),
  ];
}

const WIDE_TYPES: [string, ValueMaker][] = [
  ['integer', int(-1000, 1000)], ['text', shortText], ['numeric(12,2)', decimal(12, 2)], ['boolean', oneOf('true', 'false')],
  ['timestamptz', (r) => str(`2024-01-${String(1 + Math.floor(r() * 28)).padStart(2, '0')} 12:00:00+00`)], ['date', oneOf("'2024-01-01'", "'1999-12-31'")],
];

function tables(plain: string, spaced: string): AwkwardTable[] {
  const serial = (n: number) => [String(n)];
  const nullable = (value: ValueMaker): ValueMaker => (r) => sometimesNull(r, value);
  const regions = ["'eu'", "'us'", "'apac'"];
  return [
    {
      schema: plain, name: 'Straße', key: ['id'], replicated: true, initialRows: 40, newKey: serial,
      columns: [{ name: 'id', type: 'bigint', notNull: true }, ...everyTypeColumns(plain)],
    },
    {
      // reserved words, Mixed Case, a dot, non-ASCII and a double quote in column names; composite key
      schema: plain, name: 'select', key: ['order', 'user'], replicated: true, initialRows: 60,
      newKey: (n, r) => [String(n), str(`${pick(r, ['ü', "o'k", 'a b', 'x"y', '日本'])}-${n}`)],
      columns: [
        { name: 'order', type: 'integer', notNull: true }, { name: 'user', type: 'text', notNull: true },
        { name: 'Mixed Case', type: 'text', value: nullable(awkwardText) }, { name: 'a.b', type: 'numeric(12,3)', value: nullable(decimal(12, 3)) },
        { name: '日本', type: 'text', value: nullable(shortText) }, { name: 'say "hi"', type: 'integer', value: nullable(int(-5, 5)) },
      ],
    },
    {
      schema: plain, name: 'données', key: ['id'], replicated: true, initialRows: 50, newKey: serial,
      columns: [{ name: 'id', type: 'integer', notNull: true }, { name: 'prénom', type: 'text', value: nullable(awkwardText) }, { name: 'Größe', type: 'numeric(5,2)', value: nullable(decimal(5, 2)) }],
    },
    {
      schema: plain, name: 'key only', key: ['k 1', 'K2'], replicated: true, initialRows: 30,
      newKey: (n, r) => [String(n), str(`${pick(r, ['é', 'Z', ' '])}${n}`)],
      columns: [{ name: 'k 1', type: 'integer', notNull: true }, { name: 'K2', type: 'text', notNull: true }],
    },
    {
      schema: plain, name: 'Empty', key: ['id'], replicated: true, initialRows: 0, newKey: serial,
      columns: [{ name: 'id', type: 'integer', notNull: true }, { name: 'v', type: 'text', value: nullable(shortText) }],
    },
    {
      schema: plain, name: 'wide_table', key: ['id'], replicated: true, initialRows: 30, newKey: serial,
      columns: [{ name: 'id', type: 'integer', notNull: true }, ...Array.from({ length: 209 }, (_, i): ColumnDef => {
        const [type, value] = WIDE_TYPES[i % WIDE_TYPES.length]!;
        return { name: `c${String(i + 1).padStart(3, '0')}`, type, value: nullable(value) };
      })],
    },
    {
      // REPLICA IDENTITY DEFAULT: updates that leave `body` alone do not carry it
      schema: plain, name: 'toasted_docs', key: ['id'], replicated: true, initialRows: 20, newKey: serial,
      columns: [
        { name: 'id', type: 'integer', notNull: true }, { name: 'title', type: 'text', value: shortText },
        { name: 'body', type: 'text', value: largeText, large: true }, { name: 'revision', type: 'integer', value: int(0, 1_000_000) },
      ],
    },
    {
      schema: plain, name: 'generated totals', key: ['id'], replicated: true, initialRows: 40, newKey: serial,
      columns: [
        { name: 'id', type: 'integer', notNull: true }, { name: 'price', type: 'numeric(10,2)', value: nullable(decimal(8, 2)) },
        { name: 'qty', type: 'integer', value: nullable(int(0, 1000)) }, { name: 'name', type: 'text', value: nullable(shortText) },
        { name: 'total', type: 'numeric(20,2)', generated: 'price * qty' }, { name: 'Name Upper', type: 'text', generated: 'upper(name)' },
      ],
    },
    {
      // the key includes the partition column, as PostgreSQL requires: moving a row changes its key
      schema: plain, name: 'Measurements', key: ['id', 'region'], replicated: true, initialRows: 60, partitionColumn: 'region',
      partitions: [{ name: 'Measurements EU', values: "'eu'" }, { name: 'measurements_us', values: "'us'" }, { name: 'measurements.apac', values: "'apac'" }],
      newKey: (n, r) => [String(n), pick(r, regions)],
      columns: [
        { name: 'id', type: 'integer', notNull: true }, { name: 'region', type: 'text', notNull: true },
        { name: 'reading', type: 'double precision', value: nullable(oneOf('1.5', '-0.25', "'NaN'", '1e300')) }, { name: 'note', type: 'text', value: nullable(awkwardText) },
      ],
    },
    {
      schema: plain, name: 'unlogged_sessions', key: ['id'], replicated: false, initialRows: 20, newKey: serial,
      columns: [{ name: 'id', type: 'integer', notNull: true }, { name: 'token', type: 'text', value: shortText }, { name: 'touched', type: 'timestamptz', value: oneOf("'2024-05-01 10:00:00+02'", "'1999-12-31 23:59:59+00'") }],
    },
    {
      schema: plain, name: LONG_TABLE_NAME, key: ['id'], replicated: true, initialRows: 50, newKey: serial,
      columns: [{ name: 'id', type: 'bigint', notNull: true }, { name: 'v', type: 'integer', value: nullable(int(-2147483648, 2147483647)) }, { name: 'user', type: 'text', value: nullable(shortText) }],
    },
    {
      schema: spaced, name: 'a.b', key: ['id'], replicated: true, initialRows: 30, newKey: serial,
      columns: [{ name: 'id', type: 'integer', notNull: true }, { name: 'x.y', type: 'text', value: nullable(awkwardText) }, { name: 'Mixed Case', type: 'boolean', value: nullable(oneOf('true', 'false')) }],
    },
    {
      schema: spaced, name: 'no key', key: [], replicated: true, initialRows: 40, replicaIdentityFull: true,
      columns: [{ name: 'a', type: 'integer', value: nullable(int(0, 5)) }, { name: 'b', type: 'text', value: nullable(shortText) }, { name: 'c', type: 'numeric(8,2)', value: nullable(decimal(6, 2)) }],
    },
  ];
}

const writable = (t: AwkwardTable) => t.columns.filter((c) => c.value && !t.key.includes(c.name));

function createTable(t: AwkwardTable): string[] {
  const columns = t.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}${c.generated ? ` GENERATED ALWAYS AS (${c.generated}) STORED` : ''}`);
  if (t.key.length > 0) columns.push(`PRIMARY KEY (${t.key.map(quoteIdent).join(', ')})`);
  const statements = [`CREATE ${t.replicated ? '' : 'UNLOGGED '}TABLE ${qualified(t)} (${columns.join(', ')})${t.partitionColumn ? ` PARTITION BY LIST (${quoteIdent(t.partitionColumn)})` : ''}`];
  for (const p of t.partitions ?? []) statements.push(`CREATE TABLE ${qualified({ schema: t.schema, name: p.name })} PARTITION OF ${qualified(t)} FOR VALUES IN (${p.values})`);
  if (t.replicaIdentityFull) statements.push(`ALTER TABLE ${qualified(t)} REPLICA IDENTITY FULL`);
  return statements;
}

/** What the generator knows of a table's current rows, so that every update and delete hits one. */
class TableModel {
  /** Current keys (SQL literals), or for the keyless table the rows' values. */
  readonly rows: string[][] = [];
  private nextKey = 1;
  constructor(readonly table: AwkwardTable, private readonly random: Random) {}

  private columnsOf = () => (this.table.key.length > 0 ? this.table.key : this.table.columns.map((c) => c.name));
  private where(row: string[]): string {
    return this.columnsOf().map((c, i) => `${quoteIdent(c)} ${row[i] === 'NULL' ? 'IS NULL' : `= ${row[i]}`}`).join(' AND ');
  }
  private takeRow(): string[] | undefined {
    if (this.rows.length === 0) return undefined;
    return this.rows.splice(Math.floor(this.random() * this.rows.length), 1)[0];
  }
  private newKey(): string[] {
    return this.table.newKey!(this.nextKey++, this.random);
  }

  insert(): string {
    const cols = writable(this.table);
    const key = this.table.key.length > 0 ? this.newKey() : [];
    const values = cols.map((c) => c.value!(this.random));
    // the keyless table gets duplicate rows now and then: it is a multiset
    const row = this.table.key.length > 0 ? key : this.rows.length > 0 && this.random() < 0.2 ? [...this.rows[Math.floor(this.random() * this.rows.length)]!] : values;
    this.rows.push(row);
    const names = [...this.table.key, ...cols.map((c) => c.name)];
    return `INSERT INTO ${qualified(this.table)} (${names.map(quoteIdent).join(', ')}) VALUES (${(this.table.key.length > 0 ? [...key, ...values] : row).join(', ')})`;
  }

  update(): string | undefined {
    if (this.table.key.length === 0 || this.rows.length === 0) return undefined;
    const row = this.rows[Math.floor(this.random() * this.rows.length)]!;
    let cols = writable(this.table);
    if (cols.length === 0) return undefined;
    // TOAST: mostly the small columns only, sometimes the large one
    if (cols.some((c) => c.large)) cols = this.random() < 0.25 ? cols.filter((c) => c.large) : cols.filter((c) => !c.large);
    const chosen = cols.filter(() => this.random() < Math.min(1, 3 / cols.length));
    const set = (chosen.length > 0 ? chosen : [pick(this.random, cols)]).map((c) => `${quoteIdent(c.name)} = ${c.value!(this.random)}`);
    return `UPDATE ${qualified(this.table)} SET ${set.join(', ')} WHERE ${this.where(row)}`;
  }

  /** A primary-key change; on the partitioned table a move to another partition (`regions` open now). */
  changeKey(regions: string[]): string | undefined {
    if (this.table.key.length === 0) return undefined;
    const old = this.takeRow();
    if (!old) return undefined;
    let key: string[];
    if (this.table.partitionColumn) {
      const others = regions.filter((r) => r !== old[1]);
      key = [old[0]!, pick(this.random, others)];
    } else {
      key = this.newKey();
    }
    this.rows.push(key);
    const set = this.table.key.map((c, i) => `${quoteIdent(c)} = ${key[i]}`).filter((_, i) => key[i] !== old[i]);
    return `UPDATE ${qualified(this.table)} SET ${set.join(', ')} WHERE ${this.where(old)}`;
  }

  delete(): string | undefined {
    const row = this.takeRow();
    if (!row) return undefined;
    // one row of a multiset: by ctid
    return this.table.key.length > 0
      ? `DELETE FROM ${qualified(this.table)} WHERE ${this.where(row)}`
      : `DELETE FROM ${qualified(this.table)} WHERE ctid = (SELECT ctid FROM ${qualified(this.table)} WHERE ${this.where(row)} LIMIT 1)`;
  }

  setPartitionRegions(regions: string[]): void {
    this.table.newKey = (n, r) => [String(n), pick(r, regions)];
  }
}

export interface GeneratorOptions {
  seed: number;
  plainSchema: string;
  spacedSchema: string;
  /** Transactions in the workload (besides the DDL steps). */
  transactions?: number;
}

/** The awkward source and its workload for a seed and the two schema names. */
export function generateAwkwardSource(options: GeneratorOptions): AwkwardSource {
  const random = rng(options.seed);
  const { plainSchema: plain, spacedSchema: spaced } = options;
  const all = tables(plain, spaced);
  const byName = (name: string) => all.find((t) => t.name === name)!;
  const setup = [
    `CREATE SCHEMA ${quoteIdent(plain)}`, `CREATE SCHEMA ${quoteIdent(spaced)}`,
    `CREATE TYPE ${quoteIdent(plain)}."Mood" AS ENUM ('sad', 'ok', 'très bien')`,
    `CREATE DOMAIN ${quoteIdent(plain)}.positive_int AS integer CHECK (VALUE > 0)`,
  ];
  const models = new Map(all.map((t) => [t, new TableModel(t, random)]));
  for (const t of all) {
    setup.push(...createTable(t));
    for (let i = 0; i < t.initialRows; i++) setup.push(models.get(t)!.insert());
  }
  const types = byName('Straße');
  const views: AwkwardView[] = [{ schema: plain, name: 'a view', kind: 'view' }, { schema: spaced, name: 'mat view', kind: 'materialized view' }];
  setup.push(`CREATE VIEW ${qualified(views[0]!)} AS SELECT id, c_text FROM ${qualified(types)}`);
  setup.push(`CREATE MATERIALIZED VIEW ${qualified(views[1]!)} AS SELECT id, "x.y" FROM ${qualified(byName('a.b'))}`);

  const measurements = byName('Measurements');
  const latePartition = { table: measurements, name: 'Measurements AF', values: "'af'" };
  let regions = measurements.partitions!.map((p) => p.values);
  const selectTable = byName('select');
  const longTable = byName(LONG_TABLE_NAME);
  const transactions = options.transactions ?? 900;
  const workload: WorkloadStep[] = [];
  /** Weighted tables: the types table and the awkward ones get most changes. */
  const weighted = all.flatMap((t) => Array<AwkwardTable>(t === types || t === selectTable || t.partitionColumn || t.columns.some((c) => c.large) ? 3 : 1).fill(t));
  const change = (t: AwkwardTable): string | undefined => {
    const model = models.get(t)!;
    const roll = random();
    if (roll < 0.3) return model.insert();
    if (roll < 0.75) return model.update() ?? model.insert();
    if (roll < 0.85) return model.changeKey(regions) ?? model.insert();
    return model.delete() ?? model.insert();
  };
  for (let i = 0; i < transactions; i++) {
    if (i === Math.floor(transactions * 0.3)) {
      workload.push({ kind: 'ddl', statement: `ALTER TABLE ${qualified(selectTable)} ADD COLUMN ${quoteIdent(ADDED_COLUMN)} text`, description: `ADD COLUMN on ${sourceTableName(selectTable)}` });
      selectTable.columns.push({ name: ADDED_COLUMN, type: 'text', value: (r) => sometimesNull(r, awkwardText) });
      workload.push({ kind: 'transaction', statements: [`UPDATE ${qualified(selectTable)} SET ${quoteIdent(ADDED_COLUMN)} = 'set right after the ALTER'`] });
    }
    if (i === Math.floor(transactions * 0.45)) {
      workload.push({ kind: 'ddl', statement: `CREATE TABLE ${qualified({ schema: plain, name: latePartition.name })} PARTITION OF ${qualified(measurements)} FOR VALUES IN (${latePartition.values})`, description: 'a partition created after the load' });
      // a row inserted into it and one moved into it straight away, then it is a partition like the others
      const model = models.get(measurements)!;
      model.setPartitionRegions([latePartition.values]);
      workload.push({ kind: 'transaction', statements: [model.insert(), model.changeKey([latePartition.values])].filter((s): s is string => s !== undefined) });
      regions = [...regions, latePartition.values];
      model.setPartitionRegions(regions);
    }
    if (i === Math.floor(transactions * 0.65)) {
      workload.push({ kind: 'ddl', statement: `ALTER TABLE ${qualified(longTable)} ALTER COLUMN v TYPE bigint`, description: `int → bigint on ${sourceTableName(longTable)}` });
      longTable.columns.find((c) => c.name === 'v')!.value = (r) => sometimesNull(r, int(3_000_000_000, 9_000_000_000_000));
      workload.push({ kind: 'transaction', statements: [`UPDATE ${qualified(longTable)} SET v = 9000000000000 WHERE id = (SELECT min(id) FROM ${qualified(longTable)})`] });
    }
    const statements: string[] = [];
    for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
      const statement = change(pick(random, weighted));
      if (statement) statements.push(statement);
    }
    workload.push({ kind: 'transaction', statements });
  }
  return {
    seed: options.seed, schemas: [plain, spaced], setup, tables: all, views, latePartition, workload,
    schemaChanges: [
      { table: sourceTableName(selectTable), changeType: 'column_added', column: ADDED_COLUMN },
      { table: sourceTableName(longTable), changeType: 'type_widened', column: 'v' },
    ],
  };
}
