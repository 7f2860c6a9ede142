// Runs the Entra ID reference Postman collection, when the checkout has it
// beside it, through tests/conformance/run.mjs against a fresh idgate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const collection = process.env.IDGATE_CONFORMANCE_COLLECTION ||
    resolve(here, '../../../shared/conformance/entra-reference-postman.json');

test('entra reference collection passes', { timeout: 120000 }, async (t) => {
    if (!existsSync(collection)) {
        t.skip(`collection not found at ${collection}`);
        return;
    }
    const { runCollection } = await import('../conformance/run.mjs');
    const lines = [];
    const r = await runCollection(collection, { log: (l) => lines.push(l) });
    for (const l of lines) t.diagnostic(l);
    assert.deepEqual(r.failures, []);
    assert.equal(r.failed, 0);
    assert.ok(r.passed > 80, `only ${r.passed} assertions ran`);
});
