/**
 * PostgreSQL column → Iceberg column. Each mapping says how the value leaves PostgreSQL (a SELECT
 * expression whose text form is exact) and how DuckDB turns that text into the Iceberg value.
 * Exact where Iceberg can hold the type; otherwise the lossless text form (see docs/type-mapping.md).
 */
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
}

/** Iceberg types whose values DuckDB range-checks on write (±infinity has no Iceberg form). */
export function hasFiniteRange(type: IcebergPrimitive): boolean {
  return type === 'date' || type === 'timestamp' || type === 'timestamptz';
}

/**
 * DuckDB expression turning a value's canonical PostgreSQL text into the Iceberg value of `type`.
 * Depends on the Iceberg type only, so the bulk load (COPY text) and CDC (Debezium values rendered
 * as the same text) write identical values.
 */
export function textToIceberg(type: IcebergPrimitive): (textExpr: string) => string {
  if (type === 'string') return (e) => e;
  if (type === 'binary') return (e) => `from_hex(substr(${e}, 3))`; // COPY's hex form \x0a0b…
  const duck = duckdbType(type);
  return (e) => `CAST(${e} AS ${duck})`;
}

function numericType(type: string): IcebergPrimitive | undefined {
  const m = /^numeric\((\d+),(\d+)\)$/.exec(type.replace(/\s/g, ''));
  if (!m) return undefined; // unconstrained numeric: any scale, so no Iceberg decimal can hold it exactly
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  if (precision > 38) return undefined;
  return `decimal(${precision},${scale})`;
}

/** `override: 'string'` (sources.yaml column_types) keeps the column as its exact PostgreSQL text. */
export function mapPgColumn(col: PgColumn, override?: 'string'): ColumnMapping {
  const ident = quoteIdent(col.name);
  const effective = col.typtype === 'd' && col.baseType ? col.baseType : col.type;
  const base = { name: col.name, nullable: !col.notNull, sourceType: col.type, pgSelect: ident, textFallback: false };
  const exact = (icebergType: IcebergPrimitive, pgSelect = ident) =>
    ({ ...base, icebergType, duckdbFromText: textToIceberg(icebergType), pgSelect });
  const text = (pgSelect = `${ident}::text`) => ({ ...base, icebergType: 'string' as const, duckdbFromText: (e: string) => e, pgSelect, textFallback: true });

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
      return exact('decimal(38,2)', `${ident}::numeric(38,2)`);
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
