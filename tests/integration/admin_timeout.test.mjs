// An admin write whose commit is slow must reply with its result, not with
// a 503 timeout for a change that then succeeds. mdb_load (lmdb-utils)
// holds the store's LMDB write lock from another process, the way a
// command-line tool may, so the server's commit waits past request_timeout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import { adminClient, adminToken } from './admin_helpers.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts mdb_load on a table of its own and leaves it inside its write
// transaction until release() ends its input.
function holdWriteLock(storePath) {
  const child = spawn('mdb_load', ['-s', 'test_lock_holder', storePath], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve, reject) => {
    child.on('error', (err) => reject(new Error(`mdb_load (lmdb-utils) could not run: ${err.message}`)));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  child.stdin.write('VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n');
  return {
    exited,
    release() {
      child.stdin.end('DATA=END\n');
      return exited;
    },
  };
}

describe('admin writes past request_timeout', () => {
  let srv;
  let op;
  let acc;

  before(async () => {
    srv = await startIdgate({ config: { server: { request_timeout: '1s' } } });
    op = adminClient(srv, await adminToken(srv));
    acc = (await op('POST', '/accounts', { name: 'Slow' })).body;
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('slow commit replies with its result', async () => {
    const lock = holdWriteLock(path.join(srv.dir, 'data'));
    await sleep(300);
    const started = Date.now();
    const pending = op('POST', `/accounts/${acc.id}/domains`, { domain: 'slow.example' });
    await sleep(1800);
    const holder = await lock.release();
    assert.equal(holder.code, 0, holder.stderr);

    const res = await pending;
    assert.ok(Date.now() - started >= 1500, 'the write lock was not held');
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.domain, 'slow.example');
    const listed = await op('GET', `/accounts/${acc.id}/domains`);
    assert.deepEqual(listed.body.map((d) => d.domain), ['slow.example']);
  });
});
