/** `lakeloader validate`: every table of a source beside its Iceberg table, counts or (--deep) contents, from one consistent source snapshot. */
import path from 'node:path';
import { Command, Option } from 'commander';
import { commandContext } from '../lib/cli/context.js';
import { positiveInteger, positiveNumber, repeatable } from '../lib/cli/options.js';
import type { OutputFormat } from '../lib/query/format.js';
import { renderValidateReport } from '../lib/validate/render.js';
import { runValidate } from '../lib/validate/validate.js';

/** Seconds --wait-for-lsn waits when given without a value. */
export const DEFAULT_WAIT_SECONDS = 300;

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('compare every table of a source with its Iceberg table (row counts; contents with --deep) against one consistent source snapshot; exit 1 on any difference or missing table')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .option('--table-filter <pattern>', 'only tables matching this SQL LIKE pattern (repeatable)', repeatable, [])
    .option('--hide-empty', 'leave out tables that are empty on both sides')
    .option('--no-check-missing', 'do not report tables present on one side only')
    .option('--deep', 'compare contents: per-row hashes of both sides in key buckets; names the keys of differing rows')
    .addOption(new Option('--wait-for-lsn [seconds]', `before judging a differing table, wait until CDC has applied the source snapshot's WAL position (default ${DEFAULT_WAIT_SECONDS}s)`).argParser(positiveNumber('--wait-for-lsn')))
    .addOption(new Option('--max-differences <n>', 'differing keys listed per table with --deep').default(20).argParser(positiveInteger('--max-differences')))
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .option('--staging-dir <dir>', 'where --deep stages source rows (removed afterwards)', process.env.LAKELOADER_STAGING_DIR ?? path.join('checkpoints', 'staging'))
    .addHelpText('after', '\nResults: ok | mismatch | in_flux (the two sides are at different WAL positions while CDC streams: rerun, or use --wait-for-lsn)\n' +
      '         | missing_in_iceberg | missing_in_source | error. difference = iceberg_rows - source_rows.')
    .action(async (opts: {
      source: string; tableFilter: string[]; hideEmpty?: boolean; checkMissing: boolean; deep?: boolean; waitForLsn?: number | true;
      maxDifferences: number; format: OutputFormat; stagingDir: string;
    }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const report = await runValidate(config, {
        source: opts.source,
        tableFilters: opts.tableFilter,
        hideEmpty: Boolean(opts.hideEmpty),
        checkMissing: opts.checkMissing,
        deep: Boolean(opts.deep),
        ...(opts.waitForLsn === undefined ? {} : { waitForLsn: opts.waitForLsn === true ? DEFAULT_WAIT_SECONDS : opts.waitForLsn }),
        maxDifferences: opts.maxDifferences,
        stagingDir: path.resolve(opts.stagingDir),
      });
      process.stdout.write(renderValidateReport(report, opts.format));
      process.exitCode = report.exit_code;
    });
}
