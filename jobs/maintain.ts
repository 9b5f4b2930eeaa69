/** `lakeloader maintain`: one full maintenance pass over a source's Iceberg tables (for schedulers such as a Kubernetes CronJob). */
import { Command, Option } from 'commander';
import { commandContext } from '../lib/cli/context.js';
import { repeatable } from '../lib/cli/options.js';
import { renderMaintainReport } from '../lib/maintenance/render.js';
import { runMaintain } from '../lib/maintenance/run.js';

export function registerMaintain(program: Command): void {
  program
    .command('maintain')
    .description('maintain a source\'s Iceberg tables (bronze, changelogs, state tables): rewrite data files and retire delete files, expire snapshots, remove orphan files, rewrite manifests, trim metadata; exit 1 if a table failed')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .option('--table-filter <pattern>', 'only tables (Iceberg or source name) matching this SQL LIKE pattern (repeatable)', repeatable, [])
    .option('--dry-run', 'print per table what would be done and why, change nothing')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText('after', '\nRetention, thresholds and the engine come from sources.yaml:sources.<name>.maintenance (see the README).')
    .action(async (opts: { source: string; tableFilter: string[]; dryRun?: boolean; format: 'table' | 'json' }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const report = await runMaintain(config, { source: opts.source, tableFilters: opts.tableFilter, dryRun: Boolean(opts.dryRun), mode: 'full', trigger: 'manual', whileConsumerRuns: 'refuse' });
      process.stdout.write(renderMaintainReport(report, opts.format));
      process.exitCode = report.exit_code;
    });
}
