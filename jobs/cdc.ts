/** `lakeloader cdc`: the long-running consumer applying Debezium change events to the bronze tables. */
import { Command, Option } from 'commander';
import { runCdc } from '../lib/cdc/consumer.js';
import { commandContext } from '../lib/cli/context.js';
import { positiveInteger, positiveNumber } from '../lib/cli/options.js';
import { logger } from '../lib/log/logger.js';

export function registerCdc(program: Command): void {
  program
    .command('cdc')
    .description('consume the source\'s Debezium topics and apply every change to Iceberg, exactly once')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .addOption(new Option('--batch-size <n>', 'events per micro-batch (default: sources.yaml cdc.batch_size)').argParser(positiveInteger('--batch-size')))
    .addOption(new Option('--max-batch-mib <mib>', 'MiB of messages per micro-batch at most (default: cdc.max_batch_mib)').argParser(positiveNumber('--max-batch-mib')))
    .addOption(new Option('--trigger-interval <seconds>', 'max seconds a micro-batch waits (default: cdc.trigger_interval)').argParser(positiveNumber('--trigger-interval')))
    .addOption(new Option('--exit-when-idle <seconds>', 'exit 0 once caught up and idle this long (backfills, tests)').argParser(positiveNumber('--exit-when-idle')))
    .addOption(new Option('--from-beginning', 'kept for old scripts: a table without an applied position is always read from its topic\'s beginning').hideHelp())
    .addOption(new Option('--metrics-port <port>', 'port of /metrics, /health, /ready (0 = off; default: cdc.metrics_port)').argParser((v) => Number(v)))
    .action(async (opts: { source: string; batchSize?: number; maxBatchMib?: number; triggerInterval?: number; exitWhenIdle?: number; metricsPort?: number }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const abort = new AbortController();
      const stop = (signal: string) => {
        logger.info(`${signal} received: stopping after the current micro-batch`);
        abort.abort();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      const summary = await runCdc(config, {
        source: opts.source,
        signal: abort.signal,
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        ...(opts.maxBatchMib ? { maxBatchMib: opts.maxBatchMib } : {}),
        ...(opts.triggerInterval ? { triggerInterval: opts.triggerInterval } : {}),
        ...(opts.exitWhenIdle ? { exitWhenIdle: opts.exitWhenIdle } : {}),
        ...(opts.metricsPort !== undefined ? { metricsPort: opts.metricsPort } : {}),
      });
      logger.info('CDC consumer stopped', { ...summary });
      process.stdout.write(`${summary.batches} micro-batches, ${summary.consumed} events consumed, ${summary.applied} applied, ${summary.skipped} skipped (already in the bulk load), ${summary.deadLetters} dead letters\n`);
    });
}
