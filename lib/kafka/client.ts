/** kafkajs client options from a kafka_clusters.yaml entry. */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { KafkaClusterConfig } from '../config/schema.js';
import { logger } from '../log/logger.js';

function tls(ssl: KafkaClusterConfig['ssl']): KafkaConfig['ssl'] {
  if (typeof ssl === 'boolean') return ssl;
  return {
    rejectUnauthorized: ssl.reject_unauthorized,
    ...(ssl.ca ? { ca: [readFileSync(ssl.ca, 'utf8')] } : {}),
    ...(ssl.cert ? { cert: readFileSync(ssl.cert, 'utf8') } : {}),
    ...(ssl.key ? { key: readFileSync(ssl.key, 'utf8') } : {}),
  };
}

export function kafkaConfig(cluster: KafkaClusterConfig): KafkaConfig {
  const config: KafkaConfig = {
    clientId: cluster.client_id,
    brokers: cluster.brokers,
    ssl: tls(cluster.ssl),
    // kafkajs logs through our winston logger so lines stay structured and redacted
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      const method = level <= logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : 'debug';
      logger[method](`kafkajs ${namespace}: ${message}`, extra);
    },
  };
  if (cluster.sasl) {
    config.sasl = { mechanism: cluster.sasl.mechanism, username: cluster.sasl.username, password: cluster.sasl.password } as SASLOptions;
  }
  return config;
}

export function kafkaClient(cluster: KafkaClusterConfig): Kafka {
  return new Kafka(kafkaConfig(cluster));
}
