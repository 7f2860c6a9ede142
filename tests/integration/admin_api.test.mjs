// Admin API: tokens and scopes, accounts and settings, domains, SCIM access
// keys, directory groups, users with their licence tier, counts and the
// audit log, each with its errors, against the real binary.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import {
  adminCall, adminClient, adminToken, scimCall, scimGroup, scimPatch, scimUser,
} from './admin_helpers.mjs';

const NOT_SYNCED =
  'group not found: the directory may not have finished syncing; try again in a few minutes';

describe('admin API', () => {
  let srv;
  let op;          // operator client
  let opToken;
  let acc;         // { id, name }
  let other;

  before(async () => {
    // The resolver points at a closed port so verification fails fast.
    srv = await startIdgate({
      config: { admin: { dns_resolver: '127.0.0.1:9', dns_timeout: '2s' } },
      env: { IDGATE_OIDC_MASTER_KEY: randomBytes(32).toString('hex') },
    });
    opToken = await adminToken(srv);
    op = adminClient(srv, opToken);
    acc = (await op('POST', '/accounts', { name: 'Acme' })).body;
    other = (await op('POST', '/accounts', { name: 'Other' })).body;
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  describe('authentication', () => {
    test('missing token is 401', async () => {
      const res = await adminCall(srv, null, 'GET', '/accounts');
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate'), /^Bearer/);
      assert.match(res.body.error, /missing admin token/);
    });

    test('invalid token is 401', async () => {
      const res = await adminCall(srv, 'idga_not-a-real-token', 'GET', '/accounts');
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid admin token');
      const scimKeyLike = await adminCall(srv, 'scim_abc', 'GET', '/accounts');
      assert.equal(scimKeyLike.status, 401);
    });

    test('whoami describes the token', async () => {
      const me = await op('GET', '/whoami');
      assert.equal(me.status, 200);
      assert.equal(me.body.operator, true);
      assert.equal(me.body.account, null);
      const scoped = await adminCall(srv, await adminToken(srv, acc.id), 'GET', '/whoami');
      assert.equal(scoped.body.operator, false);
      assert.equal(scoped.body.account, acc.id);
    });

    test('scoped token limited to its account', async () => {
      const scoped = adminClient(srv, await adminToken(srv, acc.id));
      const own = await scoped('GET', `/accounts/${acc.id}`);
      assert.equal(own.status, 200);
      const foreign = await scoped('GET', `/accounts/${other.id}`);
      assert.equal(foreign.status, 403);
      assert.match(foreign.body.error, /may not act on that account/);
      const listed = await scoped('GET', '/accounts');
      assert.deepEqual(listed.body.map((a) => a.id), [acc.id]);
      const create = await scoped('POST', '/accounts', { name: 'Nope' });
      assert.equal(create.status, 403);
      const del = await scoped('DELETE', `/accounts/${acc.id}`);
      assert.equal(del.status, 403);
    });

    test('admin token create, list, revoke', async () => {
      const created = await op('POST', '/tokens');
      assert.equal(created.status, 201);
      assert.match(created.body.token, /^idga_/);
      const list = await op('GET', '/tokens');
      const row = list.body.find((t) => t.id === created.body.id);
      assert.ok(row);
      assert.equal(row.token, undefined);
      const revoked = await op('DELETE', `/tokens/${created.body.id}`);
      assert.equal(revoked.status, 200);
      const again = await op('DELETE', `/tokens/${created.body.id}`);
      assert.equal(again.status, 404);
      const use = await adminCall(srv, created.body.token, 'GET', '/accounts');
      assert.equal(use.status, 401);
      // Operator tokens belong to no account's audit log, so the server log records them.
      const lines = srv.logs().split('\n').filter((l) => l.includes(created.body.id));
      assert.ok(lines.some((l) => l.includes('admin token created')), srv.logs());
      assert.ok(lines.some((l) => l.includes('admin token revoked')), srv.logs());
      assert.ok(!srv.logs().includes(created.body.token), 'the token must not be logged');

      const scoped = await op('POST', '/tokens', { account: acc.id });
      assert.equal(scoped.status, 201);
      assert.equal(scoped.body.account, acc.id);
      const denied = await adminCall(srv, scoped.body.token, 'GET', `/accounts/${other.id}`);
      assert.equal(denied.status, 403);
      const unknown = await op('POST', '/tokens', { account: '00000000-0000-4000-8000-000000000000' });
      assert.equal(unknown.status, 404);
    });

    test('scoped token changes are audited', async () => {
      const scoped = adminClient(srv, await adminToken(srv, other.id));
      const minted = await scoped('POST', '/tokens');
      assert.equal(minted.status, 201);
      assert.equal(minted.body.account, other.id);
      assert.equal((await scoped('DELETE', `/tokens/${minted.body.id}`)).status, 200);

      const res = await op('GET', `/accounts/${other.id}/audit?kind=token.&order=asc`);
      assert.equal(res.status, 200);
      const events = res.body.events.filter((e) => e.details.token_id === minted.body.id);
      assert.deepEqual(events.map((e) => e.kind), ['token.created', 'token.revoked']);
      assert.equal(events[0].details.prefix, minted.body.prefix);
      assert.match(events[0].actor, /^admin:/);
      assert.ok(!JSON.stringify(res.body).includes(minted.body.token), 'the token must not be logged');
    });

    test('account token count is capped', async () => {
      const scoped = adminClient(srv, await adminToken(srv, other.id));
      const made = [];
      let res;
      for (let i = 0; i < 12; i++) {
        res = await scoped('POST', '/tokens');
        if (res.status !== 201) break;
        made.push(res.body.id);
      }
      assert.equal(res.status, 409);
      assert.match(res.body.error, /already has 10 admin tokens; revoke one first/);
      assert.equal((await op('POST', '/tokens', { account: other.id })).status, 409);
      assert.equal((await op('POST', '/tokens')).status, 201, 'operator tokens are not capped');
      for (const id of made) assert.equal((await op('DELETE', `/tokens/${id}`)).status, 200);
      assert.equal((await scoped('POST', '/tokens')).status, 201);
    });

    test('unknown body members are 400', async () => {
      const cases = [
        ['POST', '/accounts', { name: 'Typo', domian: 'typo.example' }, 'domian', /expected name, domain/],
        ['PATCH', `/accounts/${acc.id}`, { name: 'Acme', nmae: 'x' }, 'nmae', /expected name\)/],
        ['POST', `/accounts/${acc.id}/domains`, { domain: 'x.example', verify: true }, 'verify', /expected domain\)/],
        ['POST', `/accounts/${acc.id}/groups`, { displayName: 'Engineering', teir: 'pro' }, 'teir', /expected displayName, tier/],
        ['POST', '/tokens', { acount: acc.id }, 'acount', /expected account\)/],
        ['PUT', `/accounts/${acc.id}/idp`, { issuer: 'https://idp.example', client_id: 'a', secret: 'b' },
          'secret', /expected issuer, client_id, client_secret, take_over_issuer, redirect_uri_mode\)/],
      ];
      for (const [method, path, body, member, expected] of cases) {
        const res = await op(method, path, body);
        assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error, new RegExp(`unknown member "${member}"`));
        assert.match(res.body.error, expected);
      }
      const accounts = await op('GET', '/accounts');
      assert.ok(!accounts.body.some((a) => a.name === 'Typo'));
    });

    test('malformed JSON body is 400', async () => {
      const res = await srv.fetch(`/admin/v1/accounts/${acc.id}/domains`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${opToken}`, 'Content-Type': 'application/json' },
        body: '{"domain":',
      });
      assert.equal(res.status, 400);
      assert.match((await res.json()).error, /invalid JSON body/);
    });

    test('JSON replies forbid sniffing', async () => {
      for (const path of ['/accounts', '/accounts/%3Cscript%3E']) {
        const res = await op('GET', path);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
        assert.equal(res.headers.get('cache-control'), 'no-store', path);
      }
      const anonymous = await adminCall(srv, null, 'GET', '/accounts');
      assert.equal(anonymous.headers.get('x-content-type-options'), 'nosniff');
    });

    test('unknown admin path is JSON 404', async () => {
      const res = await op('GET', '/nothing-here');
      assert.equal(res.status, 404);
      assert.equal(typeof res.body.error, 'string');
    });
  });

  describe('accounts', () => {
    test('create requires a valid name', async () => {
      assert.equal((await op('POST', '/accounts', {})).status, 400);
      assert.equal((await op('POST', '/accounts', { name: '' })).status, 400);
      assert.equal((await op('POST', '/accounts', { name: 'x'.repeat(300) })).status, 400);
    });

    test('get shows default settings', async () => {
      const res = await op('GET', `/accounts/${acc.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.name, 'Acme');
      assert.equal(res.body.settings.default_tier, 'basic');
      assert.equal(res.body.settings.refresh_tokens, false);
    });

    test('unknown account is 404', async () => {
      const res = await op('GET', '/accounts/00000000-0000-4000-8000-000000000000');
      assert.equal(res.status, 404);
      assert.match(res.body.error, /account not found/);
    });

    test('rename and its audit event', async () => {
      const res = await op('PATCH', `/accounts/${other.id}`, { name: 'Other Corp' });
      assert.equal(res.status, 200);
      assert.equal(res.body.name, 'Other Corp');
      const bad = await op('PATCH', `/accounts/${other.id}`, { name: 'a\u0001b' });
      assert.equal(bad.status, 400);
      const missing = await op('PATCH', `/accounts/${other.id}`, {});
      assert.equal(missing.status, 400);
      const audit = await op('GET', `/accounts/${other.id}/audit?kind=account.renamed`);
      assert.equal(audit.body.events.length, 1);
      assert.equal(audit.body.events[0].details.to, 'Other Corp');
    });

    test('settings validate each value', async () => {
      const path = `/accounts/${other.id}/settings`;
      const ok = await op('PATCH', path, {
        refresh_tokens: true, idle_timeout: 3600, provider_logout: true, direct_id_token: false,
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.settings.refresh_tokens, true);
      assert.equal(ok.body.settings.idle_timeout, 3600);
      const cases = [
        [{ default_tier: 'gold' }, /invalid default_tier/],
        [{ refresh_tokens: 'yes' }, /invalid refresh_tokens/],
        [{ absolute_lifetime: 5 }, /invalid absolute_lifetime/],
        [{ colour: 'blue' }, /unknown setting: colour/],
        [{}, /no settings given/],
      ];
      for (const [body, message] of cases) {
        const res = await op('PATCH', path, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(res.body.error, message);
      }
      const read = await op('GET', `${path}`);
      assert.equal(read.body.settings.provider_logout, true);
    });

    test('list and get show all seven settings alike', async () => {
      const single = await op('GET', `/accounts/${other.id}`);
      const list = await op('GET', '/accounts');
      assert.equal(list.status, 200);
      const listed = list.body.find((a) => a.id === other.id);
      assert.deepEqual(Object.keys(single.body.settings).sort(), [
        'absolute_lifetime', 'default_tier', 'direct_id_token', 'form_post', 'idle_timeout',
        'provider_logout', 'refresh_tokens',
      ]);
      assert.deepEqual(listed.settings, single.body.settings);
      assert.equal(listed.settings.refresh_tokens, true);
      assert.equal(listed.settings.default_tier, 'basic');
      const fresh = list.body.find((a) => a.id === acc.id);
      assert.equal(Object.keys(fresh.settings).length, 7);
    });
  });

  describe('domains', () => {
    test('add returns the TXT record to publish', async () => {
      const res = await op('POST', `/accounts/${acc.id}/domains`, { domain: 'Acme.Example.' });
      assert.equal(res.status, 201);
      assert.equal(res.body.domain, 'acme.example');
      assert.equal(res.body.verified, false);
      assert.equal(res.body.record.type, 'TXT');
      assert.equal(res.body.record.name, '_idgate-challenge.acme.example');
      assert.match(res.body.record.value, /^idgate-verification=[A-Za-z0-9_-]{20,}$/);
    });

    test('add rejects invalid domains', async () => {
      const path = `/accounts/${acc.id}/domains`;
      for (const domain of ['localhost', 'bad domain.com', '-x.com', 'a..b', '']) {
        const res = await op('POST', path, { domain });
        assert.equal(res.status, 400, domain);
      }
      assert.equal((await op('POST', path, {})).status, 400);
      const again = await op('POST', path, { domain: 'acme.example' });
      assert.equal(again.status, 409);
      assert.match(again.body.error, /already claimed by this account/);
    });

    test('pending claims of two accounts coexist', async () => {
      const mine = await op('GET', `/accounts/${acc.id}/domains/acme.example`);
      const theirs = await op('POST', `/accounts/${other.id}/domains`, { domain: 'ACME.example' });
      assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
      assert.equal(theirs.body.verified, false);
      assert.notEqual(theirs.body.record.value, mine.body.record.value);
      const again = await op('GET', `/accounts/${acc.id}/domains/acme.example`);
      assert.equal(again.body.record.value, mine.body.record.value);
      const removed = await op('DELETE', `/accounts/${other.id}/domains/acme.example`);
      assert.equal(removed.status, 200);
      const still = await op('GET', `/accounts/${acc.id}/domains/acme.example`);
      assert.equal(still.status, 200);
    });

    test('claim from account create coexists', async () => {
      const out = await srv.cliJson(['account', 'create', '--name', 'Founder', '--domain', 'founded.example']);
      const own = await op('GET', `/accounts/${out.id}/domains/founded.example`);
      assert.equal(own.status, 200);
      assert.equal(own.body.verified, false);
      const theirs = await op('POST', `/accounts/${other.id}/domains`, { domain: 'founded.example' });
      assert.equal(theirs.status, 201, JSON.stringify(theirs.body));
      assert.equal((await op('DELETE', `/accounts/${other.id}/domains/founded.example`)).status, 200);
      const kept = await op('GET', `/accounts/${out.id}/domains/founded.example`);
      assert.equal(kept.body.record.value, own.body.record.value);
    });

    test('list, get and remove', async () => {
      await op('POST', `/accounts/${acc.id}/domains`, { domain: 'gone.example' });
      const list = await op('GET', `/accounts/${acc.id}/domains`);
      assert.deepEqual(list.body.map((d) => d.domain).sort(), ['acme.example', 'gone.example']);
      const get = await op('GET', `/accounts/${acc.id}/domains/gone.example`);
      assert.equal(get.status, 200);
      const foreign = await op('GET', `/accounts/${other.id}/domains/gone.example`);
      assert.equal(foreign.status, 404);
      assert.equal((await op('DELETE', `/accounts/${acc.id}/domains/gone.example`)).status, 200);
      assert.equal((await op('DELETE', `/accounts/${acc.id}/domains/gone.example`)).status, 404);
      const audit = await op('GET', `/accounts/${acc.id}/audit?kind=domain.&order=asc`);
      assert.deepEqual(audit.body.events.map((e) => e.kind),
        ['domain.added', 'domain.added', 'domain.removed']);
    });

    test('verify fails cleanly without DNS', async () => {
      const res = await op('POST', `/accounts/${acc.id}/domains/acme.example/verify`);
      assert.ok([502, 504].includes(res.status), `status ${res.status}`);
      assert.match(res.body.error, /DNS lookup of _idgate-challenge\.acme\.example at \S+ failed: /);
      assert.match(res.body.error, /; check \[admin\] dns_resolver/);
      const unknown = await op('POST', `/accounts/${acc.id}/domains/nope.example/verify`);
      assert.equal(unknown.status, 404);
    });
  });

  describe('SCIM access keys', () => {
    test('at most two active, third is 409', async () => {
      const path = `/accounts/${other.id}/scim-keys`;
      const k1 = await op('POST', path);
      assert.equal(k1.status, 201);
      assert.match(k1.body.token, /^scim_/);
      assert.equal(k1.body.token.slice(5, 13), k1.body.prefix);
      const k2 = await op('POST', path);
      assert.equal(k2.status, 201);
      const k3 = await op('POST', path);
      assert.equal(k3.status, 409);
      assert.match(k3.body.error, /revoke one first/);

      const list = await op('GET', path);
      assert.equal(list.body.length, 2);
      for (const k of list.body) {
        assert.equal(k.token, undefined);
        assert.ok(k.prefix);
        assert.ok(k.created);
        assert.ok('last_used' in k);
      }

      // A key works over SCIM until it is revoked.
      const before = await scimCall(srv, k1.body.token, 'GET', '/Users?startIndex=1&count=2');
      assert.equal(before.status, 200);
      const revoked = await op('DELETE', `${path}/${k1.body.id}`);
      assert.equal(revoked.status, 200);
      assert.equal(revoked.body.revoked, true);
      const afterRevoke = await scimCall(srv, k1.body.token, 'GET', '/Users?startIndex=1&count=2');
      assert.equal(afterRevoke.status, 401);
      assert.equal((await op('DELETE', `${path}/${k1.body.id}`)).status, 409);
      assert.equal((await op('DELETE', `${path}/00000000-0000-4000-8000-000000000000`)).status, 404);
      assert.equal((await op('POST', path)).status, 201);
    });
  });

  describe('directory groups and licences', () => {
    let key;
    let alice;
    let bob;
    let carol;
    let eng;
    let staff;

    before(async () => {
      key = (await op('POST', `/accounts/${acc.id}/scim-keys`)).body.token;
      alice = await scimUser(srv, key, 'alice@acme.example');
      bob = await scimUser(srv, key, 'bob@acme.example');
      carol = await scimUser(srv, key, 'carol@acme.example');
      eng = await scimGroup(srv, key, 'Engineering', [alice.id, bob.id]);
      staff = await scimGroup(srv, key, 'Staff', [bob.id, carol.id]);
    });

    test('unknown group name is 404 with advice', async () => {
      const res = await op('POST', `/accounts/${acc.id}/groups`, { displayName: 'Sales', tier: 'pro' });
      assert.equal(res.status, 404);
      assert.equal(res.body.error, NOT_SYNCED);
      const wrongCase = await op('POST', `/accounts/${acc.id}/groups`, { displayName: 'engineering', tier: 'pro' });
      assert.equal(wrongCase.status, 404);
      assert.equal(wrongCase.body.error, NOT_SYNCED);
    });

    test('invalid tier and missing name are 400', async () => {
      const path = `/accounts/${acc.id}/groups`;
      assert.equal((await op('POST', path, { displayName: 'Engineering', tier: 'gold' })).status, 400);
      assert.equal((await op('POST', path, { displayName: 'Engineering', tier: 'none' })).status, 400);
      assert.equal((await op('POST', path, { displayName: 'Engineering' })).status, 400);
      assert.equal((await op('POST', path, { tier: 'pro' })).status, 400);
    });

    test('everyone starts on the default tier', async () => {
      const counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.deepEqual(counts.body, { basic: 3, pro: 0, none: 0, billable: 3, default_tier: 'basic' });
    });

    test('mapping a group changes its members', async () => {
      const res = await op('POST', `/accounts/${acc.id}/groups`, { displayName: 'Engineering', tier: 'pro' });
      assert.equal(res.status, 201);
      assert.equal(res.body.group_id, eng.id);
      assert.equal(res.body.members, 2);
      assert.equal(res.body.tier, 'pro');
      const dup = await op('POST', `/accounts/${acc.id}/groups`, { displayName: 'Engineering', tier: 'basic' });
      assert.equal(dup.status, 409);
      const counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 2);
      assert.equal(counts.body.basic, 1);
      const pro = await op('GET', `/accounts/${acc.id}/users?tier=pro`);
      assert.deepEqual(pro.body.users.map((u) => u.userName).sort(), ['alice@acme.example', 'bob@acme.example']);
    });

    test('mapping change records each tier change', async () => {
      const res = await op('GET', `/accounts/${acc.id}/audit?kind=license.changed&limit=1000`);
      assert.equal(res.status, 200);
      const toPro = res.body.events.filter((e) => e.details.from === 'basic' && e.details.to === 'pro');
      assert.deepEqual(toPro.map((e) => e.details.user_id).sort(), [alice.id, bob.id].sort());
      for (const e of toPro) assert.match(e.actor, /^admin:/);
    });

    test('pro wins over basic', async () => {
      const res = await op('POST', `/accounts/${acc.id}/groups`, { displayName: 'Staff', tier: 'basic' });
      assert.equal(res.status, 201);
      const users = await op('GET', `/accounts/${acc.id}/users`);
      const tiers = Object.fromEntries(users.body.users.map((u) => [u.userName, u.tier]));
      assert.deepEqual(tiers, {
        'alice@acme.example': 'pro', 'bob@acme.example': 'pro', 'carol@acme.example': 'basic',
      });
    });

    test('membership change over SCIM moves a user', async () => {
      await scimPatch(srv, key, `/Groups/${eng.id}`, [
        { op: 'add', path: 'members', value: [{ value: carol.id }] },
      ]);
      let counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 3);
      await scimPatch(srv, key, `/Groups/${eng.id}`, [
        { op: 'remove', path: `members[value eq "${carol.id}"]` },
      ]);
      counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 2);
      assert.equal(counts.body.basic, 1);
    });

    test('tier change and list with members', async () => {
      const list = await op('GET', `/accounts/${acc.id}/groups`);
      assert.equal(list.status, 200);
      const row = list.body.find((g) => g.group_id === staff.id);
      assert.equal(row.displayName, 'Staff');
      assert.equal(row.members, 2);
      const changed = await op('PATCH', `/accounts/${acc.id}/groups/${staff.id}`, { tier: 'pro' });
      assert.equal(changed.status, 200);
      assert.equal(changed.body.tier, 'pro');
      let counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 3);
      await op('PATCH', `/accounts/${acc.id}/groups/${staff.id}`, { tier: 'basic' });
      counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 2);
      const bad = await op('PATCH', `/accounts/${acc.id}/groups/${staff.id}`, { tier: 'gold' });
      assert.equal(bad.status, 400);
      const unknown = await op('PATCH', `/accounts/${acc.id}/groups/00000000-0000-4000-8000-000000000000`, { tier: 'pro' });
      assert.equal(unknown.status, 404);
    });

    test('rename over SCIM keeps the mapping', async () => {
      await scimPatch(srv, key, `/Groups/${eng.id}`, [
        { op: 'replace', value: { id: eng.id, displayName: 'Engineering Team' } },
      ]);
      const list = await op('GET', `/accounts/${acc.id}/groups`);
      const row = list.body.find((g) => g.group_id === eng.id);
      assert.equal(row.displayName, 'Engineering Team');
      assert.equal(row.tier, 'pro');
      const counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 2);
    });

    test('deactivated users stop counting', async () => {
      await scimPatch(srv, key, `/Users/${alice.id}`, [{ op: 'replace', value: { active: false } }]);
      let counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 1);
      assert.equal(counts.body.billable, 2);
      const users = await op('GET', `/accounts/${acc.id}/users`);
      const a = users.body.users.find((u) => u.id === alice.id);
      assert.equal(a.active, false);
      assert.equal(a.tier, null, 'a deactivated user has no tier');
      const none = await op('GET', `/accounts/${acc.id}/users?tier=none`);
      assert.ok(!none.body.users.some((u) => u.id === alice.id));
      await scimPatch(srv, key, `/Users/${alice.id}`, [{ op: 'replace', value: { active: true } }]);
      counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 2);
    });

    test('default tier change recounts', async () => {
      const path = `/accounts/${acc.id}/settings`;
      // carol is only in Staff (basic); a new user in no group follows the default.
      const dave = await scimUser(srv, key, 'dave@acme.example');
      assert.equal((await op('PATCH', path, { default_tier: 'none' })).status, 200);
      let users = await op('GET', `/accounts/${acc.id}/users?tier=none`);
      assert.deepEqual(users.body.users.map((u) => u.id), [dave.id]);
      assert.equal((await op('PATCH', path, { default_tier: 'pro' })).status, 200);
      users = await op('GET', `/accounts/${acc.id}/users?tier=pro`);
      assert.ok(users.body.users.some((u) => u.id === dave.id));
      assert.equal((await op('PATCH', path, { default_tier: 'basic' })).status, 200);
      const counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.none, 0);
      assert.equal(counts.body.basic, 2);

      const audit = await op('GET', `/accounts/${acc.id}/audit?kind=license.changed&order=asc&limit=1000`);
      const moves = audit.body.events
        .filter((e) => e.details.user_id === dave.id)
        .map((e) => `${e.details.from}->${e.details.to}`);
      assert.deepEqual(moves, ['null->basic', 'basic->none', 'none->pro', 'pro->basic']);
    });

    test('group deleted over SCIM drops mapping', async () => {
      const res = await scimCall(srv, key, 'DELETE', `/Groups/${eng.id}`);
      assert.equal(res.status, 204);
      const list = await op('GET', `/accounts/${acc.id}/groups`);
      assert.equal(list.body.find((g) => g.group_id === eng.id), undefined);
      const counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.pro, 0);
      const audit = await op('GET', `/accounts/${acc.id}/audit?kind=mapping.dropped`);
      assert.equal(audit.body.events.length, 1);
      assert.equal(audit.body.events[0].details.group_id, eng.id);
      assert.equal(audit.body.events[0].details.tier, 'pro');
    });

    test('remove mapping falls back to default', async () => {
      const res = await op('DELETE', `/accounts/${acc.id}/groups/${staff.id}`);
      assert.equal(res.status, 200);
      assert.equal((await op('DELETE', `/accounts/${acc.id}/groups/${staff.id}`)).status, 404);
      const counts = await op('GET', `/accounts/${acc.id}/licenses`);
      assert.equal(counts.body.basic, 4);
    });

    test('users list pages and validates', async () => {
      const first = await op('GET', `/accounts/${acc.id}/users?limit=2`);
      assert.equal(first.body.users.length, 2);
      assert.ok(first.body.next);
      const second = await op('GET', `/accounts/${acc.id}/users?limit=2&after=${first.body.next}`);
      assert.equal(second.body.users.length, 2);
      const ids = new Set([...first.body.users, ...second.body.users].map((u) => u.id));
      assert.equal(ids.size, 4);
      assert.equal((await op('GET', `/accounts/${acc.id}/users?tier=gold`)).status, 400);
      assert.equal((await op('GET', `/accounts/${acc.id}/users?limit=0`)).status, 400);
      assert.equal((await op('GET', `/accounts/${acc.id}/users?limit=abc`)).status, 400);
    });
  });

  describe('audit log', () => {
    test('lists newest first by default', async () => {
      const desc = await op('GET', `/accounts/${acc.id}/audit?limit=1000`);
      const asc = await op('GET', `/accounts/${acc.id}/audit?limit=1000&order=asc`);
      assert.equal(desc.status, 200);
      assert.equal(asc.status, 200);
      assert.ok(desc.body.events.length > 2);
      assert.deepEqual(desc.body.events.map((e) => e.id), asc.body.events.map((e) => e.id).reverse());
      const explicit = await op('GET', `/accounts/${acc.id}/audit?limit=1000&order=desc`);
      assert.deepEqual(explicit.body.events, desc.body.events);
      const bad = await op('GET', `/accounts/${acc.id}/audit?order=newest`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error, 'invalid order: newest (expected asc or desc)');
    });

    test('newest-first pages stay stable', async () => {
      const all = (await op('GET', `/accounts/${acc.id}/audit?limit=1000`)).body.events;
      const first = await op('GET', `/accounts/${acc.id}/audit?limit=2`);
      assert.deepEqual(first.body.events.map((e) => e.id), all.slice(0, 2).map((e) => e.id));
      assert.ok(first.body.next);
      // A change between pages adds a newer event, which must not shift page two.
      assert.equal((await op('POST', `/accounts/${acc.id}/domains`, { domain: 'paging.example' })).status, 201);
      const second = await op('GET', `/accounts/${acc.id}/audit?limit=2&after=${first.body.next}`);
      assert.deepEqual(second.body.events.map((e) => e.id), all.slice(2, 4).map((e) => e.id));
      const newest = await op('GET', `/accounts/${acc.id}/audit?limit=1`);
      assert.equal(newest.body.events[0].kind, 'domain.added');
    });

    test('records provisioning and admin changes', async () => {
      const res = await op('GET', `/accounts/${acc.id}/audit?limit=1000`);
      assert.equal(res.status, 200);
      const kinds = new Set(res.body.events.map((e) => e.kind));
      for (const k of ['user.created', 'group.created', 'membership.added', 'membership.removed',
        'mapping.added', 'mapping.changed', 'mapping.removed', 'mapping.dropped',
        'license.changed', 'user.deactivated', 'user.reactivated', 'group.updated',
        'group.deleted', 'key.created', 'settings.changed', 'domain.added']) {
        assert.ok(kinds.has(k), `missing ${k}`);
      }
      const ev = res.body.events.find((e) => e.kind === 'mapping.added');
      assert.match(ev.actor, /^admin:/);
      assert.match(ev.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const scim = res.body.events.find((e) => e.kind === 'user.created');
      assert.match(scim.actor, /scim/);
    });

    test('filters by kind and time, pages', async () => {
      const path = `/accounts/${acc.id}/audit`;
      const users = await op('GET', `${path}?kind=user.created`);
      assert.equal(users.body.events.length, 4);
      const future = await op('GET', `${path}?since=2999-01-01`);
      assert.equal(future.body.events.length, 0);
      const past = await op('GET', `${path}?until=2000-01-01T00:00:00Z`);
      assert.equal(past.body.events.length, 0);
      const page1 = await op('GET', `${path}?limit=3`);
      assert.equal(page1.body.events.length, 3);
      const page2 = await op('GET', `${path}?limit=3&after=${page1.body.next}`);
      assert.notEqual(page2.body.events[0].id, page1.body.events[2].id);
      // Newest first: the next page contains older events.
      assert.ok(page2.body.events[0].id < page1.body.events[2].id);
      const asc1 = await op('GET', `${path}?limit=3&order=asc`);
      const asc2 = await op('GET', `${path}?limit=3&order=asc&after=${asc1.body.next}`);
      assert.ok(asc2.body.events[0].id > asc1.body.events[2].id);
      assert.equal((await op('GET', `${path}?since=yesterday`)).status, 400);
      assert.equal((await op('GET', `${path}?after=zz`)).status, 400);
      // The error repeats the value, with bytes that are not UTF-8 replaced,
      // so that the reply stays JSON.
      for (const query of ['since=%C3%28', 'until=x%FF', 'order=%E0%80%80', 'after=%FF%FE']) {
        const bad = await op('GET', `${path}?${query}`);
        assert.equal(bad.status, 400, query);
        assert.match(bad.body.error, new RegExp(`^invalid ${query.split('=')[0]}: `), query);
      }
      // A value whose percent-encoding is broken is rejected too.
      for (const query of ['limit=%zz', 'since=%', 'kind=user%00', 'order=%4']) {
        const bad = await op('GET', `${path}?${query}`);
        assert.equal(bad.status, 400, query);
        assert.match(bad.body.error, new RegExp(`^invalid ${query.split('=')[0]}: not valid percent-encoding`), query);
      }
    });
  });

  describe('identity provider', () => {
    test('delete disconnects the provider', async () => {
      const secretFile = path.join(srv.dir, 'client-secret');
      writeFileSync(secretFile, 'a-client-secret-1234\n');
      await srv.cliJson(['idp', 'set', '--account', other.id, '--issuer',
        'https://example.okta.com/oauth2/default', '--client-id', '0oaexample',
        '--client-secret-file', secretFile, '--no-check']);
      assert.equal((await op('GET', `/accounts/${other.id}/idp`)).status, 200);

      const scoped = adminClient(srv, await adminToken(srv, acc.id));
      assert.equal((await scoped('DELETE', `/accounts/${other.id}/idp`)).status, 403);
      const res = await op('DELETE', `/accounts/${other.id}/idp`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await op('GET', `/accounts/${other.id}/idp`)).status, 404);
      const again = await op('DELETE', `/accounts/${other.id}/idp`);
      assert.equal(again.status, 404);
      assert.match(again.body.error, /no identity provider/);

      const audit = await op('GET', `/accounts/${other.id}/audit?kind=idp.deleted`);
      assert.equal(audit.body.events.length, 1);
      assert.equal(audit.body.events[0].details.issuer, 'https://example.okta.com/oauth2/default');
      assert.match(audit.body.events[0].actor, /^admin:/);
      assert.ok(!JSON.stringify(audit.body).includes('a-client-secret'), 'the secret must not be audited');
    });

  describe('account deletion', () => {
    test('delete removes all its data', async () => {
      const doomed = (await op('POST', '/accounts', { name: 'Doomed' })).body;
      const k = (await op('POST', `/accounts/${doomed.id}/scim-keys`)).body.token;
      const u = await scimUser(srv, k, 'zed@doomed.example');
      await scimGroup(srv, k, 'Doomed Group', [u.id]);
      await op('POST', `/accounts/${doomed.id}/groups`, { displayName: 'Doomed Group', tier: 'pro' });
      await op('POST', `/accounts/${doomed.id}/domains`, { domain: 'doomed.example' });
      const scoped = await adminToken(srv, doomed.id);

      const res = await op('DELETE', `/accounts/${doomed.id}`);
      assert.equal(res.status, 200);
      assert.equal((await op('GET', `/accounts/${doomed.id}`)).status, 404);
      assert.equal((await op('DELETE', `/accounts/${doomed.id}`)).status, 404);
      const scim = await scimCall(srv, k, 'GET', '/Users');
      assert.equal(scim.status, 401);
      assert.equal((await adminCall(srv, scoped, 'GET', '/accounts')).status, 401);
      // The domain is free again for another account.
      const claim = await op('POST', `/accounts/${other.id}/domains`, { domain: 'doomed.example' });
      assert.equal(claim.status, 201);
    });
  });
});

// Run against a build with -fsanitize=address, where a leak at shutdown
// turns the exit code into 1.
describe('admin shutdown', () => {
  test('stop after start exits 0', async () => {
    const srv = await startIdgate({ config: { admin: { dns_resolver: '127.0.0.1:9' } } });
    const code = await srv.stop();
    assert.equal(code, 0, srv.logs());
    assert.doesNotMatch(srv.logs(), /LeakSanitizer|AddressSanitizer/);
    await srv.cleanup();
  });
  });
});
