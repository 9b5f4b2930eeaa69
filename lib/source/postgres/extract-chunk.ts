/**
 * Piscina worker: copies one chunk of one table, inside the load's exported snapshot, to a staging
 * CSV file. Streams (COPY → file) so memory stays flat whatever the table size.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { EXACT_TEXT_SETTINGS } from './type-mapping.js';

export interface ExtractChunkTask {
  connection: pg.ClientConfig;
  /** Exported snapshot every chunk of the load joins, so all tables show one instant. */
  snapshotName: string;
  /** `SELECT … FROM … WHERE <chunk range>` */
  selectSql: string;
  outputFile: string;
  /** Receives approximate row counts while the chunk streams (newlines seen). */
  progress?: MessagePort;
}

export interface ExtractChunkResult {
  rows: number;
  bytes: number;
}

export default async function extractChunk(task: ExtractChunkTask): Promise<ExtractChunkResult> {
  const report = progressReporter(task.progress);
  const client = new pg.Client(task.connection);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${task.snapshotName.replace(/'/g, "''")}'`);
    for (const s of EXACT_TEXT_SETTINGS) await client.query(s);
    await mkdir(path.dirname(task.outputFile), { recursive: true });
    const out = createWriteStream(task.outputFile, { highWaterMark: 1 << 20 });
    const copy = client.query(copyTo(`COPY (${task.selectSql}) TO STDOUT (FORMAT csv)`));
    await pipeline(copy, report.counter, out);
    await client.query('COMMIT');
    const rows = Number(copy.rowCount ?? 0);
    report.done(rows);
    return { rows, bytes: out.bytesWritten };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Counts newlines as bytes pass (cheap; exact only without multi-line values) and posts the count at most every 250 ms. */
function progressReporter(port: MessagePort | undefined): { counter: Transform; done: (exactRows: number) => void } {
  let rows = 0;
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
      const now = Date.now();
      if (port && now - last > 250) {
        last = now;
        port.postMessage(rows);
      }
      cb(null, chunk);
    },
  });
  return {
    counter,
    done: (exact: number) => {
      port?.postMessage(exact);
      port?.close();
    },
  };
}
