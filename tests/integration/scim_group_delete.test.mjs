// Deleting a large group: the group disappears at once, and small background
// jobs remove its membership records, so other writes do not wait for the
// whole deletion. A restart resumes an unfinished clean-up.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import { adminClient, adminToken } from './admin_helpers.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const MEMBERS = 3000;
const CHUNK = 50;

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

// Creates `n` users with at most 32 requests in flight; returns their ids.
async function createUsers(scim, prefix, n) {
  const ids = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      const res = await scim('POST', '/Users', { schemas: [USER_URN], userName: `${prefix}${i}`, active: true });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      ids[i] = res.body.id;
    }
  }
  await Promise.all(Array.from({ length: 32 }, worker));
  return ids;
}

async function createGroup(scim, displayName, ids) {
  const res = await scim('POST', '/Groups', {
    schemas: [GROUP_URN], displayName, members: ids.map((value) => ({ value })),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300));
  return res.body.id;
}

// Counts the account's membership.removed audit events for `groupId`.
async function removedEvents(op, account, groupId) {
  let count = 0;
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    const res = await op('GET', `/accounts/${account}/audit?kind=membership.removed&limit=1000${cursor}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    count += res.body.events.filter((e) => e.details.group_id === groupId).length;
    if (!res.body.next) return count;
    cursor = `&after=${encodeURIComponent(res.body.next)}`;
  }
  throw new Error('too many audit pages');
}

const finished = (groupId) => new RegExp(`scim group clean-up finished.*${groupId}`);

describe('SCIM large group delete', () => {
  let srv;
  let scim;
  let op;
  let account;
  let users;

  before(async () => {
    srv = await startIdgate({ config: { scim: { group_delete_chunk: String(CHUNK) } } });
    op = adminClient(srv, await adminToken(srv));
    account = (await srv.createAccount('Acme')).id;
    scim = scimClient(srv, (await srv.createScimKey(account)).token);
    users = await createUsers(scim, 'member', MEMBERS);
  });
  after(async () => {
    if (srv) {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
  });

  test('create completes before clean-up', async () => {
    const groupId = await createGroup(scim, 'Everyone', users);
    const kept = await createGroup(scim, 'Kept', users.slice(0, 2));

    const del = await scim('DELETE', `/Groups/${groupId}`);
    assert.equal(del.status, 204);
    const created = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'during-delete' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.doesNotMatch(srv.logs(), finished(groupId), 'the clean-up finished before the create');

    // Gone from every read, whether or not the clean-up has finished.
    assert.equal((await scim('GET', `/Groups/${groupId}`)).status, 404);
    const groups = await scim('GET', '/Groups');
    assert.deepEqual(groups.body.Resources.map((g) => g.id), [kept]);
    assert.equal(groups.body.totalResults, 1);
    const byMember = await scim('GET', `/Groups?filter=${encodeURIComponent(`members.value eq "${users[0]}"`)}`);
    assert.deepEqual(byMember.body.Resources.map((g) => g.id), [kept]);
    const inGroup = await scim('GET', `/Users?filter=${encodeURIComponent(`groups.value eq "${groupId}"`)}`);
    assert.equal(inGroup.body.totalResults, 0);
    const anyGroup = await scim('GET', `/Users?filter=${encodeURIComponent(`groups[value co "${groupId.slice(0, 30)}"]`)}`);
    assert.equal(anyGroup.body.totalResults, 0);
    const user = await scim('GET', `/Users/${users[0]}`);
    assert.deepEqual(user.body.groups.map((g) => g.value), [kept]);
    const byName = await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Everyone"')}`);
    assert.equal(byName.body.totalResults, 0);

    await srv.waitForLog(finished(groupId), 60000);
    assert.match(srv.logs(), new RegExp(`group_id=${groupId} memberships_removed=${MEMBERS}`));
    assert.equal(await removedEvents(op, account, groupId), MEMBERS);
    const again = await scim('GET', `/Users/${users[1]}`);
    assert.deepEqual(again.body.groups.map((g) => g.value), [kept]);
    // The name is free again at once.
    const reuse = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Everyone' });
    assert.equal(reuse.status, 201);
  });

  test('restart resumes the clean-up', async () => {
    const groupId = await createGroup(scim, 'Restarted', users);
    const del = await scim('DELETE', `/Groups/${groupId}`);
    assert.equal(del.status, 204);
    await srv.kill9();
    const doneBeforeKill = finished(groupId).test(srv.logs());
    await srv.restart();
    if (!doneBeforeKill) {
      assert.match(srv.logs(), new RegExp(`scim group clean-up resumed.*${groupId}`));
    }
    await srv.waitForLog(finished(groupId), 60000);
    assert.equal(await removedEvents(op, account, groupId), MEMBERS);
    assert.equal((await scim('GET', `/Groups/${groupId}`)).status, 404);
  });
});
