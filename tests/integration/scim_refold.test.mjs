// A store written by a build that folded only ASCII letters in its name
// index keys is brought to the Unicode fold when the server starts. A CLI
// command run before that (as during an upgrade, while the earlier server
// still serves the store) finds names in the earlier fold and rewrites
// nothing. The tests make such stores with mdb_dump and mdb_load while the
// server is stopped.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
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

// Rewrites the stopped server's store through a hex dump of every table:
// `edit(table, lines)` changes the dump lines of one table (" <hex key>",
// " <hex value>" pairs). A hex dump, unlike the printable one, loads back
// byte for byte.
function rewriteStore(edit) {
  const dataDir = srv.config.store.path;
  const dump = execFileSync('mdb_dump', ['-a', dataDir], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const out = [];
  let table = null;
  let rows = [];
  for (const line of dump.split('\n')) {
    if (line.startsWith('database=')) table = line.slice('database='.length);
    if (line.startsWith(' ')) {
      rows.push(line);
      continue;
    }
    if (line === 'DATA=END') {
      out.push(...(table ? edit(table, rows) : rows));
      rows = [];
      table = null;
    }
    out.push(line);
  }
  const file = join(srv.dir, 'store.dump');
  writeFileSync(file, out.join('\n'));
  const fresh = `${dataDir}.new`;
  execFileSync('mkdir', ['-p', fresh]);
  execFileSync('mdb_load', ['-f', file, fresh]);
  renameSync(dataDir, `${dataDir}.old`);
  renameSync(fresh, dataDir);
}

const hex = (text) => Buffer.from(text, 'utf8').toString('hex');

test('CLI finds names in an unrefolded store', async () => {
  await srv.restart();
  const group = await scim('POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Örtlich',
  });
  assert.equal(group.status, 201);
  await srv.stop();

  // An earlier build keyed "Örtlich" as "Örtlich" (the current fold gives
  // "örtlich") and wrote no marker of the fold.
  rewriteStore((table, rows) => {
    const out = [...rows];
    if (table === 'group_names') {
      const at = out.indexOf(` ${hex(`${account.id}örtlich`)}`);
      assert.ok(at >= 0, 'the group name key is in the dump');
      assert.equal(at % 2, 0, 'the match is a key line');
      out[at] = ` ${hex(`${account.id}Örtlich`)}`;
    }
    if (table === 'meta') {
      const at = out.indexOf(` ${hex('scim:index_fold')}`);
      assert.ok(at >= 0, 'the fold marker is in the dump');
      assert.equal(at % 2, 0, 'the match is a key line');
      out[at + 1] = ` ${hex('ascii')}`;
    }
    return out;
  });
  assert.ok(keys('group_names').includes(`${account.id}\\c3\\96rtlich`));

  const listed = await srv.cli(['account', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  for (const name of ['Örtlich', 'örtlich']) {
    const found = await srv.cli(['directory-group', 'add', '--account', account.id, '--name', name,
      '--tier', 'pro']);
    if (name === 'Örtlich') {
      assert.equal(found.code, 0, found.stderr);
      assert.equal(found.json.group_id, group.json.id);
    } else {
      // The stored displayName is compared exactly after the lookup.
      assert.equal(found.code, 1, found.stderr);
      assert.match(found.stderr, /not found/);
    }
  }
  // The CLI rewrote no key and left the marker alone.
  assert.ok(keys('group_names').includes(`${account.id}\\c3\\96rtlich`));
  assert.ok(!keys('group_names').includes(`${account.id}\\c3\\b6rtlich`));
  assert.deepEqual(keys('meta').filter((k) => k === 'scim:index_fold'), ['scim:index_fold']);

  // The server's start refolds it.
  await srv.restart();
  await srv.stop();
  assert.ok(keys('group_names').includes(`${account.id}\\c3\\b6rtlich`));
  assert.ok(!keys('group_names').includes(`${account.id}\\c3\\96rtlich`));
});
