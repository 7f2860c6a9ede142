// The peer for the benchmarks: a SCIM 2.0 server built the way the scimmy
// and scimmy-routers packages document it, on Express, keeping users and
// groups in memory. It is given the same indexes a careful author would add
// (id and lower-cased userName / displayName maps, paging in the store), so
// the comparison measures the stack, not a linear scan.
//
// Environment: PORT (default 8090), PEER_TOKEN (the bearer token accepted).
// It listens on 127.0.0.1 only and stops on SIGTERM or SIGINT.
//
// POST /bench/seed {"users": N, "prefix": "...", "group": "name",
// "members": K} creates users and a group directly in memory and returns
// "id<TAB>userName" lines, then "group<TAB>id"; the group's members are the
// first `members` users stored. It is the peer's setup path, so that loading
// 100,000 users does not take minutes; it is never part of a timed scenario.
import { randomUUID } from 'node:crypto';
import express from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';

const port = Number(process.env.PORT ?? 8090);
const token = process.env.PEER_TOKEN ?? 'peer-token';

const users = new Map();      // id -> user
const userNames = new Map();  // lower-cased userName -> id
const groups = new Map();     // id -> group
const groupNames = new Map(); // lower-cased displayName -> id

// Returns the value of a single `attr eq "value"` filter, or undefined.
function equalityValue(filter, attr) {
    if (!Array.isArray(filter) || filter.length !== 1) return undefined;
    const keys = Object.keys(filter[0]);
    if (keys.length !== 1 || keys[0].toLowerCase() !== attr.toLowerCase()) return undefined;
    const expr = filter[0][keys[0]];
    if (!Array.isArray(expr) || expr[0] !== 'eq' || typeof expr[1] !== 'string') return undefined;
    return expr[1];
}

// Lists resources for a filter, paged in the store: scimmy would otherwise
// convert every stored resource before slicing the page.
function list(resource, all, byName, nameAttr) {
    const { startIndex = 1, count = 20 } = resource.constraints ?? {};
    let matches;
    const name = equalityValue(resource.filter, nameAttr);
    if (name !== undefined) {
        const id = byName.get(name.toLowerCase());
        matches = id ? [all.get(id)] : [];
    } else if (resource.filter) {
        matches = resource.filter.match([...all.values()]);
    } else {
        // Walk the insertion-ordered map to the page instead of copying it all.
        const page = [];
        let index = 0;
        for (const item of all.values()) {
            if (++index < startIndex) continue;
            if (page.length >= count) break;
            page.push(item);
        }
        resource.constraints = { ...resource.constraints, totalResults: all.size };
        return page;
    }
    resource.constraints = { ...resource.constraints, totalResults: matches.length };
    return matches.slice(startIndex - 1, startIndex - 1 + count);
}

function meta(type, previous) {
    const now = new Date();
    return { resourceType: type, created: previous?.meta?.created ?? now, lastModified: now };
}

function conflict(subject) {
    return new SCIMMY.Types.Error(409, 'uniqueness', `${subject} already exists`);
}

SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    egress: (resource) => {
        if (resource.id) {
            const user = users.get(resource.id);
            if (!user) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            return user;
        }
        return list(resource, users, userNames, 'userName');
    },
    ingress: (resource, instance) => {
        const previous = resource.id ? users.get(resource.id) : undefined;
        if (resource.id && !previous)
            throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        const key = instance.userName.toLowerCase();
        const owner = userNames.get(key);
        if (owner && owner !== resource.id) throw conflict(`userName ${instance.userName}`);
        const id = resource.id ?? randomUUID();
        const user = { ...JSON.parse(JSON.stringify(instance)), id, meta: meta('User', previous) };
        if (previous) userNames.delete(previous.userName.toLowerCase());
        users.set(id, user);
        userNames.set(key, id);
        return user;
    },
    degress: (resource) => {
        const user = users.get(resource.id);
        if (!user) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        users.delete(resource.id);
        userNames.delete(user.userName.toLowerCase());
    },
});

SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
    egress: (resource) => {
        if (resource.id) {
            const group = groups.get(resource.id);
            if (!group) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            return group;
        }
        return list(resource, groups, groupNames, 'displayName');
    },
    ingress: (resource, instance) => {
        const previous = resource.id ? groups.get(resource.id) : undefined;
        if (resource.id && !previous)
            throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        const key = instance.displayName.toLowerCase();
        const owner = groupNames.get(key);
        if (owner && owner !== resource.id) throw conflict(`displayName ${instance.displayName}`);
        const id = resource.id ?? randomUUID();
        const members = (instance.members ?? []).map((m) => ({ value: m.value, type: 'User' }));
        const group = { displayName: instance.displayName, members, id, meta: meta('Group', previous) };
        if (previous) groupNames.delete(previous.displayName.toLowerCase());
        groups.set(id, group);
        groupNames.set(key, id);
        return group;
    },
    degress: (resource) => {
        const group = groups.get(resource.id);
        if (!group) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        groups.delete(resource.id);
        groupNames.delete(group.displayName.toLowerCase());
    },
});

function seed(req, res) {
    const { users: count = 0, prefix = 'seed-', group, members = 0 } = req.body ?? {};
    const lines = [];
    for (let i = 0; i < count; i++) {
        const userName = `${prefix}${i}@bench.example`;
        const id = randomUUID();
        users.set(id, {
            schemas: [SCIMMY.Schemas.User.definition.id], id, userName, externalId: `ext-${prefix}${i}`,
            name: { givenName: `Given${i}`, familyName: `Family${i}` },
            displayName: `Given${i} Family${i}`,
            emails: [{ primary: true, value: userName, type: 'work' }], active: true,
            meta: meta('User'),
        });
        userNames.set(userName.toLowerCase(), id);
        lines.push(`${id}\t${userName}`);
    }
    if (group) {
        const id = randomUUID();
        const picked = [];
        for (const value of users.keys()) {
            if (picked.length >= members) break;
            picked.push({ value, type: 'User' });
        }
        groups.set(id, { displayName: group, members: picked, id, meta: meta('Group') });
        groupNames.set(group.toLowerCase(), id);
        lines.push(`group\t${id}`);
    }
    res.type('text/plain').send(lines.join('\n') + '\n');
}

const app = express();
app.disable('x-powered-by');
app.post('/bench/seed', express.json({ limit: '1mb' }), seed);
app.use('/scim/v2', new SCIMMYRouters({
    type: 'bearer',
    handler: (request) => {
        if (request.header('Authorization') !== `Bearer ${token}`)
            throw new Error('Authorization failed');
        return 'bench';
    },
}));

const server = app.listen(port, '127.0.0.1', () => {
    console.error(`peer: listening on 127.0.0.1:${port}`);
});
server.keepAliveTimeout = 60000;
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
