/** `lakeloader status`: a source at a glance; exit 1 when any table is failed or blocked. */
import { Command, Option } from 'commander';
import { commandContext } from '../lib/cli/context.js';
import { renderStatusReport } from '../lib/validate/render.js';
import { runStatus } from '../lib/validate/status.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('summary of a source: tables by load status, rows loaded, CDC lag (Kafka and WAL), latest schema changes, dead letters; exit 1 if a table is failed or blocked')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: { source: string; format: 'table' | 'json' }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const report = await runStatus(config, { source: opts.source });
      process.stdout.write(renderStatusReport(report, opts.format));
      process.exitCode = report.exit_code;
    });
}
