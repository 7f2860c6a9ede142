// A store written by a build that folded only ASCII letters in its name
// index keys is brought to the Unicode fold when the server starts. The
// test writes such an entry with mdb_load while the server is stopped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

let srv;
let scim;
let account;

before(async () => {
  srv = await startIdgate();
  account = await srv.createAccount('Acme');
  const key = await srv.createScimKey(account.id);
  scim = async (method, path, body) => {
    const res = await fetch(srv.url(`/scim/v2${path}`), {
      method,
      headers: { Authorization: `Bearer ${key.token}`, 'Content-Type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };
});

after(async () => {
  await srv?.cleanup();
});

// Lists the keys of `table` in the stopped server's store, as mdb_dump
// prints them (printable, one per record).
function keys(table) {
  const dump = execFileSync('mdb_dump', ['-p', '-s', table, srv.config.store.path], { encoding: 'utf8' });
  const lines = dump.split('\n');
  const body = lines.slice(lines.indexOf('HEADER=END') + 1).filter((l) => l.startsWith(' '));
  return body.filter((_, i) => i % 2 === 0).map((l) => l.slice(1));
}

test('start-up refolds name keys and reports clashes', async () => {
  const a = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'ärzte@example.com' });
  assert.equal(a.status, 201);
  const b = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'b@example.com' });
  assert.equal(b.status, 201);
  await srv.stop();
  assert.ok(keys('user_names').includes(`${account.id}\\c3\\a4rzte@example.com`));

  // An earlier build gave "Ärzte@example.com" the key "\xc3\x84rzte@...",
  // and had no marker. The entry points at user b, which clashes with a.
  const dataDir = srv.config.store.path;
  const names = join(srv.dir, 'names.txt');
  writeFileSync(names, `${account.id}Ärzte@example.com\n${b.json.id}\n`);
  execFileSync('mdb_load', ['-T', '-s', 'user_names', '-f', names, dataDir]);
  const meta = join(srv.dir, 'meta.txt');
  writeFileSync(meta, 'scim:index_fold\nascii\n');
  execFileSync('mdb_load', ['-T', '-s', 'meta', '-f', meta, dataDir]);
  assert.ok(keys('user_names').includes(`${account.id}\\c3\\84rzte@example.com`));

  await srv.restart();
  const logs = srv.logs();
  assert.match(logs, /msg="scim indexes refolded to Unicode case" moved=0 clashes=1 too_long=0/);
  assert.match(logs, new RegExp(`level=warn msg="two resources' names are the same once folded: rename one of them" `
    + `account=${account.id} attr=userName found_by_name=${a.json.id} not_found_by_name=${b.json.id}`));
  const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ÄRZTE@example.com"')}`);
  assert.equal(found.json.totalResults, 1);
  assert.equal(found.json.Resources[0].id, a.json.id);

  // The marker is written, so the next start changes nothing.
  await srv.restart();
  assert.equal(srv.logs().split('scim indexes refolded').length, 2);
  await srv.stop();
  assert.ok(!keys('user_names').includes(`${account.id}\\c3\\84rzte@example.com`));
});
