import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { substituteEnv, type SubstitutionProblem } from '../../lib/config/env.js';
import { getSource, loadConfig, sourceNamespace } from '../../lib/config/load.js';
import { ConfigError } from '../../lib/errors.js';

const LAKEHOUSE = 'catalog:\n  uri: http://127.0.0.1:8181\n';
const SOURCES = `sources:
  db1:
    type: postgres
    connection: {host: h, database: d, user: u, password: '\${DB1_PASSWORD:fallback}'}
`;

function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lakeloader-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('environment substitution', () => {
  test('replaces ${VAR} and ${VAR:default} inside strings, anywhere in the tree', () => {
    const problems: SubstitutionProblem[] = [];
    const out = substituteEnv({ a: 'x-${A}-y', b: ['${B:two}'], c: { d: '${C:}' }, n: 5 }, { A: 'one' }, problems);
    assert.deepEqual(out, { a: 'x-one-y', b: ['two'], c: { d: '' }, n: 5 });
    assert.deepEqual(problems, []);
  });

  test('a missing variable without default is reported with the key that used it', () => {
    const problems: SubstitutionProblem[] = [];
    substituteEnv({ sources: { s: { connection: { password: '${NOPE}' } } } }, {}, problems);
    assert.deepEqual(problems, [{ path: 'sources.s.connection.password', variable: 'NOPE' }]);
  });

  test('an empty variable counts as unset so the default applies', () => {
    assert.equal(substituteEnv('${E:dflt}', { E: '' }, []), 'dflt');
  });
});

describe('loadConfig', () => {
  test('applies defaults and coerces numbers coming from variables', () => {
    const dir = configDir({ 'sources.yaml': SOURCES.replace('host: h', 'host: h, port: "${PORT:6543}"'), 'lakehouse.yaml': LAKEHOUSE });
    const config = loadConfig(dir, {});
    const source = getSource(config, 'db1');
    assert.equal(source.type, 'postgres');
    assert.equal(source.connection.port, 6543);
    assert.equal(source.parallel_workers, 2);
    assert.deepEqual(source.schemas, ['public']);
    assert.equal(sourceNamespace('db1', source), 'bronze.db1');
    assert.equal(config.lakehouse.catalog.alias, 'lake');
    assert.deepEqual(config.kafkaClusters, {}, 'kafka_clusters.yaml is optional');
    assert.deepEqual(config.secrets, ['fallback']);
  });

  test('lists every problem as file:key.path: message', () => {
    const dir = configDir({
      'sources.yaml': `sources:
  db1:
    type: postgres
    parallel_workers: lots
    connection: {host: h, database: d, user: u, password: '\${MISSING_SECRET}'}
    kafka: {cluster: nowhere, topic_prefix: p}
  db2:
    type: mysql
`,
      'lakehouse.yaml': 'catalog:\n  uri: not a url\n  extra: 1\n',
    });
    const problems = problemsOf(() => loadConfig(dir, {}));
    assert.ok(problems.includes('sources.yaml:sources.db1.connection.password: environment variable MISSING_SECRET is not set and has no default (use ${MISSING_SECRET:default})'), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('sources.yaml:sources.db1.parallel_workers: ')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('sources.yaml:sources.db2.type: ')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('lakehouse.yaml:catalog.uri: ')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('lakehouse.yaml:catalog: ') && p.includes('extra')), problems.join('\n'));
  });

  test('a Kafka cluster reference must exist', () => {
    const dir = configDir({
      'sources.yaml': SOURCES + '    kafka: {cluster: nowhere, topic_prefix: p}\n',
      'lakehouse.yaml': LAKEHOUSE,
    });
    assert.deepEqual(problemsOf(() => loadConfig(dir, {})), [
      "sources.yaml:sources.db1.kafka.cluster: unknown Kafka cluster 'nowhere' (known: none defined)",
    ]);
  });

  test('missing files and YAML syntax errors are named', () => {
    assert.deepEqual(problemsOf(() => loadConfig(configDir({ 'lakehouse.yaml': LAKEHOUSE }), {})).map((p) => p.split(' in ')[0]), ['sources.yaml: file not found']);
    const broken = problemsOf(() => loadConfig(configDir({ 'sources.yaml': 'sources: [unclosed', 'lakehouse.yaml': LAKEHOUSE }), {}));
    assert.ok(broken[0]?.startsWith('sources.yaml:1: '), broken.join('\n'));
  });

  test('an unknown source names the known ones', () => {
    const config = loadConfig(configDir({ 'sources.yaml': SOURCES, 'lakehouse.yaml': LAKEHOUSE }), {});
    assert.deepEqual(problemsOf(() => getSource(config, 'nope')), ["sources.yaml:sources.nope: unknown source 'nope' (known: db1)"]);
  });

  test('the shipped example config is valid', () => {
    const config = loadConfig(path.join(import.meta.dirname, '..', '..', 'config'), {});
    assert.ok(config.sources.demo_pg);
    assert.ok(config.kafkaClusters.local);
  });
});
