/** `_dead_letters`: events that could not be decoded or applied, kept whole so nothing is lost. */
import type { ColumnSpec } from '../lakehouse/types.js';

export const DEAD_LETTERS_TABLE = '_dead_letters';

export const DEAD_LETTER_COLUMNS: ColumnSpec[] = [
  { name: 'received_at', type: 'timestamptz', nullable: false },
  { name: 'table_name', type: 'string' },
  { name: 'topic', type: 'string', nullable: false },
  { name: 'partition', type: 'int', nullable: false },
  { name: 'offset', type: 'long', nullable: false },
  { name: 'key', type: 'binary' },
  { name: 'value', type: 'binary' },
  { name: 'error', type: 'string', nullable: false },
];

export interface DeadLetter {
  table_name: string | null;
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  error: string;
}
