// Entra ID's SCIM provisioning against the real binary, in both of its
// dialects. Without the aadOptscim062020 flag Entra sends capitalised ops,
// booleans as strings and member removal as a value list. With the flag it
// sends RFC-style requests, with dotted and URN-prefixed keys in path-less
// replaces. idgate accepts both and needs no setting to tell them apart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function scimClient(srv, token) {
  return async (method, path, body) => {
    const headers = { Authorization: `Bearer ${token}` };
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/scim+json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(srv.url(`/scim/v2${path}`), { method, headers, body: payload });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text };
  };
}

const patch = (...ops) => ({ schemas: [PATCH_URN], Operations: ops });
const q = (f) => encodeURIComponent(f);

function entraUser(userName, extra = {}) {
  return {
    schemas: [USER_URN, ENT_URN, 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'],
    externalId: userName.split('@')[0],
    userName,
    active: true,
    displayName: 'Test User',
    meta: { resourceType: 'User' },
    name: { formatted: 'Test User', familyName: 'User', givenName: 'Test' },
    roles: [],
    [ENT_URN]: { department: 'Sales' },
    'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User': { tag: 'ignored' },
    ...extra,
  };
}

describe('Entra ID provisioning', () => {
  let srv;
  let scim;

  before(async () => {
    srv = await startIdgate();
    const acc = await srv.createAccount('Contoso');
    scim = scimClient(srv, (await srv.createScimKey(acc.id)).token);
  });

  after(async () => {
    await srv?.stop();
    await srv?.cleanup();
  });

  test('connection test filters on a random value', async () => {
    const res = await scim('GET', `/Users?filter=${q(`userName eq "${randomUUID()}"`)}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.totalResults, 0);
    assert.deepEqual(res.json.Resources, []);
  });

  test('create ignores unknown extensions and converts string booleans', async () => {
    let res = await scim('POST', '/Users', entraUser('ignore.ext@contoso.com', { active: 'True' }));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.active, true);
    assert.equal(res.json[ENT_URN].department, 'Sales');
    assert.equal(res.json['urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'], undefined);
    assert.ok(!res.json.schemas.includes('urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User'));

    res = await scim('POST', '/Users', entraUser('bad.bool@contoso.com', { active: 'maybe' }));
    assert.equal(res.status, 400);
    assert.equal(res.json.scimType, 'invalidValue');
    assert.match(res.json.detail, /active/);
  });

  test('default dialect user updates', async () => {
    let res = await scim('POST', '/Users', entraUser('legacy@contoso.com'));
    assert.equal(res.status, 201);
    const id = res.json.id;
    res = await scim('POST', '/Users', entraUser('manager1@contoso.com'));
    const managerId = res.json.id;

    res = await scim('GET', `/Users?filter=${q('externalId eq "legacy"')}`);
    assert.equal(res.json.totalResults, 1);

    res = await scim('PATCH', `/Users/${id}`, patch(
      { op: 'Add', path: 'emails[type eq "work"].value', value: 'legacy.work@contoso.com' },
      { op: 'Replace', path: 'name.givenName', value: 'Legacy' },
      { op: 'Replace', path: `${ENT_URN}:employeeNumber`, value: '42' },
      { op: 'Add', path: `${ENT_URN}:manager`, value: managerId },
    ));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.emails, [{ type: 'work', value: 'legacy.work@contoso.com' }]);
    assert.equal(res.json.name.givenName, 'Legacy');
    assert.equal(res.json[ENT_URN].employeeNumber, '42');
    assert.equal(res.json[ENT_URN].manager.value, managerId);
    assert.equal(res.json[ENT_URN].department, 'Sales');

    res = await scim('GET', `/Users?filter=${q('emails[type eq "work"].value eq "legacy.work@contoso.com"')}`);
    assert.equal(res.json.totalResults, 1);

    res = await scim('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.active, false);
    res = await scim('GET', `/Users?filter=${q('userName eq "LEGACY@contoso.com"')}`);
    assert.equal(res.json.totalResults, 1);
    assert.equal(res.json.Resources[0].active, false);

    res = await scim('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'active', value: 'yes' }));
    assert.equal(res.status, 400);
    assert.equal(res.json.scimType, 'invalidValue');

    res = await scim('DELETE', `/Users/${id}`);
    assert.equal(res.status, 204);
    res = await scim('GET', `/Users/${id}`);
    assert.equal(res.status, 404);
  });

  test('compliant dialect user updates', async () => {
    let res = await scim('POST', '/Users', entraUser('modern@contoso.com'));
    const id = res.json.id;

    res = await scim('PATCH', `/Users/${id}`, patch({
      op: 'replace',
      value: {
        'name.givenName': 'Modern',
        displayName: 'Modern User',
        [`${ENT_URN}:department`]: 'Engineering',
        active: false,
      },
    }));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.name.givenName, 'Modern');
    assert.equal(res.json.name.familyName, 'User');
    assert.equal(res.json.displayName, 'Modern User');
    assert.equal(res.json[ENT_URN].department, 'Engineering');
    assert.equal(res.json.active, false);

    res = await scim('PATCH', `/Users/${id}`, patch({ op: 'replace', path: 'active', value: true }));
    assert.equal(res.json.active, true);
  });

  test('group membership in both dialects', async () => {
    const ids = [];
    for (const n of ['alpha', 'beta', 'gamma']) {
      const res = await scim('POST', '/Users', entraUser(`${n}@contoso.com`));
      ids.push(res.json.id);
    }
    const [a, b, c] = ids;
    let res = await scim('POST', '/Groups', {
      schemas: [GROUP_URN], externalId: randomUUID(), displayName: 'Sales Team', members: [],
    });
    assert.equal(res.status, 201, res.text);
    const gid = res.json.id;

    res = await scim('PATCH', `/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ value: a }, { value: b }, { value: c }] }));
    assert.equal(res.status, 204, res.text);

    const check = async (user) => {
      const r = await scim('GET', `/Groups?excludedAttributes=members&filter=${q(`id eq "${gid}" and members[value eq "${user}"]`)}`);
      assert.equal(r.status, 200);
      if (r.json.totalResults) assert.equal(r.json.Resources[0].members, undefined);
      return r.json.totalResults;
    };
    assert.equal(await check(a), 1);
    assert.equal(await check(b), 1);

    // Default dialect: remove with a value list removes only those members.
    res = await scim('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: [{ value: a }] }));
    assert.equal(res.status, 204, res.text);
    assert.equal(await check(a), 0);
    assert.equal(await check(b), 1);
    assert.equal(await check(c), 1);

    // Compliant dialect: remove by filter.
    res = await scim('PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${b}"]` }));
    assert.equal(res.status, 204, res.text);
    assert.equal(await check(b), 0);
    assert.equal(await check(c), 1);

    res = await scim('PATCH', `/Groups/${gid}`, patch({ op: 'Replace', path: 'displayName', value: 'Sales EMEA' }));
    assert.equal(res.status, 204);
    res = await scim('GET', `/Groups/${gid}`);
    assert.equal(res.json.displayName, 'Sales EMEA');
    assert.deepEqual(res.json.members.map((m) => m.value), [c]);

    res = await scim('DELETE', `/Users/${c}`);
    assert.equal(res.status, 204);
    assert.equal(await check(c), 0);
    res = await scim('DELETE', `/Groups/${gid}`);
    assert.equal(res.status, 204);
  });
});
