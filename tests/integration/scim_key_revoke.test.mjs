// A SCIM key revoked while the server runs stops working on the next
// request, although the server caches keys it has verified: by the admin
// API in the same process, or by `idgate scim-key revoke` in another one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startIdgate } from './lib/idgate.mjs';

async function listUsers(srv, token) {
    const res = await fetch(`${srv.baseUrl}/scim/v2/Users?count=1`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json' },
        signal: AbortSignal.timeout(10000),
    });
    await res.text();
    return res.status;
}

test('key revoked by the CLI is rejected at once', async () => {
    const srv = await startIdgate();
    try {
        const acc = await srv.createAccount('Acme');
        const key = await srv.createScimKey(acc.id);
        const other = await srv.createScimKey(acc.id);
        // Several requests, so that the key is served from the cache.
        for (let i = 0; i < 3; i++) {
            assert.equal(await listUsers(srv, key.token), 200);
        }
        assert.equal(await listUsers(srv, other.token), 200);

        const out = await srv.cli(['scim-key', 'revoke', '--account', acc.id, '--key', key.id]);
        assert.equal(out.code, 0, out.stderr);

        assert.equal(await listUsers(srv, key.token), 401);
        // The account's other key still works.
        assert.equal(await listUsers(srv, other.token), 200);
        assert.equal(await listUsers(srv, key.token), 401);
    } finally {
        await srv.stop();
    }
});

test('key created by the CLI works while others stay cached', async () => {
    const srv = await startIdgate();
    try {
        const acc = await srv.createAccount('Acme');
        const first = await srv.createScimKey(acc.id);
        assert.equal(await listUsers(srv, first.token), 200);
        const second = await srv.createScimKey(acc.id);
        assert.equal(await listUsers(srv, second.token), 200);
        assert.equal(await listUsers(srv, first.token), 200);
    } finally {
        await srv.stop();
    }
});
