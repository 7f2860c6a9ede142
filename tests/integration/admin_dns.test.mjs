// Domain verification against a real DNS server: dnsmasq on 127.0.0.1
// serving the TXT records, through the API and the command line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { freePort, startIdgate } from './lib/idgate.mjs';
import { adminClient, adminToken } from './admin_helpers.mjs';

const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'].find((p) => existsSync(p));

// Starts dnsmasq on `port` with `records` ([name, value] pairs) and resolves
// once it has started. Values go unquoted: dnsmasq strips quotes only in its
// configuration file, and on the command line would serve them literally.
// A value must not contain a comma, which separates character strings.
async function startDnsmasq(port, records) {
  const args = [
    '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--pid-file=', '--log-facility=-',
    ...records.map(([name, value]) => `--txt-record=${name},${value}`),
  ];
  const child = spawn(DNSMASQ, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 5000;
  while (!/started/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`dnsmasq did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return; }
      child.on('close', resolve);
      child.kill('SIGTERM');
    }),
  };
}

describe('domain verification over DNS', { skip: !DNSMASQ && 'dnsmasq is not installed' }, () => {
  let srv;
  let dns;
  let op;
  let acc;
  let other;
  let third;
  const records = {};
  let contested;   // the TXT record `other` publishes for contested.test

  before(async () => {
    const dnsPort = await freePort();
    srv = await startIdgate({
      config: { admin: { dns_resolver: `127.0.0.1:${dnsPort}`, dns_timeout: '3s' } },
    });
    op = adminClient(srv, await adminToken(srv));
    acc = (await op('POST', '/accounts', { name: 'Acme' })).body;
    other = (await op('POST', '/accounts', { name: 'Other' })).body;
    for (const domain of ['match.test', 'mismatch.test', 'missing.test', 'cli.test', 'cli-bad.test',
      'large.test']) {
      const res = await op('POST', `/accounts/${acc.id}/domains`, { domain });
      assert.equal(res.status, 201);
      records[domain] = res.body.record;
    }
    // Two accounts claim contested.test, and only `other` publishes its token.
    third = (await op('POST', '/accounts', { name: 'Third' })).body;
    assert.equal((await op('POST', `/accounts/${acc.id}/domains`, { domain: 'contested.test' })).status, 201);
    contested = (await op('POST', `/accounts/${other.id}/domains`, { domain: 'contested.test' })).body.record;
    assert.equal((await op('POST', `/accounts/${third.id}/domains`, { domain: 'contested.test' })).status, 201);
    dns = await startDnsmasq(dnsPort, [
      [records['match.test'].name, records['match.test'].value],
      // A second, unrelated TXT record at the same name must not confuse the check.
      [records['match.test'].name, 'v=spf1 -all'],
      [records['mismatch.test'].name, 'idgate-verification=not-the-token'],
      [records['cli.test'].name, records['cli.test'].value],
      [records['cli-bad.test'].name, 'idgate-verification=wrong'],
      [contested.name, contested.value],
      // Eight more records of 200 characters overflow a 512-byte UDP reply, so
      // the server truncates it and only a retry over TCP sees the token.
      // dnsmasq 2.90 answers in the reverse of this order, token last.
      [records['large.test'].name, records['large.test'].value],
      ...Array.from({ length: 8 }, (_, i) => [records['large.test'].name, `filler-${i}-${'x'.repeat(190)}`]),
    ]);
  });
  after(async () => {
    if (dns) await dns.stop();
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('matching record verifies the domain', async () => {
    const res = await op('POST', `/accounts/${acc.id}/domains/match.test/verify`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.verified, true);
    assert.ok(res.body.verified_at);
    const again = await op('POST', `/accounts/${acc.id}/domains/MATCH.test/verify`);
    assert.equal(again.status, 200);
    assert.equal(again.body.verified, true);
    const audit = await op('GET', `/accounts/${acc.id}/audit?kind=domain.verified`);
    assert.equal(audit.body.events.length, 1);
    assert.equal(audit.body.events[0].details.domain, 'match.test');
  });

  test('truncated reply is retried over TCP', async () => {
    const res = await op('POST', `/accounts/${acc.id}/domains/large.test/verify`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.verified, true);
  });

  test('wrong value does not verify', async () => {
    const res = await op('POST', `/accounts/${acc.id}/domains/mismatch.test/verify`);
    assert.equal(res.status, 400);
    assert.match(res.body.error, /verification failed: no TXT record at _idgate-challenge\.mismatch\.test/);
    const get = await op('GET', `/accounts/${acc.id}/domains/mismatch.test`);
    assert.equal(get.body.verified, false);
  });

  test('missing record does not verify', async () => {
    const res = await op('POST', `/accounts/${acc.id}/domains/missing.test/verify`);
    assert.ok([400, 502].includes(res.status), `status ${res.status}`);
    assert.match(res.body.error, /_idgate-challenge\.missing\.test/);
    const get = await op('GET', `/accounts/${acc.id}/domains/missing.test`);
    assert.equal(get.body.verified, false);
  });

  test('verified domain cannot be claimed elsewhere', async () => {
    const res = await op('POST', `/accounts/${other.id}/domains`, { domain: 'match.test' });
    assert.equal(res.status, 409);
  });

  test('contested domain verifies for the publisher only', async () => {
    const before = await op('POST', `/accounts/${acc.id}/domains/contested.test/verify`);
    assert.equal(before.status, 400);
    assert.match(before.body.error, /verification failed/);

    const res = await op('POST', `/accounts/${other.id}/domains/contested.test/verify`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.verified, true);

    const after = await op('POST', `/accounts/${acc.id}/domains/contested.test/verify`);
    assert.equal(after.status, 409);
    assert.equal(after.body.error, 'domain contested.test is verified by another account');
    const pending = await op('GET', `/accounts/${acc.id}/domains/contested.test`);
    assert.equal(pending.status, 200);
    assert.equal(pending.body.verified, false);
    const cli = await srv.cli(['domain', 'verify', '--account', acc.id, '--domain', 'contested.test']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /verified by another account/);

    const blocked = await op('POST', '/accounts', { name: 'Late' });
    const claim = await op('POST', `/accounts/${blocked.body.id}/domains`, { domain: 'contested.test' });
    assert.equal(claim.status, 409);
    assert.match(claim.body.error, /verified by another account/);

    const create = await srv.cli(['account', 'create', '--name', 'Late CLI', '--domain', 'contested.test']);
    assert.equal(create.code, 1);
    assert.match(create.stderr, /verified by another account/);
  });

  test('deleting a pending claimer keeps the owner', async () => {
    assert.equal((await op('DELETE', `/accounts/${third.id}`)).status, 200);
    const owner = await op('GET', `/accounts/${other.id}/domains/contested.test`);
    assert.equal(owner.body.verified, true);
    const fourth = (await op('POST', '/accounts', { name: 'Fourth' })).body;
    const claim = await op('POST', `/accounts/${fourth.id}/domains`, { domain: 'contested.test' });
    assert.equal(claim.status, 409);
  });

  test('command line verifies too', async () => {
    const ok = await srv.cli(['domain', 'verify', '--account', acc.id, '--domain', 'cli.test']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json.verified, true);
    const bad = await srv.cli(['domain', 'verify', '--account', acc.id, '--domain', 'cli-bad.test']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /verification failed/);
    const list = await srv.cli(['domain', 'list', '--account', acc.id]);
    const verified = list.json.filter((d) => d.verified).map((d) => d.domain).sort();
    assert.deepEqual(verified, ['cli.test', 'large.test', 'match.test']);
  });
});
