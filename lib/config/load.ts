/** Loads, substitutes and validates the config directory; every problem is reported as `file:key.path: message`. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';
import { substituteEnv, type SubstitutionProblem } from './env.js';
import {
  kafkaClustersFileSchema,
  lakehouseFileSchema,
  sourcesFileSchema,
  type KafkaClusterConfig,
  type LakehouseConfig,
  type SourceConfig,
} from './schema.js';

export interface LakeloaderConfig {
  dir: string;
  sources: Record<string, SourceConfig>;
  kafkaClusters: Record<string, KafkaClusterConfig>;
  lakehouse: LakehouseConfig;
  /** Secret values found in the config, for log redaction. */
  secrets: string[];
}

export const CONFIG_FILES = {
  sources: 'sources.yaml',
  kafka: 'kafka_clusters.yaml',
  lakehouse: 'lakehouse.yaml',
} as const;

const SECRET_KEY = /pass(word)?|secret|token|private|credential/i;

function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i === 0 ? '' : '.'}${String(s)}`))
    .join('');
}

function readYaml(file: string, required: boolean, problems: string[]): unknown {
  if (!existsSync(file)) {
    if (required) problems.push(`${path.basename(file)}: file not found in ${path.dirname(file)}`);
    return undefined;
  }
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push(`${path.basename(file)}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
    return undefined;
  }
  return doc.toJS();
}

function validate<S extends z.ZodType>(
  schema: S,
  fileName: string,
  raw: unknown,
  env: NodeJS.ProcessEnv,
  problems: string[],
): z.infer<S> | undefined {
  const missing: SubstitutionProblem[] = [];
  const substituted = substituteEnv(raw, env, missing);
  for (const m of missing) {
    problems.push(`${fileName}:${m.path}: environment variable ${m.variable} is not set and has no default (use \${${m.variable}:default})`);
  }
  const parsed = schema.safeParse(substituted);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${fileName}:${formatPath(issue.path) || '(root)'}: ${issue.message}`);
    }
    return undefined;
  }
  return missing.length === 0 ? parsed.data : undefined;
}

function collectSecrets(value: unknown, out: string[], key = ''): void {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key) && value.length > 0) out.push(value);
  } else if (Array.isArray(value)) {
    value.forEach((v) => collectSecrets(v, out, key));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectSecrets(v, out, k);
  }
}

/** Cross-file checks zod cannot see: references between files. */
function checkReferences(config: Omit<LakeloaderConfig, 'secrets' | 'dir'>, problems: string[]): void {
  for (const [name, source] of Object.entries(config.sources)) {
    if (source.kafka && !(source.kafka.cluster in config.kafkaClusters)) {
      const known = Object.keys(config.kafkaClusters).join(', ') || 'none defined';
      problems.push(`${CONFIG_FILES.sources}:sources.${name}.kafka.cluster: unknown Kafka cluster '${source.kafka.cluster}' (known: ${known})`);
    }
  }
}

export function loadConfig(dir: string, env: NodeJS.ProcessEnv = process.env): LakeloaderConfig {
  const absDir = path.resolve(dir);
  const problems: string[] = [];
  if (!existsSync(absDir)) throw new ConfigError([`config directory ${absDir} does not exist (set --config or LAKELOADER_CONFIG_DIR)`]);

  const sourcesRaw = readYaml(path.join(absDir, CONFIG_FILES.sources), true, problems);
  const kafkaRaw = readYaml(path.join(absDir, CONFIG_FILES.kafka), false, problems) ?? { clusters: {} };
  const lakehouseRaw = readYaml(path.join(absDir, CONFIG_FILES.lakehouse), true, problems);

  const sources = sourcesRaw === undefined ? undefined : validate(sourcesFileSchema, CONFIG_FILES.sources, sourcesRaw, env, problems);
  const kafka = validate(kafkaClustersFileSchema, CONFIG_FILES.kafka, kafkaRaw, env, problems);
  const lakehouse = lakehouseRaw === undefined ? undefined : validate(lakehouseFileSchema, CONFIG_FILES.lakehouse, lakehouseRaw, env, problems);

  if (problems.length > 0 || !sources || !kafka || !lakehouse) throw new ConfigError(problems);

  const config = { sources: sources.sources, kafkaClusters: kafka.clusters, lakehouse };
  checkReferences(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const secrets: string[] = [];
  collectSecrets(config, secrets);
  const extensionDir = path.resolve(PROJECT_ROOT, lakehouse.duckdb.extension_directory);
  return { dir: absDir, ...config, lakehouse: { ...lakehouse, duckdb: { ...lakehouse.duckdb, extension_directory: extensionDir } }, secrets };
}

/** Looks up a source by name, or fails with the list of known ones. */
export function getSource(config: LakeloaderConfig, name: string): SourceConfig {
  const source = config.sources[name];
  if (!source) {
    const known = Object.keys(config.sources).join(', ') || 'none defined';
    throw new ConfigError([`${CONFIG_FILES.sources}:sources.${name}: unknown source '${name}' (known: ${known})`]);
  }
  return source;
}

/** The Iceberg namespace of a source's bronze tables. */
export function sourceNamespace(name: string, source: SourceConfig): string {
  return source.namespace ?? `bronze.${name}`;
}
