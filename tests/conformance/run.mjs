#!/usr/bin/env node
// Runs a Postman SCIM conformance collection with newman against a freshly
// started idgate and prints one line per assertion, then a summary.
//
//   node tests/conformance/run.mjs COLLECTION.json [--verbose]
//
// The collection's own token request (a folder named "Get Token") is dropped:
// the runner creates an account and a real SCIM access key and hands newman
// the key as the `token` variable. Requests to `/serviceConfiguration`, a
// non-standard name for the service provider configuration, are sent to the
// standard `/ServiceProviderConfig`. Assertions that contradict RFC 7643 or
// RFC 7644 are skipped by name; SKIPS below gives the section each one
// contradicts. Exit status: 0 when every other assertion passed, 1 otherwise.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startIdgate } from '../integration/lib/idgate.mjs';

const require = createRequire(import.meta.url);
const newman = require('newman');

// Keyed by "request name" or "request name#N" for the Nth request (from 1)
// of that name, then the assertion's name.
export const SKIPS = [
    {
        request: 'Patch user omalley new username',
        assertion: 'Status code is 204',
        reason: 'RFC 7644 section 3.5.2: a successful PATCH returns 200 with the resource, or ' +
            'optionally 204; idgate returns the updated User with 200, as Okta expects',
    },
    {
        request: 'patch user omalley active with boolean',
        assertion: 'Status code is 204',
        reason: 'RFC 7644 section 3.5.2: a successful PATCH returns 200 with the resource, or ' +
            'optionally 204; idgate returns the updated User with 200, as Okta expects',
    },
    {
        request: 'filter eq and (val or val)',
        assertion: 'Total results',
        reason: 'RFC 7644 section 3.4.2.2: a comparison value is a JSON string in double quotes, ' +
            'so "eq Employee" and "co example.com" are invalid filters (400 invalidFilter)',
    },
    {
        request: 'filter starts with',
        assertion: 'Total results',
        reason: 'RFC 7644 section 3.4.2.2: a comparison value is a JSON string in double quotes, ' +
            'so "sw O" is an invalid filter (400 invalidFilter)',
    },
    {
        request: 'filter greater than',
        assertion: 'Total results',
        reason: 'RFC 7644 section 3.4.2.2: a comparison value is a JSON string in double quotes, ' +
            'so an unquoted dateTime is an invalid filter (400 invalidFilter)',
    },
    {
        request: 'Group patch add member',
        assertion: 'Status code is 204',
        reason: 'RFC 7644 section 3.5.2.1 and RFC 7643 section 4.2: members are complex values ' +
            '{"value": <user id>}; a bare string naming no user is rejected with 400 invalidValue',
    },
    {
        request: 'Group patch add member2',
        assertion: 'Status code is 204',
        reason: 'RFC 7644 section 3.5.2.1 and RFC 7643 section 4.2: members are complex values ' +
            '{"value": <user id>}; a bare string naming no user is rejected with 400 invalidValue',
    },
    {
        request: 'Get group by id#1',
        assertion: 'Body contians user',
        reason: 'RFC 7643 section 8.7.1: a Group member has the sub-attributes value, $ref, type ' +
            'and display; the collection sends "displayName", which is not one of them, and ' +
            'expects it echoed back',
    },
];

function prepare(collection) {
    // Drop the token folder and give every request a unique id so that
    // assertions can be matched to "name#N".
    collection.item = collection.item.filter((it) => it.name !== 'Get Token');
    const seen = new Map();
    const names = new Map();
    const walk = (items) => {
        for (const it of items) {
            if (it.item) {
                walk(it.item);
                continue;
            }
            const n = (seen.get(it.name) || 0) + 1;
            seen.set(it.name, n);
            it.id = `conformance-${names.size + 1}`;
            names.set(it.id, { name: it.name, n });
            const url = it.request.url;
            if (url && typeof url === 'object') {
                url.path = (url.path || []).map((p) =>
                    p === 'serviceConfiguration' ? 'ServiceProviderConfig' : p);
                if (url.raw) url.raw = url.raw.replace('/serviceConfiguration', '/ServiceProviderConfig');
            }
        }
    };
    walk(collection.item);
    return names;
}

function findSkip(item, assertion) {
    return SKIPS.find((s) =>
        (s.request === item.name || s.request === `${item.name}#${item.n}`) &&
        s.assertion === assertion);
}

export async function runCollection(path, { verbose = false, log = console.log } = {}) {
    const collection = JSON.parse(readFileSync(path, 'utf8'));
    const names = prepare(collection);
    const srv = await startIdgate();
    const results = { passed: 0, failed: 0, skipped: 0, failures: [] };
    try {
        const acc = await srv.createAccount('Conformance');
        const key = await srv.createScimKey(acc.id);
        const base = new URL(srv.baseUrl);
        const environment = {
            values: [
                { key: 'Protocol', value: base.protocol.replace(':', '') },
                { key: 'Server', value: base.hostname },
                { key: 'Port', value: `:${base.port}` },
                { key: 'Api', value: 'scim/v2' },
                { key: 'token', value: key.token },
            ],
        };
        await new Promise((resolve, reject) => {
            newman.run({ collection, environment, reporters: [], timeoutRequest: 10000 })
                .on('assertion', (err, args) => {
                    const item = names.get(args.item.id) || { name: args.item.name, n: 1 };
                    const label = `${item.name}#${item.n}: ${args.assertion}`;
                    const skip = findSkip(item, args.assertion);
                    if (skip) {
                        results.skipped++;
                        log(`skip ${label} (${skip.reason})`);
                    } else if (err) {
                        results.failed++;
                        results.failures.push(`${label}: ${err.message}`);
                        log(`FAIL ${label}: ${err.message}`);
                    } else {
                        results.passed++;
                        if (verbose) log(`ok   ${label}`);
                    }
                })
                .on('request', (err, args) => {
                    if (err) {
                        results.failed++;
                        results.failures.push(`${args.item.name}: request failed: ${err.message}`);
                        log(`FAIL ${args.item.name}: request failed: ${err.message}`);
                    }
                })
                .on('done', (err) => (err ? reject(err) : resolve()));
        });
    } finally {
        await srv.stop();
    }
    return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const path = process.argv[2];
    if (!path) {
        console.error('usage: run.mjs COLLECTION.json [--verbose]');
        process.exit(2);
    }
    const r = await runCollection(path, { verbose: process.argv.includes('--verbose') });
    console.log(`conformance: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
    process.exit(r.failed ? 1 : 0);
}
