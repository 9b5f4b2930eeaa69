/**
 * Running the awkward source the way the README tells a new user to: its config (two schemas, one
 * with a space), the schema created in PostgreSQL, `lakeloader cdc --source X` with the default flags
 * only, the seeded workload replayed at a steady pace, and the cleanup of everything a run leaves in
 * PostgreSQL and Kafka Connect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { quoteIdent } from '../../lib/lakehouse/sql.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import type { AwkwardSource, WorkloadStep } from './awkward-schema.js';
import { removeCdcSource, sleep } from './cdc.js';
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
export class ReadmeCdc {
  private readonly child: ChildProcess;
  private output = '';
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
  readonly logFile: string;

  constructor(configDir: string, name: string) {
    this.child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'jobs', 'cli.js'), '--config', configDir, 'cdc', '--source', name], {
      cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.logFile = path.join(mkdtempSync(path.join(tmpdir(), 'lakeloader-awkward-cdc-')), 'cdc.log');
    const log = createWriteStream(this.logFile);
    const keep = (d: Buffer) => {
      log.write(d);
      this.output = (this.output + d.toString()).slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      log.end();
      resolve((this.exitCode = code));
    }));
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Whether the consumer has committed a micro-batch (its log says so). */
  get committed(): boolean {
    return this.output.includes('micro-batch committed');
  }

  tail(lines = 15): string {
    return `${lastLines(this.output, lines)}\n(whole log: ${this.logFile})`;
  }

  kill(): Promise<number | null> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
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
