/**
 * Values Iceberg cannot hold, in a table's staged rows: counted per column before the commit, so
 * that the column's value policy (`fail | clamp | null | text`, lib/source/postgres/type-mapping.ts)
 * either stops the table at once, naming the value and the config key, or is reported — nothing is
 * clamped or nulled silently.
 */
import { DataError } from '../errors.js';
import { quoteIdent } from '../lakehouse/sql.js';
import { unrepresentableCondition, mayBeUnrepresentable, type ColumnMapping, type ValuePolicy } from '../source/postgres/type-mapping.js';

/** Values of one column the policy changed. */
export interface ValueAdjustment {
  column: string;
  policy: ValuePolicy;
  /** `clamped` (to the nearest value Iceberg engines read back) or `nulled`. */
  action: 'clamped' | 'nulled';
  count: number;
  /** One of the values, as PostgreSQL wrote it. */
  example: string;
}

interface ColumnCount { mapping: ColumnMapping; count: number; example: string }

/** The columns whose values may not fit their Iceberg type (text columns hold anything). */
function checkedColumns(mappings: ColumnMapping[]): { mapping: ColumnMapping; index: number }[] {
  return mappings.map((mapping, index) => ({ mapping, index })).filter(({ mapping }) => !mapping.textFallback && mayBeUnrepresentable(mapping.icebergType));
}

/** One scan of the staged rows (`relation`, columns c0…cN as text): count and one example per checked column. */
export function unrepresentableCountSql(mappings: ColumnMapping[], relation: string): string | undefined {
  const checked = checkedColumns(mappings);
  if (checked.length === 0) return undefined;
  const parts = checked.flatMap(({ mapping, index }) => {
    const cond = unrepresentableCondition(mapping.icebergType, quoteIdent(`c${index}`));
    return [`count(*) FILTER (WHERE ${cond}) AS n${index}`, `any_value(${quoteIdent(`c${index}`)}) FILTER (WHERE ${cond}) AS v${index}`];
  });
  return `SELECT ${parts.join(', ')} FROM ${relation}`;
}

/** Reads the counts of `unrepresentableCountSql`'s single row. */
export function parseUnrepresentableCounts(mappings: ColumnMapping[], row: Record<string, unknown>): ColumnCount[] {
  return checkedColumns(mappings)
    .map(({ mapping, index }) => ({ mapping, count: Number(row[`n${index}`] ?? 0), example: String(row[`v${index}`] ?? '') }))
    .filter((c) => c.count > 0);
}

/** What the policy does with a value of this mapping that does not fit: NaN has no clamp value, so clamp nulls it. */
function actionOf(mapping: ColumnMapping): 'clamped' | 'nulled' | 'fail' {
  if (mapping.valuePolicy === 'null') return 'nulled';
  if (mapping.valuePolicy === 'clamp') return mapping.icebergType.startsWith('decimal(') ? 'nulled' : 'clamped';
  return 'fail';
}

/**
 * Applies the policies to the counted values: throws a DataError (not retried) for a `fail` column,
 * or for a NOT NULL column whose values would become NULL; returns what clamp/null changed.
 */
export function applyValuePolicies(table: string, counts: ColumnCount[]): ValueAdjustment[] {
  const adjustments: ValueAdjustment[] = [];
  for (const { mapping: m, count, example } of counts) {
    const action = actionOf(m);
    const value = `'${example.slice(0, 80)}'`;
    if (action === 'fail') {
      throw new DataError(`column ${m.name} (${m.sourceType}) of ${table} holds ${value} (${count} such value(s)), which Iceberg ${m.icebergType} cannot store; ` +
        `set sources.yaml unrepresentable_columns: {"${table}.${m.name}": clamp | null | text} (or unrepresentable_values for the whole source)`);
    }
    if (action === 'nulled' && !m.nullable) {
      throw new DataError(`column ${m.name} (${m.sourceType}) of ${table} is NOT NULL and holds ${value} (${count} such value(s)), which Iceberg ${m.icebergType} cannot store ` +
        `and policy ${m.valuePolicy} would make NULL; set sources.yaml unrepresentable_columns: {"${table}.${m.name}": text} to keep its exact text`);
    }
    adjustments.push({ column: m.name, policy: m.valuePolicy, action, count, example: example.slice(0, 80) });
  }
  return adjustments;
}

/** `valid_until: 2 value(s) clamped (e.g. 'infinity', policy clamp)` */
export function describeAdjustment(a: ValueAdjustment): string {
  return `${a.column}: ${a.count} value(s) ${a.action} (e.g. '${a.example}', policy ${a.policy})`;
}
