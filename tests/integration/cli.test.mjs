// Command-line accounts and SCIM keys, run against the store of a live
// server the way an operator would.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

describe('account and scim-key commands', () => {
  let srv;
  before(async () => { srv = await startIdgate(); });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('account create prints the account and list shows it', async () => {
    const acc = await srv.createAccount('Acme Corp', { domain: 'Acme.example' });
    assert.match(acc.id, /^[0-9a-f-]{36}$/);
    assert.equal(acc.name, 'Acme Corp');
    const list = await srv.cli(['account', 'list']);
    assert.equal(list.code, 0);
    assert.ok(Array.isArray(list.json));
    assert.ok(list.json.some((a) => a.id === acc.id && a.name === 'Acme Corp'));
  });

  test('pending domain claims do not block others', async () => {
    const first = await srv.createAccount('First', { domain: 'shared.example' });
    const second = await srv.createAccount('Second', { domain: 'SHARED.example' });
    assert.notEqual(first.id, second.id);
    for (const acc of [first, second]) {
      const list = await srv.cli(['domain', 'list', '--account', acc.id]);
      assert.equal(list.code, 0, list.stderr);
      const claim = list.json.find((d) => d.domain === 'shared.example');
      assert.ok(claim, `no claim listed for ${acc.name}`);
      assert.equal(claim.verified, false);
    }
  });

  test('missing flags are usage errors', async () => {
    const out = await srv.cli(['account', 'create']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /usage: idgate account create --name NAME/);
    const key = await srv.cli(['scim-key', 'create']);
    assert.equal(key.code, 2);
  });

  test('scim-key lifecycle: two keys, third rejected, revoke frees a slot', async () => {
    const acc = await srv.createAccount('Keys Inc');
    const k1 = await srv.createScimKey(acc.id);
    assert.match(k1.token, /^scim_[A-Za-z0-9_-]{43}$/);
    assert.equal(k1.prefix, k1.token.slice(5, 13));
    assert.equal(k1.revoked, false);
    const k2 = await srv.createScimKey(acc.id);
    assert.notEqual(k1.token, k2.token);

    const third = await srv.cli(['scim-key', 'create', '--account', acc.id]);
    assert.equal(third.code, 1);
    assert.match(third.stderr, /already has 2 active SCIM keys/);
    assert.equal(third.stdout, '');

    const listed = await srv.cli(['scim-key', 'list', '--account', acc.id]);
    assert.equal(listed.code, 0);
    assert.equal(listed.json.length, 2);
    assert.ok(!listed.stdout.includes(k1.token), 'list must not print tokens');
    assert.ok(!listed.stdout.includes(k2.token), 'list must not print tokens');
    for (const k of listed.json) assert.equal(k.token, undefined);

    const revoked = await srv.cli(['scim-key', 'revoke', '--account', acc.id, '--key', k1.id]);
    assert.equal(revoked.code, 0);
    assert.equal(revoked.json.revoked, true);
    const again = await srv.cli(['scim-key', 'revoke', '--account', acc.id, '--key', k1.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already revoked/);

    const k3 = await srv.createScimKey(acc.id);
    assert.ok(k3.token);
    const after3 = await srv.cli(['scim-key', 'list', '--account', acc.id]);
    assert.deepEqual(after3.json.map((k) => k.revoked), [true, false, false]);
  });

  test('keys of an unknown account or key id are errors', async () => {
    const out = await srv.cli(['scim-key', 'list', '--account', '00000000-0000-0000-0000-000000000000']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /account not found/);
    const acc = await srv.createAccount('No Keys');
    const rev = await srv.cli(['scim-key', 'revoke', '--account', acc.id, '--key', 'nope']);
    assert.equal(rev.code, 1);
    assert.match(rev.stderr, /not found/);
  });

  test('tokens never reach the server log', async () => {
    const acc = await srv.createAccount('Quiet');
    const key = await srv.createScimKey(acc.id);
    assert.ok(!srv.logs().includes(key.token));
  });
});
