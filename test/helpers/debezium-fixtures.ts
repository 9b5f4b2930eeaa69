/** The captured Debezium events of test/fixtures/debezium and how tests decode them. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { debeziumEncoding, decodeChangeEvent, type DecodeOptions, type DecodedChange, type DecodedEvent, type Row } from '../../lib/cdc/debezium.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { PgColumn } from '../../lib/source/postgres/type-mapping.js';

export interface FixtureEvent {
  step: string;
  op: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  valueSchema: string | null;
  valuePayload: string | null;
  expected: { before: Row | null; after: Row | null };
}

export interface Fixture {
  connectorConfig: Record<string, string>;
  table: string;
  pgColumns: PgColumn[];
  primaryKey: string[];
  copySelect: string[];
  schemas: Record<string, string>;
  events: FixtureEvent[];
  toastedUnchanged?: string[];
}

const fixtures = new Map<string, Fixture>();
export function fixture(name: string): Fixture {
  let f = fixtures.get(name);
  if (!f) {
    f = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'debezium', name), 'utf8')) as Fixture;
    fixtures.set(name, f);
  }
  return f;
}

/** The message bytes exactly as Kafka held them (the fixture stores each schema once). */
export function valueBytes(f: Fixture, e: FixtureEvent): Buffer | null {
  return e.valuePayload === null ? null : Buffer.from(`{"schema":${f.schemas[e.valueSchema!]},"payload":${e.valuePayload}}`);
}

export function decode(f: Fixture, e: FixtureEvent, options: DecodeOptions = {}): DecodedEvent {
  const meta = { topic: e.topic, partition: e.partition, offset: e.offset };
  return decodeChangeEvent(e.key === null ? null : Buffer.from(e.key), valueBytes(f, e), meta, { encoding: debeziumEncoding(f.connectorConfig), ...options });
}

export function change(event: DecodedEvent): DecodedChange {
  assert.equal(event.kind, 'change');
  return event as DecodedChange;
}

