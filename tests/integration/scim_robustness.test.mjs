// SCIM replies to malformed or unusual input: unusable filters and query
// parameters, `ne` on absent attributes, bytes that are not UTF-8 in
// messages, filtered member removes, and numbers given for strings.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

function scimClient(srv, token) {
  return async (method, path, body) => {
    const res = await srv.fetch(`/scim/v2${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
      body: body === undefined || typeof body === 'string' || body instanceof Uint8Array
        ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text };
  };
}

function assertScimError(res, status, scimType) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type'), /^application\/scim\+json/);
  assert.ok(res.json, `not JSON: ${res.text}`);
  assert.deepEqual(res.json.schemas, [ERROR_URN]);
  assert.equal(res.json.status, String(status));
  if (scimType) assert.equal(res.json.scimType, scimType, res.text);
}

const patch = (...Operations) => ({ schemas: [PATCH_URN], Operations });

// Sends `head` in two writes, cut after `cut` bytes, 15 ms apart, and
// resolves with the whole reply. The head carries Connection: close.
function sendCut(port, head, cut) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('error', reject);
    sock.on('close', () => resolve(data));
    sock.write(head.slice(0, cut));
    setTimeout(() => sock.write(head.slice(cut)), 15);
  });
}

describe('SCIM robustness', () => {
  let srv;
  let scim;
  let ann;
  let bob;

  before(async () => {
    srv = await startIdgate();
    const acc = await srv.createAccount('Acme');
    scim = scimClient(srv, (await srv.createScimKey(acc.id)).token);
    ann = (await scim('POST', '/Users', { schemas: [USER_URN], userName: 'ann', nickName: 'x' })).json;
    bob = (await scim('POST', '/Users', { schemas: [USER_URN], userName: 'bob' })).json;
    assert.ok(ann.id, 'ann was not created');
    assert.ok(bob.id, 'bob was not created');
  });
  after(async () => {
    if (srv) {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
  });

  test('empty or non-string filter is rejected', async () => {
    assertScimError(await scim('GET', '/Users?filter='), 400, 'invalidFilter');
    assertScimError(await scim('POST', '/Users/.search', { schemas: [SEARCH_URN], filter: 5 }), 400, 'invalidFilter');
    assertScimError(await scim('POST', '/Users/.search', { schemas: [SEARCH_URN], filter: '' }), 400, 'invalidFilter');
    assertScimError(await scim('POST', '/Users/.search', { schemas: [SEARCH_URN], sortBy: 7 }), 400, 'invalidValue');
    const ok = await scim('POST', '/Users/.search', { schemas: [SEARCH_URN], filter: 'userName eq "ann"' });
    assert.equal(ok.json.totalResults, 1);
  });

  test('undecodable query parameter is rejected', async () => {
    for (const filter of ['userName%20eq%20%22nobody%00%22', '%zz', 'userName%20eq%20%22a%22%']) {
      assertScimError(await scim('GET', `/Users?filter=${filter}`), 400, 'invalidFilter');
    }
    for (const name of ['attributes', 'excludedAttributes', 'sortBy', 'sortOrder', 'startIndex', 'count']) {
      assertScimError(await scim('GET', `/Users?${name}=%zz`), 400, 'invalidValue');
    }
    assertScimError(await scim('GET', `/Users/${ann.id}?attributes=%zz`), 400, 'invalidValue');
  });

  test('ne matches absent attributes', async () => {
    const ne = await scim('GET', `/Users?filter=${encodeURIComponent('nickName ne "x"')}`);
    assert.equal(ne.status, 200, ne.text);
    assert.deepEqual(ne.json.Resources.map((u) => u.id), [bob.id]);
    const title = await scim('GET', `/Users?filter=${encodeURIComponent('title ne "boss"')}`);
    assert.equal(title.json.totalResults, 2);
    const notEq = await scim('GET', `/Users?filter=${encodeURIComponent('not (title eq "boss")')}`);
    assert.equal(notEq.json.totalResults, 2);
    const group = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Empty' });
    assert.equal(group.status, 201);
    const members = await scim('GET', `/Groups?filter=${encodeURIComponent(`members.value ne "${ann.id}"`)}`);
    assert.deepEqual(members.json.Resources.map((g) => g.id), [group.json.id]);
    const full = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Full', members: [{ value: ann.id }] });
    const withAnn = await scim('GET', `/Groups?filter=${encodeURIComponent(`members.value ne "${ann.id}"`)}`);
    assert.ok(!withAnn.json.Resources.some((g) => g.id === full.json.id));
    const userSide = await scim('GET', `/Users?filter=${encodeURIComponent(`groups.value ne "${full.json.id}"`)}`);
    assert.deepEqual(userSide.json.Resources.map((u) => u.id), [bob.id]);
  });

  test('messages never carry invalid UTF-8', async () => {
    const long = `${'a'.repeat(199)}\u00e9xyz`;
    const first = await scim('POST', '/Users', { schemas: [USER_URN], userName: long });
    assert.equal(first.status, 201, first.text);
    assertScimError(await scim('POST', '/Users', { schemas: [USER_URN], userName: long }), 409, 'uniqueness');
    const badMember = `${'b'.repeat(79)}\u00e9`;
    assertScimError(await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G1', members: [{ value: badMember }] }), 400, 'invalidValue');
    assertScimError(await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'G2', members: [{ value: bob.id, type: `${'t'.repeat(39)}\u00e9` }] }), 400, 'invalidValue');
    for (const path of ['/Users/%FF', '/Groups/%C3%28', '/Schemas/%FF', '/ResourceTypes/%FF',
      `/Users/${'%FF'.repeat(36)}`]) {
      const res = await scim('GET', path);
      assertScimError(res, 404);
    }
  });

  test('query values that do not decode are rejected', async () => {
    // A percent sign without two hex digits after it, or an encoded NUL.
    const cases = [
      ['/Users?filter=userName%20eq%20%22%G1%22', 'invalidFilter', 'filter'],
      ['/Users?count=1&filter=userName%20pr%2', 'invalidFilter', 'filter'],
      ['/Users?filter=userName%20pr&sortBy=user%00Name', 'invalidValue', 'sortBy'],
      ['/Groups?count=%zz', 'invalidValue', 'count'],
      [`/Users/${bob.id}?attributes=%`, 'invalidValue', 'attributes'],
    ];
    for (const [path, type, name] of cases) {
      const res = await scim('GET', path);
      assertScimError(res, 400, type);
      assert.match(res.json.detail, new RegExp(`parameter ${name} is not valid percent-encoded UTF-8`), path);
    }
    // An undecodable parameter that no handler reads changes nothing.
    const other = await scim('GET', '/Users?count=1&x=%FF');
    assert.equal(other.status, 200, other.text);
  });

  test('bodies that are not well-formed UTF-8 are rejected', async () => {
    const before = await scim('GET', '/Users?startIndex=1&count=1');
    const bodies = {
      'overlong solidus': Buffer.from('{"schemas":["' + USER_URN + '"],"userName":"o\xc0\xaf@x.com"}', 'latin1'),
      'encoded surrogate': Buffer.from('{"schemas":["' + USER_URN + '"],"userName":"s\xed\xa0\x80@x.com"}', 'latin1'),
      'above U+10FFFF': Buffer.from('{"schemas":["' + USER_URN + '"],"userName":"h\xf4\x90\x80\x80@x.com"}', 'latin1'),
      'unpaired surrogate escape': `{"schemas":["${USER_URN}"],"userName":"s\\ud800\\u0041@x.com"}`,
      'lone low surrogate escape': `{"schemas":["${USER_URN}"],"userName":"l\\udc00@x.com"}`,
    };
    for (const [name, body] of Object.entries(bodies)) {
      const res = await scim('POST', '/Users', body);
      assertScimError(res, 400, 'invalidSyntax');
      assert.match(res.json.detail, /UTF-8|surrogate/, `${name}: ${res.json.detail}`);
    }
    const after = await scim('GET', '/Users?startIndex=1&count=1');
    assert.equal(after.json.totalResults, before.json.totalResults, 'a rejected body created a user');
    const paired = await scim('POST', '/Users', `{"schemas":["${USER_URN}"],"userName":"p\\ud83d\\ude00@x.com"}`);
    assert.equal(paired.status, 201, paired.text);
    assert.equal(paired.json.userName, 'p\u{1F600}@x.com');
  });

  test('an attribute given twice with different values is rejected', async () => {
    const before = await scim('GET', '/Users?startIndex=1&count=1');
    const ambiguous = [
      { schemas: [USER_URN], userName: 'c1@x.com', USERNAME: 'c2@x.com' },
      { schemas: [USER_URN], userName: 'c3@x.com', [`${USER_URN}:userName`]: 'c4@x.com' },
      { schemas: [USER_URN], userName: 'c5@x.com', name: { givenName: 'A' }, 'name.givenName': 'B' },
    ];
    for (const body of ambiguous) {
      const res = await scim('POST', '/Users', body);
      assertScimError(res, 400, 'invalidSyntax');
      assert.match(res.json.detail, /(userName|givenName) is given more than once/);
    }
    const after = await scim('GET', '/Users?startIndex=1&count=1');
    assert.equal(after.json.totalResults, before.json.totalResults);
    const same = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'c6@x.com', USERNAME: 'c6@x.com' });
    assert.equal(same.status, 201, same.text);
    assert.equal(same.json.userName, 'c6@x.com');
  });

  test('a user created without active is active in filters too', async () => {
    const res = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'noactive@x.com' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.active, true);
    const filter = encodeURIComponent('userName eq "noactive@x.com" and active eq true');
    const found = await scim('GET', `/Users?filter=${filter}`);
    assert.equal(found.json.totalResults, 1, found.text);
  });

  test('filtered member remove', async () => {
    const g = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Removal', members: [{ value: ann.id }] });
    const id = g.json.id;
    // Okta removes members that are already gone during re-syncs.
    const absent = await scim('PATCH', `/Groups/${id}`, patch({ op: 'remove', path: `members[value eq "${bob.id}"]` }));
    assert.equal(absent.status, 204, absent.text);
    assertScimError(await scim('PATCH', `/Groups/${id}`, patch({ op: 'remove', path: 'members[display eq "nobody"]' })), 400, 'noTarget');
    const still = await scim('GET', `/Groups/${id}`);
    assert.deepEqual(still.json.members.map((m) => m.value), [ann.id]);
    const byType = await scim('PATCH', `/Groups/${id}`, patch({ op: 'remove', path: 'members[type eq "User"]' }));
    assert.equal(byType.status, 204, byType.text);
    const empty = await scim('GET', `/Groups/${id}`);
    assert.deepEqual(empty.json.members ?? [], []);
  });

  test('number for a string attribute is rejected', async () => {
    const created = await scim('POST', '/Users', { schemas: [USER_URN], userName: 12345 });
    assertScimError(created, 400, 'invalidValue');
    assert.match(created.json.detail, /userName/);
    const title = await scim('PATCH', `/Users/${ann.id}`, patch({ op: 'replace', path: 'title', value: 42 }));
    assertScimError(title, 400, 'invalidValue');
    assert.match(title.json.detail, /title/);
    const active = await scim('PATCH', `/Users/${ann.id}`, patch({ op: 'replace', path: 'active', value: 'False' }));
    assert.equal(active.status, 200, active.text);
    assert.equal(active.json.active, false);
  });
});

describe('SCIM requests cut across TCP reads', () => {
  let srv;
  let token;
  let bob;

  before(async () => {
    srv = await startIdgate();
    const acc = await srv.createAccount('Acme');
    token = (await srv.createScimKey(acc.id)).token;
    bob = (await scimClient(srv, token)('POST', '/Users', { schemas: [USER_URN], userName: 'bob' })).json;
    assert.ok(bob.id, 'bob was not created');
  });
  after(async () => {
    if (srv) {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
  });

  // A lookup whose request line arrives in two TCP reads must find the same
  // user wherever the cut falls. A dropped or misread filter would make a
  // provisioning client link the wrong user or create a duplicate.
  test('userName filter cut at every byte of the request line', async () => {
    const line = 'GET /scim/v2/Users?filter=userName%20eq%20%22bob%22&attributes=userName HTTP/1.1';
    const head = `${line}\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
    for (let cut = 1; cut <= line.length + 2; cut++) {
      const reply = await sendCut(srv.port, head, cut);
      assert.match(reply, /^HTTP\/1\.1 200 /, `cut after ${JSON.stringify(head.slice(0, cut))}`);
      const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
      assert.equal(body.totalResults, 1, `cut after ${JSON.stringify(head.slice(0, cut))}`);
      assert.equal(body.Resources[0].id, bob.id);
    }
  });

  // The same with a request ahead of it on the connection: the cut request
  // follows a create (head and body) in the first write.
  test('pipelined lookup cut at every byte of its request line', async () => {
    const line = 'GET /scim/v2/Users?filter=userName%20eq%20%22bob%22&attributes=userName HTTP/1.1';
    const lookup = `${line}\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
    for (let cut = 1; cut <= line.length + 2; cut++) {
      const body = JSON.stringify({ schemas: [USER_URN], userName: `pipelined-${cut}` });
      const create = 'POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const reply = await sendCut(srv.port, create + lookup, create.length + cut);
      const where = `cut after ${JSON.stringify(lookup.slice(0, cut))}`;
      const replies = reply.split(/(?=HTTP\/1\.1 )/);
      assert.equal(replies.length, 2, `${where}: ${reply}`);
      assert.match(replies[0], /^HTTP\/1\.1 201 /, where);
      assert.match(replies[1], /^HTTP\/1\.1 200 /, where);
      const found = JSON.parse(replies[1].slice(replies[1].indexOf('\r\n\r\n') + 4));
      assert.equal(found.totalResults, 1, where);
      assert.equal(found.Resources[0].id, bob.id, where);
    }
  });

  // The create's empty line comes with its body, after a lookup and the
  // rest of the create's head went in the first write.
  test('pipelined create whose empty line arrives with its body', async () => {
    const lookup = 'GET /scim/v2/Users?filter=userName%20eq%20%22bob%22 HTTP/1.1\r\nHost: x\r\n' +
      `Authorization: Bearer ${token}\r\n\r\n`;
    for (const size of [10, 9000]) {
      const body = JSON.stringify({ schemas: [USER_URN], userName: `late-line-${size}`, nickName: 'n'.repeat(size) });
      const head = 'POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
      const started = Date.now();
      const reply = await sendCut(srv.port, lookup + head + body, lookup.length + head.length - 2);
      const replies = reply.split(/(?=HTTP\/1\.1 )/);
      assert.equal(replies.length, 2, reply);
      assert.match(replies[0], /^HTTP\/1\.1 200 /);
      assert.match(replies[1], /^HTTP\/1\.1 201 /, replies[1]);
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    }
  });

  // A list header may come in several lines, which count as one list.
  test('repeated If-Match and If-None-Match lines count as one list', async () => {
    const version = (await scimClient(srv, token)('GET', `/Users/${bob.id}`)).json.meta.version;
    const body = JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { nickName: 'b' } }],
    });
    const patch = (conditions) => `PATCH /scim/v2/Users/${bob.id} HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\n${conditions}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    let reply = await sendCut(srv.port, patch(`If-None-Match: W/"999"\r\nIf-None-Match: ${version}\r\n`), 5);
    assert.match(reply, /^HTTP\/1\.1 412 /, reply);
    reply = await sendCut(srv.port, patch(`If-Match: W/"999"\r\nIf-Match: ${version}\r\n`), 5);
    assert.match(reply, /^HTTP\/1\.1 200 /, reply);
  });

  test('create whose head and body arrive in pieces', async () => {
    const body = JSON.stringify({ schemas: [USER_URN], userName: 'cut-in-pieces' });
    const head = 'POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n' +
      `Authorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    for (const cut of [10, head.length - 3, head.length]) {
      const name = `cut-${cut}`;
      const text = head.replace(/Content-Length: \d+/, `Content-Length: ${Buffer.byteLength(body.replace('cut-in-pieces', name))}`) +
        body.replace('cut-in-pieces', name);
      const reply = await sendCut(srv.port, text, cut);
      assert.match(reply, /^HTTP\/1\.1 201 /, reply);
      assert.equal(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).userName, name);
    }
  });
});
