// `idgate serve` start-up problems that an operator fixes in the
// configuration: a busy port and a misspelt environment variable. The log
// names the cause and the setting to change. The start-up log also names
// the allocator that malloc reaches.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { idgateBin, iniText, runProcess, startIdgate } from './lib/idgate.mjs';

describe('serve start-up errors', () => {
  let holder;
  let port;
  let dir;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idgate-serve-'));
    holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = holder.address().port;
  });
  after(async () => {
    await new Promise((resolve) => holder.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('busy port names cause and fix', async () => {
    const config = path.join(dir, 'idgate.ini');
    fs.writeFileSync(config, iniText({
      server: { listen_address: '127.0.0.1', port },
      store: { path: path.join(dir, 'store') },
    }));
    const out = await runProcess(['serve', '--config', config], { timeoutMs: 10000 });
    assert.equal(out.code, 1, out.stderr);
    const line = out.stderr.split('\n').find((l) => l.includes('msg="failed to listen"'));
    assert.ok(line, out.stderr);
    assert.ok(line.includes('address=127.0.0.1'), line);
    assert.ok(line.includes(`port=${port}`), line);
    assert.ok(line.includes('error="Address already in use"'), line);
    assert.ok(line.includes('[server] port'), line);
    assert.ok(line.includes('IDGATE_SERVER_PORT'), line);
  });

  test('start-up log names the allocator', async () => {
    // A build tree's config.h defines HAVE_MIMALLOC unless the build was
    // configured --without-mimalloc. An installed binary has none nearby.
    const configHeader = path.join(path.dirname(path.dirname(idgateBin)), 'config.h');
    const header = fs.existsSync(configHeader) ? fs.readFileSync(configHeader, 'utf8') : undefined;
    const srv = await startIdgate({ env: { IDGATE_OIDC_MASTER_KEY: '11'.repeat(32) } });
    try {
      await srv.waitForLog(/msg=listening/);
      const line = srv.logs().split('\n').find((l) => l.includes('msg=listening'));
      assert.match(line, / malloc=(mimalloc|system)( |$)/);
      if (header !== undefined) {
        const linked = /^#define HAVE_MIMALLOC 1$/m.test(header);
        assert.ok(line.includes(linked ? ' malloc=mimalloc' : ' malloc=system'), line);
      }
    } finally {
      assert.equal(await srv.stop(), 0);
    }
  });

  test('misspelt variable is warned about', async () => {
    const srv = await startIdgate({ env: {
      IDGATE_SERVER_PROT: '5',
      IDGATE_NOTASECTION: 'x',
      IDGATE_OIDC_MASTER_KEY: '11'.repeat(32),
    } });
    try {
      await srv.waitForLog(/unknown environment variable ignored/);
      const line = srv.logs().split('\n').find((l) => l.includes('IDGATE_SERVER_PROT'));
      assert.ok(line, srv.logs());
      assert.match(line, /level=warn/);
      assert.ok(line.includes('IDGATE_SERVER_PORT'), line);
      assert.ok(!srv.logs().includes('IDGATE_NOTASECTION'), 'only known sections are checked');
      assert.ok(!srv.logs().includes('variable=IDGATE_OIDC_MASTER_KEY '), srv.logs());
    } finally {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
  });

  for (const args of [['serve'], ['account', 'list']]) {
    test(`${args[0]} with missing config is one line`, async () => {
      const missing = path.join(dir, 'missing.ini');
      const out = await runProcess([...args, '--config', missing], { timeoutMs: 10000 });
      assert.equal(out.code, 1);
      assert.equal(out.stderr,
        `idgate: cannot open configuration file ${missing}: No such file or directory\n`);
    });
  }
});
