// A store whose map is full: writes get 503 in SCIM's error format, nothing
// half-written stays, and the log does not grow by one line per rejected
// request. Whether a delete still fits in the map depends on how full the
// last commit left it, so this test does not rely on one.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

test('a full store rejects writes with 503 and logs them sparingly', { timeout: 120000 }, async () => {
  const srv = await startIdgate({ config: { store: { map_size: '1M' } } });
  try {
    const acc = await srv.createAccount('Full');
    const key = await srv.createScimKey(acc.id);
    const post = async (userName) => {
      const res = await srv.fetch('/scim/v2/Users', {
        method: 'POST',
        headers: { Authorization: `Bearer ${key.token}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [USER_URN], userName, displayName: 'd'.repeat(6000) }),
      });
      return { status: res.status, body: await res.json() };
    };
    const statuses = {};
    const created = [];
    let rejected = 0;
    await Promise.all(Array.from({ length: 8 }, async (_, worker) => {
      for (let i = 0; i < 25; i++) {
        const res = await post(`full-${worker}-${i}@example.com`);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 201) {
          created.push(res.body.id);
        } else {
          assert.equal(res.status, 503, JSON.stringify(res.body));
          assert.match(res.body.detail, /full/);
          rejected++;
        }
      }
    }));
    assert.ok(created.length > 0, JSON.stringify(statuses));
    assert.ok(rejected > 10, `only ${rejected} writes were rejected: ${JSON.stringify(statuses)}`);

    const auth = { Authorization: `Bearer ${key.token}` };
    const list = await (await srv.fetch('/scim/v2/Users?count=0', { headers: auth })).json();
    assert.equal(list.totalResults, created.length, 'a rejected write left a user behind');

    const lines = srv.logs().split('\n').filter((line) => line.includes('scim store operation failed'));
    assert.ok(lines.length >= 1, 'the full store was not logged');
    assert.ok(lines.length < rejected, `${lines.length} log lines for ${rejected} rejected writes`);

    assert.equal(await srv.stop(), 0);
  } catch (err) {
    console.error(srv.logs());
    throw err;
  } finally {
    await srv.cleanup();
  }
});
