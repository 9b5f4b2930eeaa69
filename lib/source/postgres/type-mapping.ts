/**
 * PostgreSQL column → Iceberg column. Each mapping says how the value leaves PostgreSQL (a SELECT
 * expression whose text form is exact) and how DuckDB turns that text into the Iceberg value.
 * Exact where Iceberg can hold the type; otherwise the lossless text form (see docs/type-mapping.md).
 */
import type { SourceConfig } from '../../config/schema.js';
import { duckdbType, type IcebergPrimitive } from '../../lakehouse/types.js';
import { quoteIdent } from '../../lakehouse/sql.js';

export interface PgColumn {
  name: string;
  /** format_type() of the column, e.g. `numeric(10,2)`, `timestamp with time zone`, `integer[]`. */
  type: string;
  /** pg_type.typtype of the base type: b base, e enum, d domain, c composite, r range, m multirange. */
  typtype: string;
  /** pg_type.typcategory of the base type (A array, N numeric, …). */
  category: string;
  /** format_type of the domain's base type, when the column is a domain. */
  baseType?: string;
  notNull: boolean;
  /**
   * A `GENERATED ALWAYS AS (…) STORED` column, with its generation expression (pg_get_expr of
   * pg_attrdef). The bulk load reads its stored values; logical replication (PostgreSQL 15) does not
   * publish them, so CDC has to compute them from the expression.
   */
  generated?: { expression: string };
}

export interface ColumnMapping {
  name: string;
  icebergType: IcebergPrimitive;
  nullable: boolean;
  /** The source type, kept as the Iceberg field comment and in _schema_changes. */
  sourceType: string;
  /** SQL run in PostgreSQL (inside COPY) to read the column. */
  pgSelect: string;
  /** DuckDB expression converting the VARCHAR read from the staged CSV (`$col`) into the Iceberg value. */
  duckdbFromText: (textExpr: string) => string;
  /** True when the Iceberg value is the lossless text of a type Iceberg cannot hold. */
  textFallback: boolean;
  /** What `duckdbFromText` does with values the Iceberg type cannot hold (see `ValuePolicy`). */
  valuePolicy: ValuePolicy;
}

/**
 * What to do with a value its Iceberg type cannot hold (±infinity or a year outside 1..9999 in a
 * date/timestamp/timestamptz, NaN in a decimal): `fail` the table; `clamp` to the nearest value every
 * Iceberg engine reads back (NaN has none: NULL); `null`; or keep the column as PostgreSQL's exact
 * `text` (an Iceberg string). Whatever is clamped or nulled is counted and reported by the caller.
 */
export type ValuePolicy = 'fail' | 'clamp' | 'null' | 'text';

/** The effective policy of `schema.table`.`column`: its `unrepresentable_columns` entry, else the source's `unrepresentable_values`. */
export function valuePolicyFor(
  source: Pick<SourceConfig, 'unrepresentable_values' | 'unrepresentable_columns'>,
  table: string,
  column: string,
): ValuePolicy {
  return source.unrepresentable_columns[`${table}.${column}`] ?? source.unrepresentable_values;
}

/** Iceberg types whose values DuckDB range-checks on write (±infinity has no Iceberg form). */
export function hasFiniteRange(type: IcebergPrimitive): boolean {
  return type === 'date' || type === 'timestamp' || type === 'timestamptz';
}

/** Iceberg types that some PostgreSQL values of the mapped types do not fit (see `unrepresentableText`). */
export function mayBeUnrepresentable(type: IcebergPrimitive): boolean {
  return hasFiniteRange(type) || type.startsWith('decimal(');
}

/**
 * The latest and earliest values every Iceberg engine reads back (pyiceberg and Spark use years
 * 1..9999), as DuckDB literals: what `clamp` writes for +/-infinity and years beyond them.
 */
const CLAMP_BOUNDS: Record<'date' | 'timestamp' | 'timestamptz', { min: string; max: string }> = {
  date: { min: "DATE '0001-01-01'", max: "DATE '9999-12-31'" },
  timestamp: { min: "TIMESTAMP '0001-01-01 00:00:00'", max: "TIMESTAMP '9999-12-31 23:59:59.999999'" },
  timestamptz: { min: "TIMESTAMPTZ '0001-01-01 00:00:00+00'", max: "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'" },
};

/**
 * DuckDB conditions on a value's canonical PostgreSQL text (DateStyle ISO, UTC) telling that its
 * Iceberg `type` cannot hold it, split by the side it lies on: `below` (-infinity, BC years) and
 * `above` (+infinity, 5-digit years); NaN of a decimal is `above`. Undefined for types where every
 * value fits. Text, not a cast, decides: DuckDB parses '0044-03-15 BC' as year 44 AD.
 */
export function unrepresentableText(type: IcebergPrimitive, e: string): { below: string; above: string } | undefined {
  if (hasFiniteRange(type)) {
    return {
      below: `(${e} = '-infinity' OR ${e} LIKE '% BC')`,
      above: `(${e} = 'infinity' OR regexp_matches(${e}, '^[0-9]{5}'))`,
    };
  }
  // numeric(p,s) cannot hold ±Infinity in PostgreSQL; NaN it can
  if (type.startsWith('decimal(')) return { below: 'FALSE', above: `(${e} = 'NaN')` };
  return undefined;
}

/** One condition: the text holds a value the Iceberg `type` cannot hold (FALSE when every value fits). */
export function unrepresentableCondition(type: IcebergPrimitive, e: string): string {
  const side = unrepresentableText(type, e);
  return side ? `(${side.below} OR ${side.above})` : 'FALSE';
}

/**
 * DuckDB expression turning a value's canonical PostgreSQL text into the Iceberg value of `type`,
 * applying `policy` to values the type cannot hold. Depends on the Iceberg type and the policy
 * only, so the bulk load (COPY text) and CDC (Debezium values rendered as the same text) write
 * identical values. Without a policy, or with `fail` (or `text`, whose columns are strings already):
 * a plain cast, which fails on such values or lets DuckDB misread them, so callers check them first
 * (`unrepresentableCondition`).
 */
export function textToIceberg(type: IcebergPrimitive, policy: ValuePolicy = 'fail'): (textExpr: string) => string {
  if (type === 'string') return (e) => e;
  if (type === 'binary') return (e) => `from_hex(substr(${e}, 3))`; // COPY's hex form \x0a0b…
  const duck = duckdbType(type);
  const cast = (e: string) => `CAST(${e} AS ${duck})`;
  if (policy !== 'clamp' && policy !== 'null') return cast;
  return (e) => {
    const side = unrepresentableText(type, e);
    if (!side) return cast(e);
    if (policy === 'null' || !hasFiniteRange(type)) return `CASE WHEN ${side.below} OR ${side.above} THEN NULL ELSE ${cast(e)} END`;
    const bounds = CLAMP_BOUNDS[type as keyof typeof CLAMP_BOUNDS];
    return `CASE WHEN ${side.below} THEN ${bounds.min} WHEN ${side.above} THEN ${bounds.max} ELSE ${cast(e)} END`;
  };
}

function numericType(type: string): IcebergPrimitive | undefined {
  const m = /^numeric\((\d+),(\d+)\)$/.exec(type.replace(/\s/g, ''));
  if (!m) return undefined; // unconstrained numeric: any scale, so no Iceberg decimal can hold it exactly
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  if (precision > 38) return undefined;
  return `decimal(${precision},${scale})`;
}

/** The mappings of a source table's columns, with the source's `column_types` overrides and value policies applied. */
export function mapSourceColumns(
  source: Pick<SourceConfig, 'column_types' | 'unrepresentable_values' | 'unrepresentable_columns'>,
  table: string,
  columns: PgColumn[],
): ColumnMapping[] {
  return columns.map((c) => mapPgColumn(c, source.column_types[`${table}.${c.name}`], valuePolicyFor(source, table, c.name)));
}

/**
 * `override: 'string'` (sources.yaml column_types) keeps the column as its exact PostgreSQL text, as
 * does `policy: 'text'` for a column whose Iceberg type cannot hold every value (see `ValuePolicy`).
 */
export function mapPgColumn(col: PgColumn, override?: 'string', policy: ValuePolicy = 'fail'): ColumnMapping {
  const ident = quoteIdent(col.name);
  const effective = col.typtype === 'd' && col.baseType ? col.baseType : col.type;
  const base = { name: col.name, nullable: !col.notNull, sourceType: col.type, pgSelect: ident, textFallback: false, valuePolicy: policy };
  const text = (pgSelect = `${ident}::text`) => ({ ...base, icebergType: 'string' as const, duckdbFromText: (e: string) => e, pgSelect, textFallback: true });
  const exact = (icebergType: IcebergPrimitive, pgSelect = ident, everyValueFits = false): ColumnMapping =>
    policy === 'text' && !everyValueFits && mayBeUnrepresentable(icebergType)
      ? text()
      : { ...base, icebergType, duckdbFromText: textToIceberg(icebergType, policy), pgSelect };

  if (override === 'string' || col.category === 'A' || effective.endsWith('[]')) return text();
  if (col.typtype === 'e') return { ...text(), textFallback: false };
  switch (effective) {
    case 'smallint':
    case 'integer':
      return exact('int');
    case 'bigint':
    case 'oid':
    case 'xid8':
      return exact('long');
    case 'real':
      return exact('float');
    case 'double precision':
      return exact('double');
    case 'money':
      // money's text is locale-formatted ($1,234.56); its numeric cast is exact with 2 decimals
      return exact('decimal(38,2)', `${ident}::numeric(38,2)`, true); // never NaN
    case 'boolean':
      return exact('boolean');
    case 'text':
    case 'name':
    case 'citext':
    case '"char"':
      return { ...text(ident), textFallback: false };
    case 'date':
      return exact('date');
    case 'time without time zone':
      return exact('time');
    case 'timestamp without time zone':
      return exact('timestamp');
    case 'timestamp with time zone':
      return exact('timestamptz');
    case 'uuid':
      return exact('uuid');
    case 'bytea':
      return exact('binary');
    default:
      break;
  }
  if (/^(character varying|character|bpchar|varchar)(\(\d+\))?$/.test(effective)) return { ...text(ident), textFallback: false };
  if (/^numeric/.test(effective)) {
    const n = numericType(effective);
    return n ? exact(n) : text();
  }
  if (/^time(\(\d\))? without time zone$/.test(effective)) return exact('time');
  if (/^timestamp(\(\d\))? without time zone$/.test(effective)) return exact('timestamp');
  if (/^timestamp(\(\d\))? with time zone$/.test(effective)) return exact('timestamptz');
  // Debezium sends timetz converted to UTC: read it the same way so bulk and CDC agree
  if (/^time(\(\d\))? with time zone$/.test(effective)) return text(`(${ident} AT TIME ZONE 'UTC')::text`);
  // interval, json/jsonb, xml, inet/cidr/macaddr, bit/varbit, tsvector/tsquery, geometric,
  // ranges, composites, pg_lsn…: Iceberg has no such type; their canonical text is lossless.
  return text();
}

/** PostgreSQL session settings that make every text form above canonical and exact. */
export const EXACT_TEXT_SETTINGS = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'iso_8601'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
];
