// Audit events of SCIM provisioning: every user, membership and licence tier
// change made through SCIM is listed by the admin audit API, one event per
// user or member, with the ids involved and the SCIM key as the actor.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import {
  GROUP_SCHEMA, adminClient, adminToken, scimCall, scimGroup, scimPatch, scimUser,
} from './admin_helpers.mjs';

describe('SCIM audit events', () => {
  let srv;
  let key;
  let op;
  let account;
  let actor;
  const users = [];

  // Lists the account's events of `kind`, oldest first, over every page.
  async function events(kind) {
    const out = [];
    let cursor = '';
    for (let page = 0; page < 50; page++) {
      const res = await op('GET', `/accounts/${account}/audit?kind=${kind}&order=asc&limit=1000${cursor}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      out.push(...res.body.events);
      if (!res.body.next) return out;
      cursor = `&after=${encodeURIComponent(res.body.next)}`;
    }
    throw new Error('too many audit pages');
  }

  // The sorted user ids of `kind` events for `groupId`.
  async function memberEvents(kind, groupId) {
    return (await events(kind))
      .filter((e) => e.details.group_id === groupId)
      .map((e) => e.details.user_id)
      .sort();
  }

  // The "from->to" moves of a user's license.changed events, oldest first.
  async function tierMoves(userId) {
    return (await events('license.changed'))
      .filter((e) => e.details.user_id === userId)
      .map((e) => `${e.details.from}->${e.details.to}`);
  }

  const ids = (...indexes) => indexes.map((i) => users[i].id).sort();

  before(async () => {
    srv = await startIdgate({});
    account = (await srv.createAccount('Acme')).id;
    const scimKey = await srv.createScimKey(account);
    key = scimKey.token;
    actor = `scim:${scimKey.id}`;
    op = adminClient(srv, await adminToken(srv));
    for (let i = 0; i < 6; i++) users.push(await scimUser(srv, key, `audit${i}@acme.example`));
  });

  after(async () => {
    await srv?.stop();
  });

  test('user create records user and tier', async () => {
    const created = await events('user.created');
    assert.equal(created.length, users.length);
    for (const [i, user] of users.entries()) {
      const ev = created.find((e) => e.details.user_id === user.id);
      assert.ok(ev, `no user.created for user ${i}`);
      assert.equal(ev.details.userName, `audit${i}@acme.example`);
      assert.equal(ev.actor, actor);
      assert.equal(ev.account, account);
      assert.deepEqual(await tierMoves(user.id), ['null->basic']);
    }
  });

  test('group PUT records each member', async () => {
    const group = await scimGroup(srv, key, 'Put team');
    const put = (indexes) => scimCall(srv, key, 'PUT', `/Groups/${group.id}`, {
      schemas: [GROUP_SCHEMA],
      displayName: 'Put team',
      members: indexes.map((i) => ({ value: users[i].id })),
    });
    assert.equal((await put([0, 1, 2, 3])).status, 200);
    assert.deepEqual(await memberEvents('membership.added', group.id), ids(0, 1, 2, 3));
    assert.deepEqual(await memberEvents('membership.removed', group.id), []);

    assert.equal((await put([2, 3, 4, 5])).status, 200);
    assert.deepEqual(await memberEvents('membership.added', group.id), ids(0, 1, 2, 3, 4, 5));
    assert.deepEqual(await memberEvents('membership.removed', group.id), ids(0, 1));
    const removed = (await events('membership.removed')).find((e) => e.details.group_id === group.id);
    assert.equal(removed.actor, actor);
  });

  test('group PATCH records adds and removes', async () => {
    const group = await scimGroup(srv, key, 'Patch team');
    await scimPatch(srv, key, `/Groups/${group.id}`, [
      { op: 'add', path: 'members', value: [0, 1, 2].map((i) => ({ value: users[i].id })) },
    ]);
    await scimPatch(srv, key, `/Groups/${group.id}`, [
      { op: 'remove', path: `members[value eq "${users[1].id}"]` },
      { op: 'add', path: 'members', value: [{ value: users[3].id }] },
    ]);
    assert.deepEqual(await memberEvents('membership.added', group.id), ids(0, 1, 2, 3));
    assert.deepEqual(await memberEvents('membership.removed', group.id), ids(1));
    // Adding a member again changes nothing and records nothing.
    await scimPatch(srv, key, `/Groups/${group.id}`, [
      { op: 'add', path: 'members', value: [{ value: users[0].id }] },
    ]);
    assert.deepEqual(await memberEvents('membership.added', group.id), ids(0, 1, 2, 3));
  });

  test('mapped group changes member tiers', async () => {
    const group = await scimGroup(srv, key, 'Pro team', [users[4].id]);
    const mapped = await op('POST', `/accounts/${account}/groups`, { displayName: 'Pro team', tier: 'pro' });
    assert.equal(mapped.status, 201, JSON.stringify(mapped.body));
    assert.deepEqual(await tierMoves(users[4].id), ['null->basic', 'basic->pro']);

    await scimPatch(srv, key, `/Groups/${group.id}`, [
      { op: 'add', path: 'members', value: [{ value: users[5].id }] },
    ]);
    assert.deepEqual(await tierMoves(users[5].id), ['null->basic', 'basic->pro']);
    const toPro = (await events('license.changed'))
      .find((e) => e.details.user_id === users[5].id && e.details.to === 'pro');
    assert.equal(toPro.actor, actor);

    await scimPatch(srv, key, `/Groups/${group.id}`, [
      { op: 'remove', path: `members[value eq "${users[4].id}"]` },
    ]);
    assert.deepEqual(await tierMoves(users[4].id), ['null->basic', 'basic->pro', 'pro->basic']);
    assert.deepEqual(await memberEvents('membership.removed', group.id), ids(4));
  });

  test('names with quotes and unicode round-trip', async () => {
    const name = 'Zo\u00eb "Q" \\ \u65e5\u672c \u{1F600}@acme.example';
    const user = await scimUser(srv, key, name, {
      emails: [{ value: 'zoe@acme.example', type: 'work', primary: true }],
    });
    const ev = (await events('user.created')).find((e) => e.details.user_id === user.id);
    assert.ok(ev, 'no user.created for the user');
    assert.equal(ev.details.userName, name);
  });
});
