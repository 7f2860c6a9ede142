// `idgate domain verify` when the DNS lookup itself fails: the message
// names the queried name, the resolver, the cause and the setting to check.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

// Binds a UDP socket on 127.0.0.1 that never replies, and returns it.
async function silentUdp() {
  const sock = dgram.createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return sock;
}

describe('domain verify lookup failures', () => {
  let closedPort;
  let silent;
  before(async () => {
    const probe = await silentUdp();
    closedPort = probe.address().port;
    await new Promise((resolve) => probe.close(resolve));
    silent = await silentUdp();
  });
  after(() => new Promise((resolve) => silent.close(resolve)));

  async function verifyWith(resolver) {
    const srv = await startIdgate({
      config: { admin: { dns_resolver: resolver, dns_timeout: '1s' } },
    });
    try {
      const acc = await srv.createAccount('Dns');
      const add = await srv.cli(['domain', 'add', '--account', acc.id, '--domain', 'acme.example']);
      assert.equal(add.code, 0, add.stderr);
      return await srv.cli(['domain', 'verify', '--account', acc.id, '--domain', 'acme.example']);
    } finally {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
  }

  test('closed port says connection refused', async () => {
    const resolver = `127.0.0.1:${closedPort}`;
    const out = await verifyWith(resolver);
    assert.equal(out.code, 1);
    assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    assert.ok(out.stderr.includes(
      `DNS lookup of _idgate-challenge.acme.example at ${resolver} failed: connection refused`),
    out.stderr);
    assert.ok(out.stderr.includes('check [admin] dns_resolver'), out.stderr);
  });

  test('silent server says no reply', async () => {
    const resolver = `127.0.0.1:${silent.address().port}`;
    const out = await verifyWith(resolver);
    assert.equal(out.code, 1);
    assert.ok(out.stderr.includes(`at ${resolver} failed: no reply within 1 s`), out.stderr);
    assert.ok(out.stderr.includes('[admin] dns_timeout'), out.stderr);
  });
});
