/**
 * CDC consumer lag in Kafka: for each Debezium topic, the end offsets against the consumer group's
 * committed offsets. Short timeouts, and an unreachable cluster is a reported fact, not a failure.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaClusterConfig, SourceConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { kafkaConfig } from '../kafka/client.js';

export interface TopicLag {
  topic: string;
  partitions: number;
  /** Messages not yet consumed: end offset − committed offset (from the earliest retained offset when nothing is committed). */
  lag: number;
  /** False when the group has committed no offset on this topic yet. */
  committed: boolean;
}

export interface KafkaLagReport {
  cluster: string;
  group: string;
  reachable: boolean;
  error?: string;
  topics: TopicLag[];
  /** Topics expected but absent in Kafka (no change was ever produced, or another prefix). */
  missing_topics: string[];
  total_lag: number | null;
}

/** The consumer group of a source's CDC consumer (sources.yaml cdc.group_id, default lakeloader-cdc-<source>). */
export function cdcGroupId(sourceName: string, source: SourceConfig): string {
  return source.cdc?.group_id ?? `lakeloader-cdc-${sourceName}`;
}

/** Debezium's topic for a table: `<topic_prefix>.<schema>.<table>`. */
export function topicFor(source: SourceConfig, sourceName: string, table: string): string {
  return `${source.kafka?.topic_prefix ?? sourceName}.${table}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms);
    }),
  ]);
}

/** An admin client that gives up fast: these reports must not hang on an unreachable cluster. */
function quickAdmin(cluster: KafkaClusterConfig, timeoutMs: number) {
  return new Kafka({
    ...kafkaConfig(cluster),
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(3000, timeoutMs),
    requestTimeout: Math.min(5000, timeoutMs),
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
  }).admin();
}

/**
 * Members of a consumer group (0 when it is empty or unknown). A consumer that was killed stays a member
 * until its session times out.
 */
export async function groupMembers(clusterName: string, cluster: KafkaClusterConfig, group: string, timeoutMs = 10_000): Promise<number> {
  const admin = quickAdmin(cluster, timeoutMs);
  try {
    return await withTimeout((async () => {
      await admin.connect();
      const { groups } = await admin.describeGroups([group]);
      return groups.find((g) => g.groupId === group)?.members.length ?? 0;
    })(), timeoutMs, `Kafka cluster ${clusterName} (${cluster.brokers.join(', ')})`);
  } finally {
    await withTimeout(admin.disconnect(), 2000, 'disconnect').catch(() => undefined);
  }
}

export async function kafkaLag(
  clusterName: string, cluster: KafkaClusterConfig, group: string, topics: string[], timeoutMs = 10_000,
): Promise<KafkaLagReport> {
  const report: KafkaLagReport = { cluster: clusterName, group, reachable: false, topics: [], missing_topics: [], total_lag: null };
  const admin = quickAdmin(cluster, timeoutMs);
  try {
    await withTimeout((async () => {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      report.reachable = true;
      const present = topics.filter((t) => existing.has(t));
      report.missing_topics = topics.filter((t) => !existing.has(t));
      if (present.length === 0) {
        report.total_lag = 0;
        return;
      }
      const committed = await admin.fetchOffsets({ groupId: group, topics: present });
      for (const topic of present) {
        const ends = await admin.fetchTopicOffsets(topic);
        const done = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        let lag = 0;
        let any = false;
        for (const p of ends) {
          const c = done.get(p.partition) ?? -1;
          if (c >= 0) any = true;
          lag += Math.max(0, Number(p.high) - (c >= 0 ? c : Number(p.low)));
        }
        report.topics.push({ topic, partitions: ends.length, lag, committed: any });
      }
      report.total_lag = report.topics.reduce((a, t) => a + t.lag, 0);
    })(), timeoutMs, `Kafka cluster ${clusterName} (${cluster.brokers.join(', ')})`);
  } catch (err) {
    report.error = errorMessage(err);
    if (!report.reachable) report.topics = [];
  } finally {
    await withTimeout(admin.disconnect(), 2000, 'disconnect').catch(() => undefined);
  }
  return report;
}
