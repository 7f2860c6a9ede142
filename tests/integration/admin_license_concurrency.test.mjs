// Licence counts under concurrent changes: SCIM membership patches, user
// deactivations and deletions, directory-group mapping changes and
// default-tier changes race against one account. Afterwards the counters
// from GET /licenses must equal the tiers listed by GET /users, and each
// listed tier must equal the tier recomputed from the SCIM groups, the
// mappings and the default tier.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import {
  adminClient, adminToken, GROUP_SCHEMA, PATCH_SCHEMA, scimCall, scimGroup, scimUser,
} from './admin_helpers.mjs';

const USERS = 24;
const ROUNDS = 3;
const OPS_PER_ROUND = 60;

// A small seeded generator (mulberry32), so that a failing run can be replayed.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function listAllUsers(op, accountId) {
  const users = [];
  let next = null;
  do {
    const query = next ? `?limit=7&after=${next}` : '?limit=7';
    const res = await op('GET', `/accounts/${accountId}/users${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    users.push(...res.body.users);
    next = res.body.next;
  } while (next);
  return users;
}

async function scimMembers(srv, key, groupId) {
  const res = await scimCall(srv, key, 'GET', `/Groups/${groupId}`);
  if (res.status === 404) return null;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.members || []).map((m) => m.value);
}

describe('licence counts under concurrency', () => {
  let srv;
  let op;
  let acc;
  let key;
  let users;
  let groups;

  before(async () => {
    // Small clean-up chunks, so that deleting a group leaves membership
    // records for the background clean-up.
    srv = await startIdgate({ config: { scim: { group_delete_chunk: '2' } } });
    op = adminClient(srv, await adminToken(srv));
    acc = (await op('POST', '/accounts', { name: 'Race' })).body;
    key = (await srv.createScimKey(acc.id)).token;
    users = [];
    for (let i = 0; i < USERS; i++) users.push((await scimUser(srv, key, `u${i}@race.example`)).id);
    groups = [];
    for (const name of ['Engineering', 'Sales', 'Support', 'Contractors']) {
      groups.push({ name, id: (await scimGroup(srv, key, name, users.slice(0, 6))).id });
    }
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  // Deletes a group and pushes it again under the same name, as a
  // directory does after a group was removed and restored.
  async function recreateGroup(group, member) {
    const res = await scimCall(srv, key, 'DELETE', `/Groups/${group.id}`);
    if (res.status !== 204) return res;
    const again = await scimCall(srv, key, 'POST', '/Groups', {
      schemas: [GROUP_SCHEMA],
      displayName: group.name,
      members: users.slice(0, 5).concat([member]).map((value) => ({ value })),
    });
    if (again.status === 201) group.id = again.body.id;
    return again;
  }

  // One random change; statuses other than success are allowed where the
  // race makes them expected (a mapping that another change just removed).
  function change(rand) {
    const pick = (list) => list[Math.floor(rand() * list.length)];
    const kind = rand();
    const user = pick(users);
    const group = pick(groups);

    if (kind < 0.45) {
      const op2 = rand() < 0.6 ? 'add' : 'remove';
      const body = op2 === 'add'
        ? { op: 'add', path: 'members', value: [{ value: user }, { value: pick(users) }] }
        : { op: 'remove', path: `members[value eq "${user}"]` };
      return scimCall(srv, key, 'PATCH', `/Groups/${group.id}`,
        { schemas: [PATCH_SCHEMA], Operations: [body] });
    }
    if (kind < 0.7) {
      return scimCall(srv, key, 'PATCH', `/Users/${user}`, {
        schemas: [PATCH_SCHEMA],
        Operations: [{ op: 'replace', path: 'active', value: rand() < 0.5 }],
      });
    }
    if (kind < 0.8) {
      const tier = rand() < 0.5 ? 'pro' : 'basic';
      const step = rand();
      if (step < 0.4) return op('POST', `/accounts/${acc.id}/groups`, { displayName: group.name, tier });
      if (step < 0.75) return op('PATCH', `/accounts/${acc.id}/groups/${group.id}`, { tier });
      return op('DELETE', `/accounts/${acc.id}/groups/${group.id}`);
    }
    if (kind < 0.9) return recreateGroup(group, pick(users));
    return op('PATCH', `/accounts/${acc.id}/settings`, { default_tier: pick(['basic', 'pro', 'none']) });
  }

  test('counts match the listed and recomputed tiers', async () => {
    const rand = random(20261204);
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(Array.from({ length: OPS_PER_ROUND }, () => change(rand)));
      for (const res of results) {
        assert.ok(res.status < 500, `server error ${res.status}: ${JSON.stringify(res.body)}`);
      }

      const counts = (await op('GET', `/accounts/${acc.id}/licenses`)).body;
      const listed = await listAllUsers(op, acc.id);
      assert.equal(listed.length, USERS);
      const active = listed.filter((u) => u.active);
      const byTier = { none: 0, basic: 0, pro: 0 };
      for (const u of active) byTier[u.tier]++;
      assert.equal(counts.pro, byTier.pro, `round ${round}: pro`);
      assert.equal(counts.basic, byTier.basic, `round ${round}: basic`);
      assert.equal(counts.none, byTier.none, `round ${round}: none`);
      assert.equal(counts.billable, byTier.pro + byTier.basic, `round ${round}: billable`);

      // Recompute each active user's tier from the directory's own state.
      const mappings = (await op('GET', `/accounts/${acc.id}/groups`)).body;
      const tierOf = new Map(mappings.map((m) => [m.group_id, m.tier]));
      const best = new Map();
      for (const g of groups) {
        const tier = tierOf.get(g.id);
        if (!tier) continue;
        for (const member of (await scimMembers(srv, key, g.id)) || []) {
          if (tier === 'pro' || !best.has(member)) best.set(member, tier);
        }
      }
      for (const u of active) {
        const expected = best.get(u.id) || counts.default_tier;
        assert.equal(u.tier, expected, `round ${round}: tier of ${u.userName}`);
      }
    }
  });

  test('counts stay right while users are deleted', async () => {
    const doomed = users.slice(USERS - 6);
    const rand = random(7);
    const work = doomed.map((id) => scimCall(srv, key, 'DELETE', `/Users/${id}`));
    for (let i = 0; i < 30; i++) work.push(change(rand));
    const results = await Promise.all(work);
    for (const res of results) assert.ok(res.status < 500, `server error ${res.status}`);

    const counts = (await op('GET', `/accounts/${acc.id}/licenses`)).body;
    const listed = await listAllUsers(op, acc.id);
    const active = listed.filter((u) => u.active);
    assert.ok(listed.every((u) => !doomed.includes(u.id)));
    const byTier = { none: 0, basic: 0, pro: 0 };
    for (const u of active) byTier[u.tier]++;
    assert.deepEqual({ none: counts.none, basic: counts.basic, pro: counts.pro }, byTier);
  });
});
