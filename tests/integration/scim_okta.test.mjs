// Okta's SCIM 2.0 provisioning against the real binary, request by request.
// It covers the connector test, user lookup and create, and profile updates
// and deactivation by PUT and by PATCH. A group push runs in both the
// integration wizard's PUT style and the catalog apps' PATCH style.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

// Sends one SCIM request with the bearer key; parses any JSON reply.
function scimClient(srv, token) {
  return async (method, path, body, headers = {}) => {
    const h = { Accept: 'application/scim+json', ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      h['Content-Type'] ??= 'application/scim+json; charset=utf-8';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(srv.url(`/scim/v2${path}`), { method, headers: h, body: payload });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text };
  };
}

function oktaUser(userName, extra = {}) {
  const [given, family] = ['Jane', 'Doe'];
  return {
    schemas: [USER_URN],
    userName,
    name: { givenName: given, familyName: family },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: `${given} ${family}`,
    externalId: `00u${Math.random().toString(36).slice(2, 12)}`,
    locale: 'en-US',
    groups: [],
    password: 'T0p-Secret-Random!',
    active: true,
    ...extra,
  };
}

const filterQuery = (f) => `filter=${encodeURIComponent(f)}`;

describe('Okta provisioning', () => {
  let srv;
  let scim;

  before(async () => {
    srv = await startIdgate();
    const acc = await srv.createAccount('Acme');
    const key = await srv.createScimKey(acc.id);
    scim = scimClient(srv, key.token);
  });

  after(async () => {
    await srv?.stop();
    await srv?.cleanup();
  });

  test('connector test lists users', async () => {
    const res = await scim('GET', '/Users?startIndex=1&count=2');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/scim\+json/);
    assert.deepEqual(res.json.schemas, [LIST_URN]);
    assert.equal(res.json.totalResults, 0);
    assert.equal(res.json.startIndex, 1);
    assert.equal(res.json.itemsPerPage, 0);
    assert.deepEqual(res.json.Resources, []);
  });

  test('user lifecycle: lookup, create, update, deactivate, reactivate', async () => {
    const userName = 'Jane.Doe@Example.com';
    const lookup = `/Users?${filterQuery(`userName eq "${userName.toLowerCase()}"`)}&startIndex=1&count=100`;

    let res = await scim('GET', lookup);
    assert.equal(res.status, 200);
    assert.equal(res.json.totalResults, 0);
    assert.deepEqual(res.json.Resources, []);

    res = await scim('POST', '/Users', oktaUser(userName));
    assert.equal(res.status, 201, res.text);
    const user = res.json;
    assert.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(res.headers.get('location'), srv.url(`/scim/v2/Users/${user.id}`));
    assert.equal(res.headers.get('etag'), user.meta.version);
    assert.equal(user.password, undefined);
    assert.ok(!res.text.includes('T0p-Secret-Random!'), 'password echoed');
    assert.equal(user.userName, userName);
    assert.equal(user.active, true);
    assert.deepEqual(user.groups, []);
    assert.equal(user.meta.resourceType, 'User');
    assert.equal(user.meta.location, srv.url(`/scim/v2/Users/${user.id}`));
    assert.match(user.meta.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(user.meta.version, /^W\/"\d+"$/);

    res = await scim('GET', lookup);
    assert.equal(res.json.totalResults, 1);
    assert.equal(res.json.itemsPerPage, 1);
    assert.equal(res.json.Resources[0].id, user.id);
    assert.equal(res.json.Resources[0].password, undefined);

    res = await scim('GET', `/Users/${user.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.userName, userName);

    // Profile update by PUT (integration wizard apps).
    const updated = { ...oktaUser(userName), id: user.id, name: { givenName: 'Janet', familyName: 'Doe' } };
    res = await scim('PUT', `/Users/${user.id}`, updated);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.name.givenName, 'Janet');
    assert.notEqual(res.json.meta.version, user.meta.version);
    assert.equal(res.headers.get('etag'), res.json.meta.version);
    assert.equal(res.json.meta.created, user.meta.created);
    assert.equal(res.json.password, undefined);

    // Deactivation by PUT.
    res = await scim('PUT', `/Users/${user.id}`, { ...updated, active: false });
    assert.equal(res.status, 200);
    assert.equal(res.json.active, false);

    // A deactivated user is still found, and its userName stays taken.
    res = await scim('GET', lookup);
    assert.equal(res.json.totalResults, 1);
    assert.equal(res.json.Resources[0].active, false);
    res = await scim('POST', '/Users', oktaUser(userName.toUpperCase()));
    assert.equal(res.status, 409);
    assert.deepEqual(res.json.schemas, [ERROR_URN]);
    assert.equal(res.json.status, '409');
    assert.equal(res.json.scimType, 'uniqueness');
    assert.match(res.json.detail, /userName/);

    // Reactivation by PUT.
    res = await scim('PUT', `/Users/${user.id}`, { ...updated, active: true });
    assert.equal(res.status, 200);
    assert.equal(res.json.active, true);

    // Deactivation and reactivation by PATCH (catalog apps).
    const deactivate = { schemas: [PATCH_URN], Operations: [{ op: 'replace', value: { active: false } }] };
    res = await scim('PATCH', `/Users/${user.id}`, deactivate);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.active, false);
    assert.equal(res.json.name.givenName, 'Janet');
    res = await scim('GET', `/Users/${user.id}`);
    assert.equal(res.json.active, false);
    res = await scim('GET', lookup);
    assert.equal(res.json.totalResults, 1);

    const reactivate = { schemas: [PATCH_URN], Operations: [{ op: 'replace', value: { active: true } }] };
    res = await scim('PATCH', `/Users/${user.id}`, reactivate);
    assert.equal(res.status, 200);
    assert.equal(res.json.active, true);

    // An empty attributes parameter requests no body.
    res = await scim('PATCH', `/Users/${user.id}?attributes=`, deactivate);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assert.match(res.headers.get('etag'), /^W\/"\d+"$/);
    res = await scim('PATCH', `/Users/${user.id}?attributes=`, reactivate);
    assert.equal(res.status, 204);
  });

  test('names beyond ASCII compare without regard to case', async () => {
    let res = await scim('POST', '/Users', oktaUser('ärzte.müller@example.com'));
    assert.equal(res.status, 201, res.text);
    const user = res.json;

    // The last one spells ä and ü with combining diaereses.
    for (const other of ['ÄRZTE.MÜLLER@example.com', 'Ärzte.Müller@Example.com',
      'a\u0308rzte.mu\u0308ller@example.com']) {
      res = await scim('POST', '/Users', oktaUser(other));
      assert.equal(res.status, 409, other);
      assert.deepEqual(res.json.schemas, [ERROR_URN]);
      assert.equal(res.json.scimType, 'uniqueness');
      res = await scim('GET', `/Users?${filterQuery(`userName eq "${other}"`)}`);
      assert.equal(res.json.totalResults, 1, other);
      assert.equal(res.json.Resources[0].id, user.id);
    }
    res = await scim('GET', `/Users?${filterQuery('userName sw "ÄRZTE."')}`);
    assert.equal(res.json.totalResults, 1);
    res = await scim('GET', `/Users?${filterQuery('emails.value eq "ÄRZTE.MÜLLER@EXAMPLE.COM"')}`);
    assert.equal(res.json.totalResults, 1);

    // "ß" folds to "ss".
    res = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Straße', members: [] });
    assert.equal(res.status, 201, res.text);
    res = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'STRASSE', members: [] });
    assert.equal(res.status, 409);
    assert.equal(res.json.scimType, 'uniqueness');
    res = await scim('GET', `/Groups?${filterQuery('displayName eq "strasse"')}`);
    assert.equal(res.json.totalResults, 1);
    assert.equal(res.json.Resources[0].displayName, 'Straße');
  });

  test('group push with PUT and PATCH', async () => {
    const ids = [];
    for (const n of ['g1', 'g2', 'g3']) {
      const res = await scim('POST', '/Users', oktaUser(`${n}.member@example.com`, { displayName: `Member ${n}` }));
      assert.equal(res.status, 201);
      ids.push(res.json.id);
    }
    const [u1, u2, u3] = ids;

    let res = await scim('GET', `/Groups?${filterQuery('displayName eq "Engineering"')}&startIndex=1&count=100`);
    assert.equal(res.status, 200);
    assert.equal(res.json.totalResults, 0);
    assert.deepEqual(res.json.Resources, []);

    res = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Engineering', members: [] });
    assert.equal(res.status, 201, res.text);
    const group = res.json;
    assert.equal(res.headers.get('location'), srv.url(`/scim/v2/Groups/${group.id}`));
    assert.equal(group.displayName, 'Engineering');
    assert.deepEqual(group.members, []);
    assert.equal(group.meta.resourceType, 'Group');

    res = await scim('POST', '/Groups', { schemas: [GROUP_URN], displayName: 'ENGINEERING', members: [] });
    assert.equal(res.status, 409);
    assert.equal(res.json.scimType, 'uniqueness');

    res = await scim('GET', `/Groups/${group.id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.members, []);

    // Membership by PUT with the full list.
    res = await scim('PUT', `/Groups/${group.id}`, {
      schemas: [GROUP_URN], id: group.id, displayName: 'Engineering',
      members: [{ value: u1, display: 'x' }, { value: u2, display: 'y' }],
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.members.map((m) => m.value).sort(), [u1, u2].sort());
    const m1 = res.json.members.find((m) => m.value === u1);
    assert.equal(m1.display, 'Member g1');
    assert.equal(m1.$ref, srv.url(`/scim/v2/Users/${u1}`));

    res = await scim('GET', `/Users/${u1}`);
    assert.deepEqual(res.json.groups.map((g) => [g.value, g.display, g.type]), [[group.id, 'Engineering', 'direct']]);
    assert.equal(res.json.groups[0].$ref, srv.url(`/scim/v2/Groups/${group.id}`));

    // Catalog apps: rename, remove and add in one PATCH.
    res = await scim('PATCH', `/Groups/${group.id}`, {
      schemas: [PATCH_URN],
      Operations: [
        { op: 'replace', value: { id: group.id, displayName: 'Engineering Team' } },
        { op: 'remove', path: `members[value eq "${u1}"]` },
        { op: 'add', path: 'members', value: [{ value: u3, display: 'g3.member@example.com' }] },
      ],
    });
    assert.equal(res.status, 204, res.text);
    assert.equal(res.text, '');
    assert.match(res.headers.get('etag'), /^W\/"\d+"$/);

    res = await scim('GET', `/Groups/${group.id}`);
    assert.equal(res.json.displayName, 'Engineering Team');
    assert.deepEqual(res.json.members.map((m) => m.value).sort(), [u2, u3].sort());
    res = await scim('GET', `/Groups?${filterQuery('displayName eq "engineering team"')}`);
    assert.equal(res.json.totalResults, 1);
    res = await scim('GET', `/Groups?${filterQuery('displayName eq "Engineering"')}`);
    assert.equal(res.json.totalResults, 0);
    res = await scim('GET', `/Users/${u1}`);
    assert.deepEqual(res.json.groups, []);

    // A PATCH that names attributes to return gets 200 with them.
    res = await scim('PATCH', `/Groups/${group.id}?excludedAttributes=members`, {
      schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'members', value: [{ value: u1 }] }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.members, undefined);
    assert.equal(res.json.displayName, 'Engineering Team');

    // excludedAttributes=members on GET and on a list.
    res = await scim('GET', `/Groups/${group.id}?excludedAttributes=members`);
    assert.equal(res.status, 200);
    assert.equal(res.json.members, undefined);
    assert.equal(res.json.id, group.id);
    res = await scim('GET', `/Groups?excludedAttributes=members&${filterQuery('displayName eq "Engineering Team"')}`);
    assert.equal(res.json.Resources[0].members, undefined);

    // Delete the pushed group.
    res = await scim('DELETE', `/Groups/${group.id}`);
    assert.equal(res.status, 204);
    res = await scim('GET', `/Groups/${group.id}`);
    assert.equal(res.status, 404);
    assert.equal(res.json.status, '404');
    res = await scim('GET', `/Users/${u2}`);
    assert.deepEqual(res.json.groups, []);
  });
});
