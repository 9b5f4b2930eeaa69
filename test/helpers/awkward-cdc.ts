/**
 * Running the awkward source the way the README tells a new user to: its config (two schemas, one
 * with a space), the schema created in PostgreSQL, `lakeloader cdc --source X` with the default flags
 * only, the seeded workload replayed at a steady pace, and the cleanup of everything a run leaves in
 * PostgreSQL and Kafka Connect.
 */
import type pg from 'pg';
import { quoteIdent } from '../../lib/lakehouse/sql.js';
import type { AwkwardSource, WorkloadStep } from './awkward-schema.js';
import { BackgroundCdc, removeCdcSource, sleep } from './cdc.js';
import { runCli, type CliResult } from './cli.js';
import { testConfigDir } from './config.js';

/** The source's config: both schemas, micro-batches small enough that a run commits often, metrics off. */
export function awkwardSourceConfig(name: string, source: AwkwardSource, namespace: string): string {
  return testConfigDir({
    [name]: {
      schemas: source.schemas, namespace, kafka: { cluster: 'local', topic_prefix: name },
      cdc: { batch_size: 500, trigger_interval: 1, metrics_port: 0 },
    },
  });
}

/** Creates both schemas, every table and view, and the initial rows. */
export async function createAwkwardSchema(db: pg.Client, source: AwkwardSource): Promise<void> {
  for (let i = 0; i < source.setup.length; i += 100) await db.query(source.setup.slice(i, i + 100).join(';\n'));
  for (const t of source.tables) await db.query(`ANALYZE ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
}

/** Connector, slot, publication (removeCdcSource: the source is named like the plain schema), and both schemas. */
export async function removeAwkwardSource(db: pg.Client, configDir: string, name: string, source: AwkwardSource): Promise<void> {
  await removeCdcSource(db, configDir, name);
  await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(source.schemas[1])} CASCADE`);
}

/** `lakeloader <args> --source <name>` with nothing but the config directory added. */
export function lakeloader(configDir: string, name: string, args: string[], timeoutMs = 300_000): Promise<CliResult> {
  return runCli(['--config', configDir, ...args, '--source', name], {}, undefined, { timeoutMs });
}

/** The last lines of a command's output that matter for a failure message: its warnings, errors and plain text. */
export const lastLines = (text: string, lines = 12) =>
  text.trim().split('\n').filter((l) => !l.startsWith('{') || /"level":"(warn|error)"|"error":/.test(l)).slice(-lines).map((l) => (l.length > 600 ? `${l.slice(0, 600)}…` : l)).join('\n');

/** `lakeloader cdc --source X` exactly as the README runs it (no flags), in the background. */
export class ReadmeCdc extends BackgroundCdc {
  constructor(configDir: string, name: string) {
    super(configDir, name, ['--config', configDir, 'cdc', '--source', name]);
  }
}

/**
 * Replays the workload on one connection, each step in its own transaction, spread evenly over
 * `seconds`. A statement PostgreSQL refuses is a bug of the generator: `done` rejects naming it.
 */
export class WorkloadRun {
  transactions = 0;
  readonly ddl: string[] = [];
  readonly done: Promise<void>;
  private stopped = false;

  constructor(db: pg.Client, steps: WorkloadStep[], seconds: number, seed: number) {
    const started = Date.now();
    this.done = (async () => {
      for (const [i, step] of steps.entries()) {
        if (this.stopped) return;
        const due = started + (i / steps.length) * seconds * 1000 - Date.now();
        if (due > 0) await sleep(due);
        const statements = step.kind === 'ddl' ? [step.statement] : step.statements;
        if (statements.length === 0) continue;
        try {
          await db.query(`BEGIN;\n${statements.join(';\n')};\nCOMMIT`);
        } catch (err) {
          await db.query('ROLLBACK').catch(() => undefined);
          throw new Error(`[seed ${seed}] workload step ${i} failed (${(err as Error).message}): ${statements.join('; ').slice(0, 500)}`);
        }
        if (step.kind === 'ddl') this.ddl.push(step.description);
        else this.transactions++;
      }
    })();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done.catch(() => undefined);
  }
}
