// Helpers shared by the admin integration tests: an admin API client and
// SCIM provisioning calls, on top of the core test helper.
import assert from 'node:assert/strict';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

// Creates an admin token through the command line; `account` scopes it.
export async function adminToken(srv, account) {
  const args = ['admin-token', 'create'];
  if (account) args.push('--account', account);
  const out = await srv.cliJson(args);
  assert.match(out.token, /^idga_/);
  return out.token;
}

// Calls the admin API. Resolves to { status, body, headers }.
export async function adminCall(srv, token, method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await srv.fetch(`/admin/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function adminClient(srv, token) {
  return (method, path, body) => adminCall(srv, token, method, path, body);
}

export async function scimCall(srv, key, method, path, body) {
  const res = await srv.fetch(`/scim/v2${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      'Content-Type': 'application/scim+json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: res.status, body: parsed };
}

export async function scimUser(srv, key, userName, extra = {}) {
  const res = await scimCall(srv, key, 'POST', '/Users', {
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: userName.split('@')[0], familyName: 'Test' },
    emails: [{ value: userName, type: 'work', primary: true }],
    displayName: userName.split('@')[0],
    active: true,
    ...extra,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

export async function scimGroup(srv, key, displayName, memberIds = []) {
  const res = await scimCall(srv, key, 'POST', '/Groups', {
    schemas: [GROUP_SCHEMA],
    displayName,
    members: memberIds.map((value) => ({ value })),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

export async function scimPatch(srv, key, path, operations) {
  const res = await scimCall(srv, key, 'PATCH', path, { schemas: [PATCH_SCHEMA], Operations: operations });
  assert.ok(res.status === 200 || res.status === 204, JSON.stringify(res.body));
  return res.body;
}
