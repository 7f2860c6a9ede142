// Failing writes inside busy batches. With many requests in flight the
// writer commits them in batches, and a write that its job rejects must roll
// back alone. Some jobs reject before writing anything (a 409 for a taken
// userName, a 412 for a stale If-Match). Others reject after writing (a 400
// for a group whose member does not exist, found after the group is put). Every 201 must
// be readable, every rejected write must leave nothing behind, and both must
// hold again after the server is killed with SIGKILL and restarted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIdgate } from './lib/idgate.mjs';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const UNKNOWN_USER = '00000000-0000-7000-8000-000000000000';
const CONCURRENCY = 48;
const REQUESTS = 600;

function scimClient(baseUrl, token) {
    return async (method, path, body, headers = {}) => {
        const res = await fetch(`${baseUrl}/scim/v2${path}`, {
            method,
            headers: {
                authorization: `Bearer ${token}`,
                'content-type': 'application/scim+json',
                accept: 'application/scim+json',
                ...headers,
            },
            body: body ? JSON.stringify(body) : undefined,
            signal: AbortSignal.timeout(15000),
        });
        const text = await res.text();
        let parsed = text || null;
        try {
            parsed = JSON.parse(text);
        } catch { /* not JSON: keep the text for error messages */ }
        return { status: res.status, body: parsed };
    };
}

function userBody(userName, externalId) {
    return {
        schemas: [USER_SCHEMA],
        userName,
        externalId,
        active: true,
        name: { givenName: 'Batch', familyName: externalId },
        emails: [{ value: userName, type: 'work', primary: true }],
    };
}

// Plans request i of the mix. Every seventh one is a PATCH with a stale
// If-Match on the first user, and every fifth one a group with an unknown
// member. Every third one reuses the userName of an earlier request, which
// conflicts once that one has committed. The rest are new users.
function planRequest(i) {
    if (i % 7 === 6)
        return { kind: 'stale-patch', externalId: `stale-${i}` };
    if (i % 5 === 4)
        return { kind: 'bad-group', displayName: `bad-group-${i}` };
    if (i % 3 === 2)
        return { kind: 'duplicate', userName: `batch-${i - 2}@example.com`, externalId: `dup-${i}` };
    return { kind: 'create', userName: `batch-${i}@example.com`, externalId: `new-${i}` };
}

async function runMix(scim, firstUser) {
    const created = new Map(); // userName -> id
    const rejected = []; // externalIds of writes that must have left nothing
    const rejectedGroups = []; // displayNames of groups that must not exist
    const unexpected = [];
    let next = 0;
    const worker = async () => {
        while (next < REQUESTS) {
            const plan = planRequest(next++);
            if (plan.kind === 'stale-patch') {
                const res = await scim('PATCH', `/Users/${firstUser.id}`, {
                    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
                    Operations: [{ op: 'replace', path: 'externalId', value: plan.externalId }],
                }, { 'if-match': 'W/"999999"' });
                if (res.status === 412)
                    rejected.push(plan.externalId);
                else
                    unexpected.push(`PATCH ${res.status} ${JSON.stringify(res.body)}`);
                continue;
            }
            if (plan.kind === 'bad-group') {
                const res = await scim('POST', '/Groups', {
                    schemas: [GROUP_SCHEMA],
                    displayName: plan.displayName,
                    members: [{ value: UNKNOWN_USER }],
                });
                if (res.status === 400)
                    rejectedGroups.push(plan.displayName);
                else
                    unexpected.push(`POST /Groups ${res.status} ${JSON.stringify(res.body)}`);
                continue;
            }
            const res = await scim('POST', '/Users', userBody(plan.userName, plan.externalId));
            if (res.status === 201) {
                assert.ok(!created.has(plan.userName), `${plan.userName} was created twice`);
                created.set(plan.userName, res.body.id);
            } else if (res.status === 409) {
                rejected.push(plan.externalId);
            } else {
                unexpected.push(`POST ${res.status} ${JSON.stringify(res.body)}`);
            }
        }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(unexpected, []);
    return { created, rejected, rejectedGroups };
}

async function verify(scim, firstUser, { created, rejected, rejectedGroups }) {
    for (const [userName, id] of created) {
        const res = await scim('GET', `/Users/${id}`);
        assert.equal(res.status, 200, `user ${id} (${userName}) is missing`);
        assert.equal(res.body.userName, userName);
    }
    for (const externalId of rejected) {
        const filter = encodeURIComponent(`externalId eq "${externalId}"`);
        const res = await scim('GET', `/Users?filter=${filter}`);
        assert.equal(res.status, 200);
        assert.equal(res.body.totalResults, 0, `rejected write ${externalId} left a user behind`);
    }
    const groups = await scim('GET', '/Groups?startIndex=1&count=1');
    assert.equal(groups.status, 200);
    assert.equal(groups.body.totalResults, 0, `${groups.body.totalResults} rejected groups exist`);
    for (const displayName of rejectedGroups) {
        const filter = encodeURIComponent(`displayName eq "${displayName}"`);
        const res = await scim('GET', `/Groups?filter=${filter}`);
        assert.equal(res.status, 200);
        assert.equal(res.body.totalResults, 0, `rejected group ${displayName} exists`);
    }
    const first = await scim('GET', `/Users/${firstUser.id}`);
    assert.equal(first.status, 200);
    assert.equal(first.body.externalId, firstUser.externalId, 'a stale PATCH changed the user');
    const list = await scim('GET', '/Users?startIndex=1&count=1');
    assert.equal(list.status, 200);
    assert.equal(list.body.totalResults, created.size + 1);
}

test('failing writes in busy batches roll back alone', { timeout: 180000 }, async (t) => {
    const srv = await startIdgate({});
    try {
        const acc = await srv.createAccount('Batch Test');
        const key = await srv.createScimKey(acc.id);
        let scim = scimClient(srv.baseUrl, key.token);
        const first = await scim('POST', '/Users', userBody('first@example.com', 'first'));
        assert.equal(first.status, 201);
        const firstUser = { id: first.body.id, externalId: 'first' };

        const outcome = await runMix(scim, firstUser);
        t.diagnostic(`${outcome.created.size} users created, ${outcome.rejected.length} user ` +
            `writes and ${outcome.rejectedGroups.length} groups rejected`);
        assert.ok(outcome.created.size > 0);
        assert.ok(outcome.rejected.length > 0);
        assert.ok(outcome.rejectedGroups.length > 0);
        // SCIM writes run without nested transactions, and a group rejected
        // after it was written makes the writer run its batch again.
        const metrics = await (await srv.fetch('/metrics')).text();
        const counter = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1]);
        assert.ok(counter('idgate_store_flat_batches_total') > 0, 'no batch ran flat');
        assert.ok(counter('idgate_store_reruns_total') > 0, 'no batch was run again');
        await verify(scim, firstUser, outcome);

        await srv.kill9();
        await srv.restart();
        scim = scimClient(srv.baseUrl, key.token);
        await verify(scim, firstUser, outcome);
        assert.equal(await srv.stop(), 0);
    } catch (err) {
        console.error(srv.logs());
        throw err;
    } finally {
        await srv.cleanup();
    }
});
