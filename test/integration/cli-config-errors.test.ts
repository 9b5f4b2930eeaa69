/** The CLI's promise on bad configuration: exit code 2 and a message naming file, key and cause. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { runCli } from '../helpers/cli.js';

/** A copy of the shipped config with one file edited. */
function editedConfig(file: string, edit: (text: string) => string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lakeloader-cli-'));
  cpSync(path.join(PROJECT_ROOT, 'config'), dir, { recursive: true });
  writeFileSync(path.join(dir, file), edit(readFileSync(path.join(dir, file), 'utf8')));
  return dir;
}

describe('lakeloader CLI configuration errors', () => {
  test('the shipped config checks clean (exit 0)', async () => {
    const r = await runCli(['config', 'check']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source demo_pg: postgres, namespace bronze\.demo_pg/);
  });

  test('a missing environment variable names the variable and the key (exit 2)', async () => {
    const dir = editedConfig('sources.yaml', (t) => t.replace(/\$\{LAKELOADER_PG_PASSWORD:[^}]*\}/, '${LL_TEST_UNSET_PASSWORD}'));
    const r = await runCli(['--config', dir, 'config', 'check'], { LL_TEST_UNSET_PASSWORD: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /sources\.yaml:sources\.demo_pg\.connection\.password: environment variable LL_TEST_UNSET_PASSWORD is not set/);
  });

  test('a value of the wrong type names file and key (exit 2)', async () => {
    const dir = editedConfig('sources.yaml', (t) => t.replace('parallel_workers: 2', 'parallel_workers: many'));
    const r = await runCli(['--config', dir, 'config', 'check']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /sources\.yaml:sources\.demo_pg\.parallel_workers: .*number/i);
  });

  test('an unknown source lists the known ones (exit 2)', async () => {
    const r = await runCli(['config', 'check', '--source', 'no_such_db']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown source 'no_such_db' \(known: demo_pg\)/);
  });

  test('LAKELOADER_CONFIG_DIR selects the config directory', async () => {
    const r = await runCli(['config', 'check'], { LAKELOADER_CONFIG_DIR: '/nonexistent/lakeloader' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config directory \/nonexistent\/lakeloader does not exist/);
  });

  test('an unknown command or option is a usage error (exit 2)', async () => {
    assert.equal((await runCli(['no-such-command'])).code, 2);
    assert.equal((await runCli(['config', 'check', '--bogus'])).code, 2);
  });

  test('secrets never reach the logs', async () => {
    const dir = editedConfig('lakehouse.yaml', (t) => t.replace('${LL_REST_PORT:8181}', '1'));
    const r = await runCli(['--config', dir, '--log-format', 'json', 'config', 'check'], { LAKELOADER_PG_PASSWORD: 'Sup3rSecretPw' });
    assert.equal(r.code, 0);
    assert.doesNotMatch(r.stdout + r.stderr, /Sup3rSecretPw/);
  });
});
