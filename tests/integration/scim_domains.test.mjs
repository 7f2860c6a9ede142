// Claimed domains in SCIM provisioning. The account verifies a domain
// through the admin API against dnsmasq on 127.0.0.1, which serves the TXT
// record. From then on, a userName with '@' and the main email of every user
// created or changed must lie in a verified domain.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { freePort, startIdgate } from './lib/idgate.mjs';
import { adminClient, adminToken } from './admin_helpers.mjs';

const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => existsSync(p));
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

// Runs dnsmasq on 127.0.0.1:`port` serving the given TXT records, and
// resolves once it logs that it has started.
async function serveTxt(port, records) {
  const child = spawn(DNSMASQ, [
    '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--pid-file=', '--log-facility=-',
    ...records.map(({ name, value }) => `--txt-record=${name},${value}`),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d) => { output += d; });
  const deadline = Date.now() + 5000;
  while (!/started/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dnsmasq failed to start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return () => new Promise((resolve) => {
    if (child.exitCode !== null) { resolve(); return; }
    child.on('close', resolve);
    child.kill('SIGTERM');
  });
}

function scimClient(srv, token) {
  return async (method, path, body) => {
    const res = await srv.fetch(`/scim/v2${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

const user = (userName, emails) => ({
  schemas: [USER_URN], userName, active: true, ...(emails ? { emails } : {}),
});
const patch = (...Operations) => ({ schemas: [PATCH_URN], Operations });

function assertOutside(res, domain) {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.scimType, 'invalidValue');
  assert.ok(res.body.detail.includes(domain), res.body.detail);
}

describe('SCIM claimed domains', { skip: !DNSMASQ && 'dnsmasq is not installed' }, () => {
  let srv;
  let stopDns;
  let scim;
  let open;
  let legacy;

  before(async () => {
    const dnsPort = await freePort();
    srv = await startIdgate({
      config: { admin: { dns_resolver: `127.0.0.1:${dnsPort}`, dns_timeout: '3s' } },
    });
    const op = adminClient(srv, await adminToken(srv));
    const acc = (await op('POST', '/accounts', { name: 'Acme' })).body;
    const claimed = await op('POST', `/accounts/${acc.id}/domains`, { domain: 'acme.test' });
    assert.equal(claimed.status, 201, JSON.stringify(claimed.body));
    const pending = await op('POST', `/accounts/${acc.id}/domains`, { domain: 'pending.test' });
    assert.equal(pending.status, 201, JSON.stringify(pending.body));
    stopDns = await serveTxt(dnsPort, [claimed.body.record]);
    scim = scimClient(srv, (await srv.createScimKey(acc.id)).token);

    // Stored before the domain is verified, so outside the claim later.
    const made = await scim('POST', '/Users', user('old@legacy.test', [{ value: 'old@legacy.test', primary: true }]));
    assert.equal(made.status, 201);
    legacy = made.body;

    const verified = await op('POST', `/accounts/${acc.id}/domains/acme.test/verify`);
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.verified, true);

    const other = await op('POST', '/accounts', { name: 'Open' });
    open = scimClient(srv, (await srv.createScimKey(other.body.id)).token);
  });
  after(async () => {
    if (stopDns) await stopDns();
    if (srv) {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
  });

  test('create inside the verified domain', async () => {
    const res = await scim('POST', '/Users', user('Ann@ACME.test', [{ value: 'ann@acme.test', primary: true }]));
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });

  test('create outside is rejected and stores nothing', async () => {
    const cases = [
      [user('bob@other.test'), 'other.test'],
      [user('bob@sub.acme.test'), 'sub.acme.test'],
      [user('bob@acme.test', [{ value: 'bob@other.test', primary: true }]), 'other.test'],
      [user('bob-login', [{ value: 'bob@other.test' }, { value: 'bob@acme.test' }]), 'other.test'],
      [user('bob@pending.test'), 'pending.test'],
    ];
    for (const [body, domain] of cases) {
      assertOutside(await scim('POST', '/Users', body), domain);
    }
    const list = await scim('GET', `/Users?filter=${encodeURIComponent('userName sw "bob"')}`);
    assert.equal(list.body.totalResults, 0);
  });

  test('userName without @ needs no domain', async () => {
    const res = await scim('POST', '/Users', user('plainlogin', [{ value: 'plain@acme.test' }]));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const bare = await scim('POST', '/Users', user('bare-login'));
    assert.equal(bare.status, 201, JSON.stringify(bare.body));
  });

  test('put and patch outside change nothing', async () => {
    const made = await scim('POST', '/Users', user('cat@acme.test', [{ value: 'cat@acme.test', type: 'work', primary: true }]));
    assert.equal(made.status, 201);
    const id = made.body.id;

    assertOutside(await scim('PUT', `/Users/${id}`, user('cat@other.test')), 'other.test');
    assertOutside(await scim('PUT', `/Users/${id}`, user('cat@acme.test', [{ value: 'cat@evil.test', primary: true }])), 'evil.test');
    assertOutside(await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'userName', value: 'cat@other.test' })), 'other.test');
    assertOutside(await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', value: { userName: 'cat@other.test', displayName: 'Cat' } })), 'other.test');
    assertOutside(await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'emails[type eq "work"].value', value: 'cat@other.test' })), 'other.test');

    const now = await scim('GET', `/Users/${id}`);
    assert.equal(now.body.userName, 'cat@acme.test');
    assert.equal(now.body.emails[0].value, 'cat@acme.test');
    assert.equal(now.body.displayName, undefined);
    assert.equal(now.body.meta.version, made.body.meta.version);

    const ok = await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'userName', value: 'cat2@acme.test' }));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test('user stored before verification can be deactivated', async () => {
    const off = await scim('PATCH', `/Users/${legacy.id}`, patch({ op: 'replace', value: { active: false } }));
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.active, false);
    const put = await scim('PUT', `/Users/${legacy.id}`, user('old@legacy.test', [{ value: 'old@legacy.test', primary: true }]));
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assertOutside(await scim('PATCH', `/Users/${legacy.id}`, patch({ op: 'replace', path: 'userName', value: 'new@legacy.test' })), 'legacy.test');
  });

  test('account without verified domain accepts any domain', async () => {
    const res = await open('POST', '/Users', user('anyone@anywhere.test'));
    assert.equal(res.status, 201, JSON.stringify(res.body));
  });
});
