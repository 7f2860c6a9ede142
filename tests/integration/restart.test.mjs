// Durability across a crash: every SCIM write that got a 201 response must be
// in the store after the server is killed with SIGKILL and restarted on the
// same store. Requests run concurrently so that the writer commits them in
// batches, and the kill lands while other requests are still in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIdgate } from './lib/idgate.mjs';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const CONCURRENCY = 32;

function scimClient(baseUrl, token) {
    return async (method, path, body) => {
        const res = await fetch(`${baseUrl}/scim/v2${path}`, {
            method,
            headers: {
                authorization: `Bearer ${token}`,
                'content-type': 'application/scim+json',
                accept: 'application/scim+json',
            },
            body: body ? JSON.stringify(body) : undefined,
            signal: AbortSignal.timeout(10000),
        });
        const text = await res.text();
        let parsed = text || null;
        try {
            parsed = JSON.parse(text);
        } catch { /* not JSON: keep the text for error messages */ }
        return { status: res.status, body: parsed };
    };
}

// Sends `makeRequest(i)` for i = 0, 1, ... with CONCURRENCY requests in
// flight, records each 201 through `onCreated`, and calls `stop` as soon as
// `target` requests got a 201 response. Requests cut off by the kill
// fail as expected, and their writes may or may not have persisted.
async function createUntil(target, makeRequest, onCreated, stop) {
    let next = 0;
    let created = 0;
    let stopped = false;
    let lastRejection = 'none';
    let cutOff = 0;
    const maxRequests = target * 2;
    const worker = async () => {
        while (!stopped && next < maxRequests) {
            const i = next++;
            let res;
            try {
                res = await makeRequest(i);
            } catch {
                cutOff++; // connection reset by the kill
                continue;
            }
            if (res.status !== 201) {
                lastRejection = `${res.status} ${JSON.stringify(res.body)}`;
                continue;
            }
            onCreated(i, res.body);
            created++;
            if (created === target && !stopped) {
                stopped = true;
                await stop();
            }
        }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.ok(created >= target,
        `only ${created} of ${target} creates succeeded; last rejection: ${lastRejection}`);
    return { created, cutOff };
}

function userBody(round, i) {
    const userName = `user${round}-${i}@example.com`;
    return {
        schemas: [USER_SCHEMA],
        userName,
        externalId: `ext-${round}-${i}`,
        active: true,
        name: { givenName: 'Test', familyName: `User ${i}` },
        emails: [{ value: userName, type: 'work', primary: true }],
    };
}

async function verifyUsers(scim, users) {
    for (const [id, userName] of users) {
        const res = await scim('GET', `/Users/${id}`);
        assert.equal(res.status, 200, `user ${id} (${userName}) is missing after the restart`);
        assert.equal(res.body.userName, userName);
    }
}

async function verifyGroups(scim, groups) {
    for (const [id, group] of groups) {
        const res = await scim('GET', `/Groups/${id}`);
        assert.equal(res.status, 200, `group ${id} (${group.displayName}) is missing after the restart`);
        assert.equal(res.body.displayName, group.displayName);
        const members = new Set((res.body.members || []).map((m) => m.value));
        for (const userId of group.members)
            assert.ok(members.has(userId), `group ${id} lost member ${userId}`);
    }
}

test('confirmed writes survive SIGKILL', { timeout: 180000 }, async (t) => {
    const srv = await startIdgate({});
    try {
        const acc = await srv.createAccount('Restart Test');
        const key = await srv.createScimKey(acc.id);
        let scim = scimClient(srv.baseUrl, key.token);
        const users = new Map(); // id -> userName
        const groups = new Map(); // id -> { displayName, members }

        // Round 1: users, killed right after the 300th 201.
        const round1 = await createUntil(300, (i) => scim('POST', '/Users', userBody(1, i)),
            (i, body) => users.set(body.id, body.userName), () => srv.kill9());
        t.diagnostic(`users: ${round1.created} confirmed, ${round1.cutOff} cut off by the kill`);
        await srv.restart();
        scim = scimClient(srv.baseUrl, key.token);
        await verifyUsers(scim, users);

        // Round 2: groups with members, killed right after the 40th 201.
        const userIds = [...users.keys()];
        const membersOf = (i) => userIds.slice((i * 5) % userIds.length, (i * 5) % userIds.length + 5);
        const round2 = await createUntil(40, (i) => scim('POST', '/Groups', {
            schemas: [GROUP_SCHEMA],
            displayName: `Group ${i}`,
            members: membersOf(i).map((value) => ({ value })),
        }), (i, body) => groups.set(body.id, { displayName: `Group ${i}`, members: membersOf(i) }),
        () => srv.kill9());
        t.diagnostic(`groups: ${round2.created} confirmed, ${round2.cutOff} cut off by the kill`);
        await srv.restart();
        scim = scimClient(srv.baseUrl, key.token);
        await verifyUsers(scim, users);
        await verifyGroups(scim, groups);

        // The account's user count is at least the confirmed creates.
        const list = await scim('GET', '/Users?startIndex=1&count=1');
        assert.equal(list.status, 200);
        assert.ok(list.body.totalResults >= users.size,
            `totalResults ${list.body.totalResults} < ${users.size} confirmed users`);
        assert.equal(await srv.stop(), 0);
    } catch (err) {
        console.error(srv.logs());
        throw err;
    } finally {
        await srv.cleanup();
    }
});

// A graceful stop under load: SIGTERM lands while creates are in flight.
// The server must exit 0, and every create that got a 201 before or during
// the shutdown must be there after a restart.
test('confirmed writes survive SIGTERM under load', { timeout: 180000 }, async (t) => {
    const srv = await startIdgate({});
    try {
        const acc = await srv.createAccount('Stop Test');
        const key = await srv.createScimKey(acc.id);
        let scim = scimClient(srv.baseUrl, key.token);
        const users = new Map();
        let exitCode;

        const round = await createUntil(200, (i) => scim('POST', '/Users', userBody(3, i)),
            (i, body) => users.set(body.id, body.userName), async () => {
                exitCode = await srv.stop();
            });
        t.diagnostic(`users: ${round.created} confirmed, ${round.cutOff} cut off by the stop`);
        assert.equal(exitCode, 0);
        await srv.restart();
        scim = scimClient(srv.baseUrl, key.token);
        await verifyUsers(scim, users);
        assert.equal(await srv.stop(), 0);
    } catch (err) {
        console.error(srv.logs());
        throw err;
    } finally {
        await srv.cleanup();
    }
});
