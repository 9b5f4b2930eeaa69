import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redact, registerSecrets } from '../../lib/log/logger.js';

describe('log redaction', () => {
  test('secret-looking keys are masked whatever their value', () => {
    assert.deepEqual(redact({ password: 'x', connection: { host: 'h', client_secret: 'abc' }, token: 'tok' }), {
      password: '***', connection: { host: 'h', client_secret: '***' }, token: '***',
    });
  });

  test('registered secret values are masked inside any text, and URL credentials too', () => {
    registerSecrets(['s3cr3t-value']);
    assert.equal(redact('connect failed: password s3cr3t-value rejected'), 'connect failed: password *** rejected');
    assert.equal(redact('postgres://user:pw@host/db'), 'postgres://user:***@host/db');
    const err = redact(new Error('auth s3cr3t-value')) as { message: string };
    assert.equal(err.message, 'auth ***');
  });
});
