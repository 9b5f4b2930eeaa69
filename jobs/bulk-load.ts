/** `lakeloader bulk-load`: the one-time consistent load of a source into its bronze Iceberg namespace. */
import path from 'node:path';
import { Command, Option } from 'commander';
import { runBulkLoad } from '../lib/bulk/bulk-load.js';
import { commandContext } from '../lib/cli/context.js';
import { positiveInteger, repeatable } from '../lib/cli/options.js';
import { getSource } from '../lib/config/load.js';
import { EXIT_JOB_FAILED, errorMessage } from '../lib/errors.js';
import { logger } from '../lib/log/logger.js';
import { runMaintain } from '../lib/maintenance/run.js';

export function registerBulkLoad(program: Command): void {
  program
    .command('bulk-load')
    .description('load every selected table of a source into Iceberg from one consistent snapshot (resumable)')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .option('--table-filter <pattern>', 'only tables matching this SQL LIKE pattern (repeatable)', repeatable, [])
    .addOption(new Option('--parallel-workers <n>', 'tables loaded at once (default: sources.yaml parallel_workers)').argParser(positiveInteger('--parallel-workers')))
    .addOption(new Option('--parallel-tables <n>', 'chunks read in parallel per table (default: sources.yaml parallel_tables)').argParser(positiveInteger('--parallel-tables')))
    .option('--no-resume', 'reload every table, including those already completed')
    .option('--dry-run', 'print the plan (tables, estimated rows, chunks) and exit')
    .option('--staging-dir <dir>', 'where chunks are staged before the Iceberg commit', process.env.LAKELOADER_STAGING_DIR ?? path.join('checkpoints', 'staging'))
    .action(async (opts: { source: string; tableFilter: string[]; parallelWorkers?: number; parallelTables?: number; resume: boolean; dryRun?: boolean; stagingDir: string }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const report = await runBulkLoad(config, {
        source: opts.source,
        tableFilters: opts.tableFilter,
        ...(opts.parallelWorkers ? { parallelWorkers: opts.parallelWorkers } : {}),
        ...(opts.parallelTables ? { parallelTables: opts.parallelTables } : {}),
        resume: opts.resume,
        dryRun: Boolean(opts.dryRun),
        stagingDir: path.resolve(opts.stagingDir),
        outputConfigDir: config.dir,
      });
      if (report.results.some((r) => r.status === 'failed')) process.exitCode = EXIT_JOB_FAILED;
      if (!opts.dryRun && getSource(config, opts.source).maintenance.enabled) {
        // what the load left past a threshold (and the metadata trimming of new tables); never fails the load
        await runMaintain(config, { source: opts.source, tableFilters: [], dryRun: false, mode: 'threshold', trigger: 'bulk-load', whileConsumerRuns: 'skip' })
          .catch((err) => logger.warn(`maintenance after the load failed (run lakeloader maintain): ${errorMessage(err)}`));
      }
    });
}
