// A user's `groups` attribute shows each group's current displayName, read
// from the stored group, so a rename shows on the next GET of the user.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';

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

describe('SCIM user groups attribute', () => {
  let srv;
  let scim;
  before(async () => {
    srv = await startIdgate({});
    const acc = await srv.createAccount('Acme');
    scim = scimClient(srv, (await srv.createScimKey(acc.id)).token);
  });
  after(async () => {
    await srv.stop();
    await srv.cleanup();
  });

  const names = ['Engineering', 'Eng "core" \\ team', 'Équipe ✓', 'Platform'];

  test('group renames show at once', async () => {
    const user = await scim('POST', '/Users', { schemas: [USER_URN], userName: 'ann@example.com' });
    assert.equal(user.status, 201);
    const group = await scim('POST', '/Groups', {
      schemas: [GROUP_URN],
      displayName: names[0],
      members: [{ value: user.body.id }],
    });
    assert.equal(group.status, 201);

    for (const name of names) {
      const renamed = await scim('PATCH', `/Groups/${group.body.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'displayName', value: name }],
      });
      assert.equal(renamed.status, 204);
      const got = await scim('GET', `/Users/${user.body.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.groups.length, 1);
      assert.equal(got.body.groups[0].value, group.body.id);
      assert.equal(got.body.groups[0].display, name);
      const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ann@example.com"')}`);
      assert.equal(found.body.Resources[0].groups[0].display, name);
    }
  });
});
