// SCIM 2.0 protocol behaviour of /scim/v2 against the real binary:
// authentication, account isolation, paging, errors, concurrency,
// membership integrity, preconditions, sorting and discovery.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

function scimClient(srv, token) {
  return async (method, path, body, headers = {}) => {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
        h['Content-Type'] = 'application/scim+json';
      }
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(srv.url(`/scim/v2${path}`), { method, headers: h, body: payload });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, json, text };
  };
}

function assertScimError(res, status, scimType) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type'), /^application\/scim\+json/);
  assert.deepEqual(res.json.schemas, [ERROR_URN]);
  assert.equal(res.json.status, String(status));
  if (scimType) assert.equal(res.json.scimType, scimType);
  assert.equal(typeof res.json.detail, 'string');
}

const user = (userName, extra = {}) => ({ schemas: [USER_URN], userName, active: true, ...extra });
const group = (displayName, members = []) => ({ schemas: [GROUP_URN], displayName, members });
const q = (f) => encodeURIComponent(f);

describe('SCIM protocol', () => {
  let srv;
  let scim;
  let other;
  let anon;
  let token;

  before(async () => {
    srv = await startIdgate({
      config: { server: { max_body: '16K' }, scim: { max_page_size: 5, default_page_size: 4 } },
    });
    const acc = await srv.createAccount('Acme');
    const key = await srv.createScimKey(acc.id);
    token = key.token;
    scim = scimClient(srv, token);
    const acc2 = await srv.createAccount('Globex');
    other = scimClient(srv, (await srv.createScimKey(acc2.id)).token);
    anon = scimClient(srv, null);
  });

  after(async () => {
    await srv?.stop();
    await srv?.cleanup();
  });

  test('missing bearer key gets 401 challenge', async () => {
    const res = await anon('GET', '/Users');
    assertScimError(res, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="idgate"');
  });

  test('wrong bearer key gets invalid_token', async () => {
    for (const bad of ['scim_wrong', `${token}x`, token.slice(0, -1)]) {
      const res = await scimClient(srv, bad)('GET', '/Users?startIndex=1&count=2');
      assertScimError(res, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="idgate", error="invalid_token"');
    }
    const basic = await fetch(srv.url('/scim/v2/Users'), { headers: { Authorization: 'Basic Zm9vOmJhcg==' } });
    assert.equal(basic.status, 401);
    assert.equal((await basic.json()).status, '401');
  });

  test('accounts cannot see each other', async () => {
    let res = await scim('POST', '/Users', user('isolated@example.com', { externalId: 'iso-1' }));
    assert.equal(res.status, 201);
    const id = res.json.id;
    res = await scim('POST', '/Groups', group('Isolated', [{ value: id }]));
    assert.equal(res.status, 201);
    const gid = res.json.id;

    assertScimError(await other('GET', `/Users/${id}`), 404);
    assertScimError(await other('GET', `/Groups/${gid}`), 404);
    res = await other('GET', '/Users');
    assert.equal(res.json.totalResults, 0);
    res = await other('GET', `/Users?filter=${q('userName eq "isolated@example.com"')}`);
    assert.equal(res.json.totalResults, 0);
    res = await other('GET', `/Users?filter=${q(`id eq "${id}"`)}`);
    assert.equal(res.json.totalResults, 0);
    res = await other('GET', `/Users?filter=${q('externalId eq "iso-1"')}`);
    assert.equal(res.json.totalResults, 0);
    res = await other('GET', `/Groups?filter=${q('displayName eq "Isolated"')}`);
    assert.equal(res.json.totalResults, 0);
    const patch = { schemas: [PATCH_URN], Operations: [{ op: 'replace', value: { active: false } }] };
    assertScimError(await other('PATCH', `/Users/${id}`, patch), 404);
    assertScimError(await other('PUT', `/Users/${id}`, user('stolen@example.com')), 404);
    assertScimError(await other('DELETE', `/Users/${id}`), 404);
    assertScimError(await other('DELETE', `/Groups/${gid}`), 404);
    // Another account's user cannot be made a member.
    assertScimError(await other('POST', '/Groups', group('Grab', [{ value: id }])), 400, 'invalidValue');
    // The same userName is free in the other account.
    res = await other('POST', '/Users', user('isolated@example.com'));
    assert.equal(res.status, 201);

    res = await scim('GET', `/Users/${id}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.active, true);
    assert.equal(res.json.groups.length, 1);
  });

  test('paging edges and stable order', async () => {
    const acc = await srv.createAccount('Pages');
    const pages = scimClient(srv, (await srv.createScimKey(acc.id)).token);
    const ids = [];
    for (let i = 0; i < 7; i++) {
      // meta.created counts milliseconds and ties sort in id order, so the
      // last user is created in a later millisecond to be the newest alone.
      if (i === 6) await new Promise((resolve) => setTimeout(resolve, 5));
      const res = await pages('POST', '/Users', user(`page${i}@example.com`));
      assert.equal(res.status, 201);
      ids.push(res.json.id);
    }
    const sorted = [...ids].sort();
    const list = async (query) => (await pages('GET', `/Users?${query}`)).json;

    let r = await list('startIndex=0&count=2');
    assert.equal(r.startIndex, 1);
    assert.deepEqual(r.Resources.map((u) => u.id), sorted.slice(0, 2));
    r = await list('startIndex=-1&count=2');
    assert.equal(r.startIndex, 1);
    assert.equal(r.itemsPerPage, 2);
    r = await list('startIndex=8&count=2');
    assert.equal(r.totalResults, 7);
    assert.equal(r.itemsPerPage, 0);
    assert.deepEqual(r.Resources, []);
    r = await list('startIndex=7&count=2');
    assert.deepEqual(r.Resources.map((u) => u.id), [sorted[6]]);
    r = await list('count=0');
    assert.equal(r.totalResults, 7);
    assert.equal(r.itemsPerPage, 0);
    assert.deepEqual(r.Resources, []);
    r = await list('count=-5');
    assert.equal(r.itemsPerPage, 0);
    assert.equal(r.totalResults, 7);
    r = await list('count=1000000');
    assert.equal(r.itemsPerPage, 5, 'capped at max_page_size');
    r = await list('');
    assert.equal(r.itemsPerPage, 4, 'default_page_size');
    assert.equal(typeof r.totalResults, 'number');
    assert.equal(typeof r.startIndex, 'number');

    const seen = [];
    for (let start = 1; start <= 7; start += 3) {
      r = await list(`startIndex=${start}&count=3`);
      assert.equal(r.totalResults, 7);
      seen.push(...r.Resources.map((u) => u.id));
    }
    assert.deepEqual(seen, sorted);

    r = await list(`filter=${q('userName sw "page"')}&startIndex=2&count=2`);
    assert.equal(r.totalResults, 7);
    assert.deepEqual(r.Resources.map((u) => u.id), sorted.slice(1, 3));

    r = await list(`sortBy=userName&sortOrder=descending&count=3`);
    assert.deepEqual(r.Resources.map((u) => u.userName), ['page6@example.com', 'page5@example.com', 'page4@example.com']);
    r = await list(`sortBy=userName&startIndex=3&count=2`);
    assert.deepEqual(r.Resources.map((u) => u.userName), ['page2@example.com', 'page3@example.com']);
    r = await list(`sortBy=meta.created&sortOrder=descending&count=1`);
    assert.equal(r.Resources[0].id, sorted[6]);
    assertScimError(await pages('GET', '/Users?sortBy=noSuchAttribute'), 400, 'invalidValue');
    assertScimError(await pages('GET', '/Users?sortOrder=sideways'), 400, 'invalidValue');
    assertScimError(await pages('GET', '/Users?startIndex=abc'), 400, 'invalidValue');
  });

  test('concurrent duplicate creates yield one 201', async () => {
    const names = Array.from({ length: 20 }, (_, i) => {
      const base = 'race.condition@example.com';
      return [...base].map((c, j) => ((i >> (j % 5)) & 1 ? c.toUpperCase() : c)).join('');
    });
    const results = await Promise.all(names.map((n) => scim('POST', '/Users', user(n))));
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 409).length, 19);
    for (const r of results.filter((x) => x.status === 409)) assert.equal(r.json.scimType, 'uniqueness');
    const list = await scim('GET', `/Users?filter=${q('userName eq "RACE.CONDITION@example.com"')}`);
    assert.equal(list.json.totalResults, 1);
  });

  test('unknown path and wrong method are SCIM errors', async () => {
    assertScimError(await scim('GET', '/UsersX'), 404);
    assert.equal((await scim('GET', '/users?count=1')).status, 200, 'lower-case alias');
    assert.equal((await scim('GET', '/groups?count=1')).status, 200, 'lower-case alias');
    assertScimError(await scim('GET', '/Users/not-a-real-id'), 404);
    assertScimError(await scim('GET', '/Users/0191a000-0000-7000-8000-000000000000'), 404);
    const res = await scim('DELETE', '/Users');
    assertScimError(res, 405);
    assert.match(res.headers.get('allow'), /GET/);
    assert.match(res.headers.get('allow'), /POST/);
    assertScimError(await scim('POST', '/Users/0191a000-0000-7000-8000-000000000000', user('x@example.com')), 405);
  });

  test('malformed JSON, media type and body size', async () => {
    let res = await scim('POST', '/Users', '{"userName": "broken@example.com",');
    assertScimError(res, 400, 'invalidSyntax');
    assert.ok(res.json.detail.length > 20);
    res = await scim('POST', '/Users', '["not an object"]');
    assertScimError(res, 400, 'invalidSyntax');
    res = await scim('POST', '/Users', user('plain@example.com'), { 'Content-Type': 'text/plain' });
    assertScimError(res, 415);
    res = await scim('POST', '/Users', user('json@example.com'), { 'Content-Type': 'application/json; charset=utf-8' });
    assert.equal(res.status, 201);
    res = await scim('POST', '/Users', user('big@example.com', { nickName: 'x'.repeat(40000) }));
    assertScimError(res, 413);
    res = await scim('POST', '/Users', { schemas: [USER_URN], name: { givenName: 'No' } });
    assertScimError(res, 400);
    assert.match(res.json.detail, /userName/);
  });

  test('unknown member is rejected and nothing changes', async () => {
    let res = await scim('POST', '/Users', user('member.one@example.com'));
    const u1 = res.json.id;
    const ghost = '0191a000-0000-7000-8000-0000000000aa';

    res = await scim('POST', '/Groups', group('Ghosts', [{ value: u1 }, { value: ghost }]));
    assertScimError(res, 400, 'invalidValue');
    assert.match(res.json.detail, new RegExp(ghost));
    res = await scim('GET', `/Groups?filter=${q('displayName eq "Ghosts"')}`);
    assert.equal(res.json.totalResults, 0);
    res = await scim('GET', `/Users/${u1}`);
    assert.deepEqual(res.json.groups, []);

    res = await scim('POST', '/Groups', group('Real'));
    const gid = res.json.id;
    res = await scim('PATCH', `/Groups/${gid}`, {
      schemas: [PATCH_URN],
      Operations: [
        { op: 'replace', value: { displayName: 'Real Renamed' } },
        { op: 'add', path: 'members', value: [{ value: u1 }, { value: ghost }] },
      ],
    });
    assertScimError(res, 400, 'invalidValue');
    assert.match(res.json.detail, new RegExp(ghost));
    res = await scim('GET', `/Groups/${gid}`);
    assert.equal(res.json.displayName, 'Real');
    assert.deepEqual(res.json.members, []);

    res = await scim('PUT', `/Groups/${gid}`, group('Real', [{ value: ghost }]));
    assertScimError(res, 400, 'invalidValue');
  });

  test('deleting a user removes its memberships', async () => {
    let res = await scim('POST', '/Users', user('leaver@example.com'));
    const leaver = res.json.id;
    res = await scim('POST', '/Users', user('stayer@example.com'));
    const stayer = res.json.id;
    res = await scim('POST', '/Groups', group('Leavers', [{ value: leaver }, { value: stayer }]));
    const gid = res.json.id;

    res = await scim('DELETE', `/Users/${leaver}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assertScimError(await scim('GET', `/Users/${leaver}`), 404);
    assertScimError(await scim('DELETE', `/Users/${leaver}`), 404);
    res = await scim('GET', `/Groups/${gid}`);
    assert.deepEqual(res.json.members.map((m) => m.value), [stayer]);
    res = await scim('GET', `/Groups?filter=${q(`id eq "${gid}" and members[value eq "${leaver}"]`)}&excludedAttributes=members`);
    assert.equal(res.json.totalResults, 0);
    res = await scim('POST', '/Users', user('leaver@example.com'));
    assert.equal(res.status, 201, 'userName is free again');
  });

  test('If-Match and If-None-Match', async () => {
    let res = await scim('POST', '/Users', user('etag@example.com'));
    const id = res.json.id;
    const v1 = res.headers.get('etag');

    res = await scim('GET', `/Users/${id}`, undefined, { 'If-None-Match': v1 });
    assert.equal(res.status, 304);
    res = await scim('GET', `/Users/${id}`, undefined, { 'If-None-Match': 'W/"999"' });
    assert.equal(res.status, 200);
    res = await scim('PUT', `/Users/${id}`, user('etag@example.com', { nickName: 'a' }), { 'If-Match': 'W/"999"' });
    assertScimError(res, 412);
    res = await scim('PUT', `/Users/${id}`, user('etag@example.com', { nickName: 'a' }), { 'If-Match': v1 });
    assert.equal(res.status, 200);
    const v2 = res.headers.get('etag');
    assert.notEqual(v2, v1);
    const patch = { schemas: [PATCH_URN], Operations: [{ op: 'replace', path: 'nickName', value: 'b' }] };
    assertScimError(await scim('PATCH', `/Users/${id}`, patch, { 'If-Match': v1 }), 412);
    res = await scim('PATCH', `/Users/${id}`, patch, { 'If-Match': v2 });
    assert.equal(res.status, 200);
    assertScimError(await scim('PATCH', `/Users/${id}`, patch, { 'If-None-Match': '*' }), 412);
    assertScimError(await scim('GET', `/Users/${id}`, undefined, { 'If-Match': v1 }), 412);
    assertScimError(await scim('DELETE', `/Users/${id}`, undefined, { 'If-Match': v2 }), 412);
    assert.equal((await scim('DELETE', `/Users/${id}`, undefined, { 'If-Match': '*' })).status, 204);
  });

  test('filters use indexes and the full expression', async () => {
    let res = await scim('POST', '/Users', user('filter.me@example.com', {
      externalId: 'EXT-42', emails: [{ value: 'Filter.Me@Example.com', type: 'work' }], title: 'Engineer',
    }));
    const id = res.json.id;
    const find = async (f) => (await scim('GET', `/Users?filter=${q(f)}`)).json;

    assert.equal((await find('externalId eq "EXT-42"')).totalResults, 1);
    assert.equal((await find('externalId eq "ext-42"')).totalResults, 0, 'externalId is caseExact');
    assert.equal((await find('emails.value eq "filter.me@EXAMPLE.com"')).totalResults, 1);
    assert.equal((await find('emails eq "filter.me@example.com"')).totalResults, 1);
    assert.equal((await find(`emails[type eq "work" and value eq "filter.me@example.com"]`)).totalResults, 1);
    assert.equal((await find('userName eq "FILTER.ME@example.com" and title eq "Engineer"')).totalResults, 1);
    assert.equal((await find('userName eq "filter.me@example.com" and title eq "Manager"')).totalResults, 0);
    assert.equal((await find(`id eq "${id}"`)).Resources[0].userName, 'filter.me@example.com');
    assert.equal((await find('title eq "Engineer" or userName eq "nobody"')).totalResults, 1);
    assertScimError(await scim('GET', `/Users?filter=${q('userName eq')}`), 400, 'invalidFilter');

    res = await scim('GET', `/Users?filter=${q(`id eq "${id}"`)}&attributes=userName`);
    const only = res.json.Resources[0];
    assert.equal(only.userName, 'filter.me@example.com');
    assert.equal(only.id, id);
    assert.equal(only.title, undefined);
    assert.equal(only.groups, undefined);
  });

  test('search requests by POST', async () => {
    await scim('POST', '/Users', user('searched@example.com'));
    const res = await scim('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName eq "SEARCHED@example.com"',
      attributes: ['userName'],
      startIndex: 1,
      count: 10,
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.totalResults, 1);
    assert.equal(res.json.Resources[0].userName, 'searched@example.com');
    assert.equal(res.json.Resources[0].active, undefined);

    const groups = await scim('POST', '/Groups/.search', { filter: 'displayName eq "nothing here"' });
    assert.equal(groups.status, 200);
    assert.equal(groups.json.totalResults, 0);
    assertScimError(await scim('POST', '/Users/.search', { count: 'ten' }), 400, 'invalidValue');
  });

  test('discovery endpoints', async () => {
    let res = await scim('GET', '/ServiceProviderConfig');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/scim\+json/);
    assert.equal(res.json.patch.supported, true);
    assert.equal(res.json.filter.supported, true);
    res = await scim('GET', '/ResourceTypes');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.Resources.map((r) => r.id).sort(), ['Group', 'User']);
    res = await scim('GET', '/ResourceTypes/User');
    assert.equal(res.json.endpoint, '/Users');
    res = await scim('GET', '/Schemas');
    assert.ok(res.json.Resources.some((s) => s.id === USER_URN));
    res = await scim('GET', `/Schemas/${USER_URN}`);
    assert.equal(res.status, 200);
    assert.equal(res.json.id, USER_URN);
    assertScimError(await scim('GET', '/Schemas/urn:nothing'), 404);
    assertScimError(await anon('GET', '/ServiceProviderConfig'), 401);
  });
});

// List replies without a projection or sortBy are written from the stored
// texts, with the location and the groups or members spliced in. The same
// request with sortBy=id is rendered from parsed trees and, since id order
// is also the order of unsorted lists, must give the same bytes.
describe('SCIM list replies spliced from stored text', () => {
  const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
  let srv;
  let scim;
  const users = {};
  const groups = {};

  const create = async (path, body) => {
    const res = await scim('POST', path, body);
    assert.equal(res.status, 201, res.text);
    return res.json;
  };

  before(async () => {
    srv = await startIdgate({ config: { scim: { max_page_size: 200, default_page_size: 100 } } });
    const acc = await srv.createAccount('Splice');
    scim = scimClient(srv, (await srv.createScimKey(acc.id)).token);

    users.plain = await create('/Users', user('plain@example.com'));
    users.unicode = await create('/Users', user('zoë.ünïcødé@例え.jp', {
      displayName: '日本語 😀 Ærøskøbing',
      name: { givenName: 'Zoë', familyName: 'Ünïcødé', formatted: 'Zoë Ünïcødé' },
      externalId: 'ext-ünï',
    }));
    users.escapes = await create('/Users', user('quote"back\\slash@example.com', {
      displayName: 'Tab\tNew\nLine "q" \\ / </script> \u0001 \u001f \u007f \u2028 end',
      title: '{"meta":{"resourceType":"User"}}',
      nickName: '\\"}}',
      emails: [
        { value: 'Esc.Apes@Example.com', type: 'work', primary: true },
        { value: 'home@example.com', type: 'home' },
      ],
      phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
      [ENTERPRISE_URN]: { employeeNumber: '42', department: 'R&D "Labs"' },
      schemas: [USER_URN, ENTERPRISE_URN],
    }));
    users.inactive = await create('/Users', user('inactive@example.com', { active: false }));
    users.long = await create('/Users', user('long@example.com', { displayName: `${'L'.repeat(300)}ü` }));
    users.managed = await create('/Users', user('managed@example.com', {
      title: '"displayName":"not this"',
      [ENTERPRISE_URN]: { manager: { value: users.plain.id, displayName: 'Nor this' } },
      schemas: [USER_URN, ENTERPRISE_URN],
    }));
    const bulk = await Promise.all(Array.from({ length: 60 }, (_, i) =>
      create('/Users', user(`member${i}@example.com`))));

    groups.engineering = await create('/Groups', group('Engineering', [
      { value: users.unicode.id }, { value: users.escapes.id }, { value: users.plain.id },
      { value: users.long.id }, { value: users.managed.id },
    ]));
    groups.quoted = await create('/Groups', group('Ünïcødé "Group" \\ 😀', [{ value: users.escapes.id }]));
    groups.empty = await create('/Groups', group('Empty'));
    groups.big = await create('/Groups', group('Big', bulk.map((u) => ({ value: u.id }))));
  });

  after(async () => {
    await srv?.stop();
    await srv?.cleanup();
  });

  // Requests `path` by GET and with sortBy=id, and by POST .search with and
  // without sortBy, and checks that all four replies are the same bytes.
  async function assertSameAsTree(endpoint, params = {}) {
    const query = new URLSearchParams(params).toString();
    const spliced = await scim('GET', `${endpoint}?${query}`);
    assert.equal(spliced.status, 200, spliced.text);
    assert.ok(spliced.json, `invalid JSON: ${spliced.text}`);
    const tree = await scim('GET', `${endpoint}?${query}${query ? '&' : ''}sortBy=id`);
    assert.equal(tree.status, 200, tree.text);
    assert.equal(spliced.text, tree.text, `GET ${endpoint}?${query}`);

    const search = { ...params };
    for (const k of ['startIndex', 'count']) if (k in search) search[k] = Number(search[k]);
    const post = await scim('POST', `${endpoint}/.search`, search);
    assert.equal(post.status, 200, post.text);
    assert.equal(post.text, tree.text, `POST ${endpoint}/.search ${JSON.stringify(search)}`);
    const postTree = await scim('POST', `${endpoint}/.search`, { ...search, sortBy: 'id' });
    assert.equal(postTree.text, tree.text);
    return spliced.json;
  }

  test('user pages match the tree rendering', async () => {
    const all = await assertSameAsTree('/Users', { count: '200' });
    assert.equal(all.totalResults, 66);
    assert.equal(all.itemsPerPage, 66);
    await assertSameAsTree('/Users');
    await assertSameAsTree('/Users', { startIndex: '2', count: '3' });
    await assertSameAsTree('/Users', { startIndex: '66', count: '5' });
    await assertSameAsTree('/Users', { startIndex: '67', count: '5' });
    await assertSameAsTree('/Users', { count: '0' });
  });

  test('user filters match the tree rendering', async () => {
    const filters = [
      'userName eq "ZOË.ünïcødé@例え.jp"',
      'userName eq "Quote\\"Back\\\\Slash@example.com"',
      'userName eq "nobody@example.com"',
      `id eq "${users.escapes.id}"`,
      `id eq "${users.escapes.id.toUpperCase()}"`,
      'externalId eq "ext-ünï"',
      'externalId eq "EXT-ÜNÏ"',
      'emails.value eq "esc.apes@example.com"',
      'displayName co "😀"',
      `groups.value eq "${groups.engineering.id}"`,
      `groups eq "${groups.quoted.id}"`,
      'userName eq "plain@example.com" and active eq true',
      'userName eq "inactive@example.com" and active eq true',
      'active eq false or userName sw "member1"',
      `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "plain@example.com"`,
    ];
    for (const filter of filters) await assertSameAsTree('/Users', { filter });
    const found = await assertSameAsTree('/Users', { filter: 'userName sw "member"', startIndex: '5', count: '7' });
    assert.equal(found.totalResults, 60);
    assert.equal(found.itemsPerPage, 7);
  });

  test('spliced users carry groups, location and escapes', async () => {
    const { json } = await scim('GET', `/Users?filter=${q(`id eq "${users.escapes.id}"`)}`);
    const got = json.Resources[0];
    assert.equal(got.displayName, 'Tab\tNew\nLine "q" \\ / </script> \u0001 \u001f \u007f \u2028 end');
    assert.equal(got.nickName, '\\"}}');
    assert.equal(got[ENTERPRISE_URN].department, 'R&D "Labs"');
    assert.equal(got.meta.location, srv.url(`/scim/v2/Users/${users.escapes.id}`));
    assert.deepEqual(got.groups.map((g) => g.value).sort(),
      [groups.engineering.id, groups.quoted.id].sort());
    const single = await scim('GET', `/Users/${users.escapes.id}`);
    assert.deepEqual(got, single.json);

    const plain = (await scim('GET', `/Users?filter=${q('userName eq "inactive@example.com"')}`)).json;
    assert.deepEqual(plain.Resources[0].groups, []);
  });

  test('group lists match the tree rendering', async () => {
    const all = await assertSameAsTree('/Groups');
    assert.equal(all.totalResults, 4);
    const big = all.Resources.find((g) => g.id === groups.big.id);
    assert.equal(big.members.length, 60);
    assert.equal(big.meta.location, srv.url(`/scim/v2/Groups/${groups.big.id}`));
    assert.deepEqual(all.Resources.find((g) => g.id === groups.empty.id).members, []);
    const displays = new Map(all.Resources.find((g) => g.id === groups.engineering.id).members
      .map((m) => [m.value, m.display]));
    assert.equal(displays.get(users.plain.id), 'plain@example.com');
    assert.equal(displays.get(users.unicode.id), '日本語 😀 Ærøskøbing');
    assert.equal(displays.get(users.escapes.id), users.escapes.displayName);
    assert.equal(displays.get(users.long.id), `${'L'.repeat(300)}ü`);
    assert.equal(displays.get(users.managed.id), 'managed@example.com');
    const filters = [
      'displayName eq "ünïcødé \\"group\\" \\\\ 😀"',
      'displayName eq "big"',
      `id eq "${groups.engineering.id}"`,
      `members.value eq "${users.escapes.id}"`,
      'displayName co "i"',
      'displayName eq "Empty" or displayName eq "Engineering"',
    ];
    for (const filter of filters) await assertSameAsTree('/Groups', { filter });
    await assertSameAsTree('/Groups', { startIndex: '2', count: '2' });
    for (const g of all.Resources) {
      assert.deepEqual(g, (await scim('GET', `/Groups/${g.id}`)).json, g.displayName);
    }
  });
});
