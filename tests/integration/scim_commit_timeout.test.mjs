// A write that the store accepted gets a reply with its real outcome, even
// when the writer is busy for longer than [server] request_timeout. So no
// request gets 503 while its user is stored anyway.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const USERS = 3000;
const PUTS = 64;

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

async function createUsers(scim, n) {
  const ids = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      const res = await scim('POST', '/Users', { schemas: [USER_URN], userName: `bulk${i}` });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[i] = res.body.id;
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker));
  return ids;
}

describe('SCIM writes past request_timeout', () => {
  let srv;
  let scim;
  before(async () => {
    srv = await startIdgate({ config: { server: { request_timeout: '1s' } } });
    const acc = await srv.createAccount('Acme');
    scim = scimClient(srv, (await srv.createScimKey(acc.id)).token);
  });
  after(async () => {
    await srv.stop();
    await srv.cleanup();
  });

  test('queued writes reply with their outcome', async () => {
    const ids = await createUsers(scim, USERS);
    const group = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'big' });
    assert.equal(group.status, 201);
    const halves = [ids.slice(0, USERS / 2), ids.slice(USERS / 2)].map((h) => h.map((value) => ({ value })));
    const puts = Array.from({ length: PUTS }, (_, i) =>
      scim('PUT', `/Groups/${group.body.id}?excludedAttributes=members`, {
        schemas: [GROUP_URN],
        displayName: 'big',
        members: halves[i % 2],
      }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const created = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'late' });
    const replies = await Promise.all(puts);
    for (const put of replies)
      assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "late"')}`);
    assert.equal(found.body.totalResults, 1);
    assert.equal(found.body.Resources[0].id, created.body.id);
  });
});
