// Admin command line: every admin subcommand with its output and errors,
// sharing the store with a running server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import { adminCall, scimGroup, scimUser } from './admin_helpers.mjs';

describe('admin command line', () => {
  let srv;
  let acc;
  let key;

  const ok = async (args) => {
    const out = await srv.cli(args);
    assert.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}`);
    assert.notEqual(out.json, undefined, out.stdout);
    return out.json;
  };
  const fails = async (args, code, message) => {
    const out = await srv.cli(args);
    assert.equal(out.code, code, `${args.join(' ')}: ${out.stdout}${out.stderr}`);
    if (message) assert.match(out.stderr, message);
    assert.equal(out.stderr.trim().split('\n').length >= 1, true);
    return out;
  };

  before(async () => {
    srv = await startIdgate({ config: { admin: { dns_resolver: '127.0.0.1:9', dns_timeout: '1s' } } });
    acc = await srv.createAccount('Acme');
    key = (await srv.createScimKey(acc.id)).token;
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('admin-token create, list, revoke', async () => {
    const operator = await ok(['admin-token', 'create']);
    assert.match(operator.token, /^idga_/);
    assert.equal(operator.account, null);
    const scoped = await ok(['admin-token', 'create', '--account', acc.id]);
    assert.equal(scoped.account, acc.id);
    const list = await ok(['admin-token', 'list']);
    assert.equal(list.length, 2);
    assert.ok(list.every((t) => t.token === undefined));
    const own = await ok(['admin-token', 'list', '--account', acc.id]);
    assert.deepEqual(own.map((t) => t.id), [scoped.id]);
    // The token works against the running server until revoked.
    assert.equal((await adminCall(srv, scoped.token, 'GET', '/accounts')).status, 200);
    await ok(['admin-token', 'revoke', '--id', scoped.id]);
    assert.equal((await adminCall(srv, scoped.token, 'GET', '/accounts')).status, 401);
    await fails(['admin-token', 'revoke', '--id', scoped.id], 1, /admin token not found/);
    await fails(['admin-token', 'revoke'], 2);
    await fails(['admin-token', 'create', '--account', '00000000-0000-4000-8000-000000000000'], 1,
      /account not found/);
  });

  test('account rename and settings', async () => {
    const renamed = await ok(['account', 'rename', '--account', acc.id, '--name', 'Acme Inc']);
    assert.equal(renamed.name, 'Acme Inc');
    await fails(['account', 'rename', '--account', acc.id], 2, /missing option --name/);
    await fails(['account', 'rename', '--name', 'x'], 2);
    const set = await ok(['account', 'settings', '--account', acc.id, '--default-tier', 'pro',
      '--refresh-tokens', 'true', '--idle-timeout', '1800']);
    assert.equal(set.settings.default_tier, 'pro');
    assert.equal(set.settings.refresh_tokens, true);
    assert.equal(set.settings.idle_timeout, 1800);
    await fails(['account', 'settings', '--account', acc.id, '--default-tier', 'gold'], 1,
      /invalid default_tier/);
    await fails(['account', 'settings', '--account', acc.id, '--refresh-tokens', 'maybe'], 1,
      /invalid refresh_tokens/);
    const current = await ok(['account', 'settings', '--account', acc.id]);
    assert.equal(current.idle_timeout, 1800);
    await ok(['account', 'settings', '--account', acc.id, '--default-tier', 'basic']);
  });

  test('domain add, list, get, verify, remove', async () => {
    const added = await ok(['domain', 'add', '--account', acc.id, '--domain', 'acme.example']);
    assert.equal(added.record.name, '_idgate-challenge.acme.example');
    assert.match(added.record.value, /^idgate-verification=/);
    await fails(['domain', 'add', '--account', acc.id, '--domain', 'acme.example'], 1,
      /already claimed/);
    await fails(['domain', 'add', '--account', acc.id, '--domain', 'nodots'], 1, /invalid domain/);
    await fails(['domain', 'add', '--account', acc.id], 2, /missing option --domain/);
    const list = await ok(['domain', 'list', '--account', acc.id]);
    assert.deepEqual(list.map((d) => d.domain), ['acme.example']);
    const got = await ok(['domain', 'get', '--account', acc.id, '--domain', 'acme.example']);
    assert.equal(got.verified, false);
    await fails(['domain', 'verify', '--account', acc.id, '--domain', 'acme.example'], 1,
      /DNS lookup|could not look up|verification failed/);
    await fails(['domain', 'verify', '--account', acc.id, '--domain', 'other.example'], 1,
      /domain not found/);
    await ok(['domain', 'remove', '--account', acc.id, '--domain', 'acme.example']);
    await fails(['domain', 'remove', '--account', acc.id, '--domain', 'acme.example'], 1,
      /domain not found/);
    await fails(['domain', 'list'], 2);
  });

  test('directory-group, user, license commands', async () => {
    const u1 = await scimUser(srv, key, 'ann@acme.example');
    await scimUser(srv, key, 'ben@acme.example');
    const group = await scimGroup(srv, key, 'Designers', [u1.id]);

    await fails(['directory-group', 'add', '--account', acc.id, '--name', 'Nobody', '--tier', 'pro'],
      1, /group not found: the directory may not have finished syncing; try again in a few minutes/);
    await fails(['directory-group', 'add', '--account', acc.id, '--name', 'Designers', '--tier', 'x'],
      1, /invalid tier/);
    const added = await ok(['directory-group', 'add', '--account', acc.id, '--name', 'Designers',
      '--tier', 'pro']);
    assert.equal(added.group_id, group.id);
    assert.equal(added.members, 1);
    const counts = await ok(['license', 'counts', '--account', acc.id]);
    assert.equal(counts.pro, 1);
    assert.equal(counts.basic, 1);
    const pros = await ok(['user', 'list', '--account', acc.id, '--tier', 'pro']);
    assert.deepEqual(pros.users.map((u) => u.userName), ['ann@acme.example']);
    await fails(['user', 'list', '--account', acc.id, '--tier', 'gold'], 1, /invalid tier filter/);
    const page = await ok(['user', 'list', '--account', acc.id, '--limit', '1']);
    assert.equal(page.users.length, 1);
    assert.ok(page.next);

    const changed = await ok(['directory-group', 'set-tier', '--account', acc.id, '--group',
      group.id, '--tier', 'basic']);
    assert.equal(changed.tier, 'basic');
    const list = await ok(['directory-group', 'list', '--account', acc.id]);
    assert.equal(list.length, 1);
    assert.equal(list[0].displayName, 'Designers');
    await ok(['directory-group', 'remove', '--account', acc.id, '--group', group.id]);
    await fails(['directory-group', 'remove', '--account', acc.id, '--group', group.id], 1,
      /directory group not found/);
    await fails(['directory-group', 'set-tier', '--account', acc.id, '--tier', 'pro'], 2);
  });

  test('audit list filters', async () => {
    const all = await ok(['audit', 'list', '--account', acc.id, '--limit', '1000']);
    assert.ok(all.events.length > 5);
    const mapping = await ok(['audit', 'list', '--account', acc.id, '--kind', 'mapping.']);
    assert.deepEqual(mapping.events.map((e) => e.kind),
      ['mapping.removed', 'mapping.changed', 'mapping.added']);
    const oldest = await ok(['audit', 'list', '--account', acc.id, '--kind', 'mapping.', '--order', 'asc']);
    assert.deepEqual(oldest.events.map((e) => e.kind),
      ['mapping.added', 'mapping.changed', 'mapping.removed']);
    await fails(['audit', 'list', '--account', acc.id, '--order', 'up'], 1, /invalid order: up/);
    assert.ok(mapping.events.every((e) => e.actor === 'cli'));
    const none = await ok(['audit', 'list', '--account', acc.id, '--since', '2999-01-01']);
    assert.equal(none.events.length, 0);
    await fails(['audit', 'list', '--account', acc.id, '--since', 'soon'], 1, /invalid since/);
  });

  test('account create, get and list show every setting', async () => {
    const created = await ok(['account', 'create', '--name', 'Shown']);
    const defaults = await ok(['account', 'settings', '--account', created.id]);
    assert.equal(Object.keys(defaults).length, 7);
    assert.deepEqual(created.settings, defaults);
    await ok(['account', 'settings', '--account', created.id, '--form-post', 'true']);
    const changed = await ok(['account', 'settings', '--account', created.id]);
    assert.equal(changed.form_post, true);
    assert.equal(changed.default_tier, 'basic');
    assert.deepEqual((await ok(['account', 'get', '--account', created.id])).settings, changed);
    const listed = (await ok(['account', 'list'])).find((a) => a.id === created.id);
    assert.deepEqual(listed.settings, changed);
  });

  test('account delete', async () => {
    const doomed = await srv.createAccount('Doomed');
    await ok(['account', 'delete', '--account', doomed.id]);
    await fails(['account', 'delete', '--account', doomed.id], 1, /account not found/);
    const list = await ok(['account', 'list']);
    assert.ok(!list.some((a) => a.id === doomed.id));
  });
});
