/** `lakeloader config check`: validate the config directory (and optionally one source) without doing any work. */
import type { Command } from 'commander';
import { getSource, sourceNamespace } from '../lib/config/index.js';
import { commandContext } from '../lib/cli/context.js';

export function registerConfigCheck(program: Command): void {
  program
    .command('config')
    .description('inspect the configuration')
    .command('check')
    .description('validate sources.yaml, kafka_clusters.yaml and lakehouse.yaml; exit 2 listing every problem')
    .option('--source <name>', 'also check that this source exists')
    .action((opts: { source?: string }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const names = opts.source ? [opts.source] : Object.keys(config.sources);
      for (const name of names) {
        const source = getSource(config, name);
        process.stdout.write(`source ${name}: ${source.type}, namespace ${sourceNamespace(name, source)}, schemas ${source.schemas.join(', ')}\n`);
      }
      process.stdout.write(`catalog: ${config.lakehouse.catalog.uri} (storage ${config.lakehouse.storage.type})\n`);
      process.stdout.write(`kafka clusters: ${Object.keys(config.kafkaClusters).join(', ') || 'none'}\n`);
      process.stdout.write(`config ${config.dir}: ok\n`);
    });
}
