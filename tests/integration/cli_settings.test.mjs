// `idgate account settings` as a read, and validation errors from admin
// commands that name the flag and the value given.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

const SETTINGS = ['absolute_lifetime', 'default_tier', 'direct_id_token', 'form_post',
  'idle_timeout', 'provider_logout', 'refresh_tokens'];

describe('account settings and flag errors', () => {
  let srv;
  let acc;
  before(async () => {
    srv = await startIdgate();
    acc = await srv.createAccount('Settings');
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('settings without flags prints all', async () => {
    const out = await srv.cli(['account', 'settings', '--account', acc.id]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(Object.keys(out.json).sort(), SETTINGS);
    assert.equal(out.json.default_tier, 'basic');
  });

  test('settings read shows a change', async () => {
    const set = await srv.cli(['account', 'settings', '--account', acc.id, '--default-tier', 'pro']);
    assert.equal(set.code, 0, set.stderr);
    const out = await srv.cli(['account', 'settings', '--account', acc.id]);
    assert.equal(out.json.default_tier, 'pro');
    assert.deepEqual(Object.keys(out.json).sort(), SETTINGS);
  });

  test('settings of unknown account fails', async () => {
    const out = await srv.cli(['account', 'settings', '--account',
      '00000000-0000-4000-8000-000000000000']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /account not found/);
  });

  const invalid = [
    [['account', 'settings', '--default-tier', 'gold'], '--default-tier gold'],
    [['account', 'settings', '--idle-timeout', '30'], '--idle-timeout 30'],
    [['user', 'list', '--limit', '0'], '--limit 0'],
  ];
  for (const [args, given] of invalid) {
    test(`invalid ${given} names flag and value`, async () => {
      const out = await srv.cli([...args, '--account', acc.id]);
      assert.equal(out.code, 1, out.stdout);
      assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
      assert.ok(out.stderr.includes(`(given ${given})`), out.stderr);
    });
  }
});
