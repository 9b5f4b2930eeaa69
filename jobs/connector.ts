/** `lakeloader connector apply|status|delete`: the source's Debezium connector on Kafka Connect, from the bulk load's generated config. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { commandContext } from '../lib/cli/context.js';
import { getSource, type LakeloaderConfig } from '../lib/config/index.js';
import { ConfigError } from '../lib/errors.js';
import { KafkaConnectClient } from '../lib/kafka/connect-client.js';

function connectFor(config: LakeloaderConfig, sourceName: string): { client: KafkaConnectClient; source: ReturnType<typeof getSource> } {
  const source = getSource(config, sourceName);
  if (!source.kafka) throw new ConfigError([`sources.yaml:sources.${sourceName}.kafka: required (cluster, topic_prefix)`]);
  const cluster = config.kafkaClusters[source.kafka.cluster]!;
  if (!cluster.connect_url) throw new ConfigError([`kafka_clusters.yaml:clusters.${source.kafka.cluster}.connect_url: required to manage connectors`]);
  return { client: new KafkaConnectClient(cluster.connect_url), source };
}

function connectorFile(config: LakeloaderConfig, sourceName: string): { name: string; config: Record<string, string> } {
  const file = path.join(config.dir, `debezium_${sourceName}.json`);
  if (!existsSync(file)) throw new ConfigError([`${file} not found: run 'lakeloader bulk-load --source ${sourceName}' first (it writes the connector config that continues from the load's snapshot)`]);
  return JSON.parse(readFileSync(file, 'utf8')) as { name: string; config: Record<string, string> };
}

export function registerConnector(program: Command): void {
  const connector = program.command('connector').description('manage the source\'s Debezium connector on Kafka Connect');
  connector
    .command('apply')
    .description('create or update the connector from config/debezium_<source>.json and wait until it runs')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .action(async (opts: { source: string }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const { client, source } = connectFor(config, opts.source);
      const file = connectorFile(config, opts.source);
      // the file never holds the password: it comes from the source's (environment-substituted) config
      const password = source.type === 'postgres' ? source.connection.password : undefined;
      const settings = { ...file.config, ...(password !== undefined ? { 'database.password': password } : {}) };
      await client.apply(file.name, settings);
      const status = await client.waitUntilRunning(file.name);
      process.stdout.write(`connector ${file.name}: ${status.connector.state}, tasks ${status.tasks.map((t) => `${t.id}=${t.state}`).join(' ')}\n`);
    });
  connector
    .command('status')
    .description('show the connector and task states')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .action(async (opts: { source: string }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const { client } = connectFor(config, opts.source);
      const name = connectorFile(config, opts.source).name;
      const status = await client.status(name);
      if (!status) {
        process.stdout.write(`connector ${name}: not deployed\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`connector ${name}: ${status.connector.state} on ${status.connector.worker_id}\n`);
      for (const t of status.tasks) process.stdout.write(`  task ${t.id}: ${t.state}${t.trace ? ` — ${t.trace.split('\n')[0]}` : ''}\n`);
      if (status.connector.state !== 'RUNNING' || status.tasks.some((t) => t.state !== 'RUNNING')) process.exitCode = 1;
    });
  connector
    .command('delete')
    .description('stop and remove the connector and its stored offsets (the replication slot stays)')
    .requiredOption('-s, --source <name>', 'source from sources.yaml')
    .action(async (opts: { source: string }, cmd: Command) => {
      const { config } = commandContext(cmd);
      const { client } = connectFor(config, opts.source);
      const name = connectorFile(config, opts.source).name;
      await client.delete(name);
      process.stdout.write(`connector ${name}: deleted\n`);
    });
}
