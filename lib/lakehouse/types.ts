/**
 * Iceberg primitive types we write, and the DuckDB types that produce them through the iceberg
 * extension. DuckDB has no Iceberg `fixed`, so binary data is `binary` (BLOB).
 */
export type IcebergPrimitive =
  | 'boolean' | 'int' | 'long' | 'float' | 'double'
  | `decimal(${number},${number})`
  | 'date' | 'time' | 'timestamp' | 'timestamptz'
  | 'string' | 'uuid' | 'binary';

export interface ColumnSpec {
  name: string;
  type: IcebergPrimitive;
  /** Defaults to true; Iceberg `required` when false. */
  nullable?: boolean;
  /** Free text kept in the Iceberg field doc, e.g. the source type. */
  comment?: string;
}

const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/;

export function duckdbType(type: IcebergPrimitive): string {
  const dec = DECIMAL.exec(type);
  if (dec) {
    const precision = Number(dec[1]);
    const scale = Number(dec[2]);
    if (precision < 1 || precision > 38 || scale > precision) throw new Error(`invalid Iceberg decimal ${type}: precision 1..38, scale ≤ precision`);
    return `DECIMAL(${precision},${scale})`;
  }
  switch (type) {
    case 'boolean': return 'BOOLEAN';
    case 'int': return 'INTEGER';
    case 'long': return 'BIGINT';
    case 'float': return 'FLOAT';
    case 'double': return 'DOUBLE';
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'string': return 'VARCHAR';
    case 'uuid': return 'UUID';
    case 'binary': return 'BLOB';
    default: throw new Error(`unsupported Iceberg type '${String(type)}'`);
  }
}

export function isIcebergPrimitive(type: string): type is IcebergPrimitive {
  try {
    duckdbType(type as IcebergPrimitive);
    return true;
  } catch {
    return false;
  }
}
