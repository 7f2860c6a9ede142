// Turns the raw figures bench/run recorded (key=value lines) into a table of
// figures, ratios and PASS/FAIL per target, prints it, and rewrites the
// benchmarks page. A "## Findings" section already on the page is kept, so
// analysis written by hand survives the next run.
//
// Usage: node bench/report.mjs RESULTS_FILE DOC_FILE
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const [resultsPath, docPath] = process.argv.slice(2);
if (!resultsPath || !docPath) {
    console.error('usage: node bench/report.mjs RESULTS_FILE DOC_FILE');
    process.exit(2);
}

const raw = {};
for (const line of readFileSync(resultsPath, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) raw[line.slice(0, eq)] = line.slice(eq + 1);
}
const num = (key) => (raw[key] === undefined || raw[key] === '' ? undefined : Number(raw[key]));
const has = (key) => num(key) !== undefined && !Number.isNaN(num(key));

const fmtInt = (v) => (v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const fmtNum = (v, digits = 2) => (v === undefined ? 'n/a' : v.toFixed(digits));
const fmtMs = (us) => (us === undefined ? 'n/a' : (us / 1000).toFixed(2));
const fmtMiB = (kb) => (kb === undefined ? 'n/a' : (kb / 1024).toFixed(1));
const pct = (v) => (v === undefined ? 'n/a' : `${(v * 100).toFixed(0)}%`);
const times = (v) => (v === undefined ? 'n/a' : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}x`);

// Why a run does not count: bench/run records "KEY.failed" when any reply
// had an unexpected status, or on socket errors or timeouts.
const failed = (key) => raw[`${key}.failed`];

// Throughput of one wrk scenario, or undefined when it was not run or failed.
function rps(key) {
    return has(`${key}.rps`) && !failed(key) ? num(`${key}.rps`) : undefined;
}

function errors(key) {
    return (num(`${key}.status_errors`) ?? 0) + (num(`${key}.socket_errors`) ?? 0);
}

function figure(key) {
    if (failed(key)) return `FAILED: ${failed(key)}`;
    const v = rps(key);
    if (v === undefined) return 'not measured';
    if (v === 0) return `none finished in ${fmtNum(num(`${key}.seconds`), 0)} s`;
    const e = errors(key);
    const t = num(`${key}.timeouts`) ?? 0;
    let s = fmtInt(v);
    if (e) s += ` (${fmtInt(e)} errors)`;
    if (t) s += ` (${fmtInt(t)} timeouts)`;
    return s;
}

// The ceiling is measured right before each scenario that has a target
// against it; other scenarios are compared with the mean of those runs.
const ceilingKeys = ['get', 'filter', 'post'].filter((k) => rps(`ceiling.${k}`) !== undefined);
const ceilingMean = ceilingKeys.length
    ? ceilingKeys.map((k) => rps(`ceiling.${k}`)).reduce((a, b) => a + b) / ceilingKeys.length
    : undefined;
const ceilingOf = (key) => rps(`ceiling.${key}`) ?? ceilingMean;
const ceilingCpuKeys = ceilingKeys.filter((k) => has(`ceiling.${k}.cpu_us`));
const ceilingCpu = ceilingCpuKeys.length
    ? ceilingCpuKeys.map((k) => num(`ceiling.${k}.cpu_us`)).reduce((a, b) => a + b) / ceilingCpuKeys.length
    : undefined;

// A peer run in which no request finished within the run is bounded by one
// request per run: its rate is below 1 / duration.
function peerRate(key) {
    const v = rps(key);
    if (v === undefined) return { value: undefined, bound: false };
    if (v > 0) return { value: v, bound: false };
    return { value: 1 / (num(`${key}.seconds`) || 1), bound: true };
}

const scenarios = [
    ['get', 'GET /Users/{id}', 0.6],
    ['filter', 'GET /Users?filter=userName eq', 0.6],
    ['page', 'GET /Users, page of 100', undefined],
    ['post', 'POST /Users (durable)', 0.25],
    ['patch_small', 'PATCH group of 10, add/remove 1', undefined],
    ['patch_big', 'PATCH group of 100,000, add/remove 1', undefined],
];

// The result of a target: false when idgate's run failed, undefined (not
// measured) without a figure, else whether the figure meets the target.
function verdict(runFailed, value, meets) {
    if (runFailed) return false;
    if (value === undefined) return undefined;
    return meets(value);
}

const targets = [];
function target(name, figureText, pass, note = '') {
    let result = 'not measured';
    if (pass !== undefined) result = pass ? 'PASS' : 'FAIL';
    targets.push({ name, figureText, result, note });
}

// Throughput table.
const rows = [];
for (const [key, label, share] of scenarios) {
    const mine = rps(`idgate.${key}`);
    const peer = peerRate(`peer.${key}`);
    const vsPeer = mine !== undefined && peer.value ? mine / peer.value : undefined;
    const ceiling = ceilingOf(key);
    const vsCeiling = mine !== undefined && ceiling ? mine / ceiling : undefined;
    const cpu = num(`idgate.${key}.cpu_us`);
    rows.push([label, figure(`idgate.${key}`), fmtMs(num(`idgate.${key}.p50_us`)),
        fmtMs(num(`idgate.${key}.p99_us`)), fmtNum(cpu, 0), figure(`peer.${key}`),
        fmtNum(num(`peer.${key}.cpu_us`), 0), `${peer.bound ? '> ' : ''}${times(vsPeer)}`,
        `${pct(vsCeiling)}${rps(`ceiling.${key}`) !== undefined ? ` of ${fmtInt(ceiling)}` : ''}`,
        cpu && ceilingCpu ? pct(ceilingCpu / cpu) : 'n/a']);
    // A failed run of idgate fails its targets, and a failed ceiling or
    // peer run leaves them unmeasured. Either way the note gives the reason.
    const mineFailed = failed(`idgate.${key}`);
    const why = (what, k) => (failed(k) ? `${what} run failed: ${failed(k)}` : '');
    const ran = mineFailed || has(`idgate.${key}.rps`);
    if (ran && share !== undefined) {
        target(`${label} >= ${pct(share)} of the framework ceiling`, pct(vsCeiling),
            verdict(mineFailed, vsCeiling, (v) => v >= share),
            why('idgate', `idgate.${key}`) || why('ceiling', `ceiling.${key}`));
    }
    if (ran) {
        target(`${label} >= 20x the peer`, `${peer.bound ? '> ' : ''}${times(vsPeer)}`,
            verdict(mineFailed, vsPeer, (v) => v >= 20),
            why('idgate', `idgate.${key}`) || why('peer', `peer.${key}`) ||
                (peer.value === undefined ? 'peer not measured'
                    : peer.bound ? 'no peer request finished; its rate is taken as 1 per run' : ''));
    }
}

// Sync burst.
const syncMine = num('idgate.sync.total_seconds');
const syncPeer = num('peer.sync.total_seconds');
const syncPeerTimedOut = num('peer.sync.timed_out');
const syncPeerText = failed('peer.sync') ? `FAILED: ${failed('peer.sync')}` : syncPeer !== undefined ? fmtNum(syncPeer)
    : syncPeerTimedOut !== undefined ? `> ${syncPeerTimedOut} (stopped)` : 'not measured';
const syncRatio = syncMine && (syncPeer ?? syncPeerTimedOut) ? (syncPeer ?? syncPeerTimedOut) / syncMine : undefined;
const syncFailed = failed('idgate.sync');
const syncRan = syncFailed || syncMine !== undefined || num('idgate.sync.timed_out') !== undefined;
let syncMineText = syncMine === undefined ? 'n/a' : `${fmtNum(syncMine)} s`;
if (syncFailed) syncMineText = 'FAILED';
if (syncRan) {
    const idgateTimedOut = num('idgate.sync.timed_out') !== undefined;
    let burstNote = '';
    if (syncFailed) burstNote = `idgate run failed: ${syncFailed}`;
    else if (idgateTimedOut) burstNote = `stopped after ${num('idgate.sync.timed_out')} s`;
    else if (has('machine.fsync_ms')) burstNote = `one synchronous 4 KiB write takes ${fmtNum(num('machine.fsync_ms'))} ms here`;
    target('sync burst of 10,000 users with group push < 5 s', syncMineText,
        verdict(syncFailed || idgateTimedOut, syncMine, (v) => v < 5), burstNote);
    let peerNote = '';
    if (syncFailed) peerNote = 'idgate run failed';
    else if (failed('peer.sync')) peerNote = `peer run failed: ${failed('peer.sync')}`;
    else if (syncPeerTimedOut !== undefined) peerNote = `the peer was stopped after ${syncPeerTimedOut} s, so the ratio is a lower bound`;
    target('sync burst >= 20x the peer', `${syncPeerTimedOut !== undefined ? '>= ' : ''}${times(syncRatio)}`,
        verdict(syncFailed || idgateTimedOut, syncRatio, (v) => v >= 20), peerNote);
}

// PATCH on a large group against a small one.
const big = rps('idgate.patch_big');
const small = rps('idgate.patch_small');
// The big group's rate over the small one's: the median of the rounds' ratios
// when the two ran in rounds.
const patchRatio = has('idgate.patch_ratio') ? num('idgate.patch_ratio')
    : big !== undefined && small ? big / small : undefined;
if (has('idgate.patch_big.rps') || has('idgate.patch_small.rps')) {
    const patchFailed = failed('idgate.patch_big') || failed('idgate.patch_small');
    const rounds = raw['idgate.patch_ratio.rounds'];
    target('PATCH on the 100,000-member group within 20% of the 10-member group', pct(patchRatio),
        verdict(patchFailed, patchRatio, (v) => v >= 0.8),
        patchFailed ? `a PATCH run failed: ${patchFailed}`
            : rounds ? `req/s of the big group as a share of the small, median of the rounds (${rounds.split(',').map((v) => pct(Number(v))).join(', ')})`
                : 'req/s of the big group as a share of the small');
}

// Scale: lookup latency of each large store against the 1,000-user store,
// measured in paired rounds by bench/lookup_latency, and memory.
const scaleKinds = [['filter', 'userName filter'], ['get', 'GET by id']];
const scaleSizes = [100000, 1000000];
const scaleKey = (n, kind, field) => `scale.${n}.${kind}.${field}`;
const scaleRan = (n) => scaleKinds.some(([k]) => has(scaleKey(n, k, 'ratio_median')) || failed(`scale.${n}.${k}`));
const ownKb = (n) => (has(`scale.${n}.rss_kb`) ? num(`scale.${n}.rss_kb`) - num(`scale.${n}.store_rss_kb`) : undefined);
const ratioOf = (n, kind, field = 'ratio_median') => (failed(`scale.${n}.${kind}`) ? undefined : num(scaleKey(n, kind, field)));
const handlerRatio = (n, kind) => {
    const small = num(scaleKey(n, kind, 'small_handler.trimmed_us'));
    const large = num(scaleKey(n, kind, 'large_handler.trimmed_us'));
    return small && large !== undefined ? large / small : undefined;
};
const fmtUs = (v) => (v === undefined ? 'n/a' : v.toFixed(1));
// Latency ratios differ by a few percent, so they get one decimal.
const pct1 = (v) => (v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const range = (lo, hi) => (lo === undefined || hi === undefined ? 'n/a' : `${pct1(lo)} to ${pct1(hi)}`);

const latencyRows = [];
for (const n of scaleSizes.filter(scaleRan)) {
    for (const [kind, label] of scaleKinds) {
        const k = (field) => num(scaleKey(n, kind, field));
        if (failed(`scale.${n}.${kind}`)) {
            latencyRows.push([fmtInt(n), label, `FAILED: ${failed(`scale.${n}.${kind}`)}`,
                '', '', '', '', '', '', '', '', '']);
            continue;
        }
        latencyRows.push([fmtInt(n), label, fmtUs(k('small_p50_us')), fmtUs(k('large_p50_us')),
            pct1(k('ratio_median')), range(k('ratio_q1'), k('ratio_q3')),
            range(k('ratio_min'), k('ratio_max')),
            `${fmtUs(k('small_handler.trimmed_us'))} / ${fmtUs(k('large_handler.trimmed_us'))}`,
            pct1(handlerRatio(n, kind)),
            `${fmtUs(k('small_cpu_us'))} / ${fmtUs(k('large_cpu_us'))}`,
            `${fmtInt(k('large_minor_faults'))} / ${fmtInt(k('large_major_faults'))}`,
            fmtInt(k('errors'))]);
    }
}
const memorySizes = [1000, ...scaleSizes].filter((n) => has(`scale.${n}.rss_kb`));
const memoryRows = memorySizes.map((n) => [fmtInt(n), fmtMiB(num(`scale.${n}.rss_kb`)),
    fmtMiB(num(`scale.${n}.store_rss_kb`)), fmtMiB(ownKb(n)), fmtMiB(num(`scale.${n}.anon_kb`)),
    fmtMiB(num(`scale.${n}.store_file_kb`)), fmtMiB(num(`scale.${n}.store_used_kb`)),
    raw[`scale.${n}.depth`] || 'n/a']);

// The latency target passes when the median round ratio of both lookups is
// within the bound; a failed run of either lookup fails it.
function scaleTargets(n, name, note) {
    const failures = scaleKinds.map(([k]) => failed(`scale.${n}.${k}`) && `${k}: ${failed(`scale.${n}.${k}`)}`)
        .filter(Boolean).join('; ');
    const ratios = scaleKinds.map(([k]) => ratioOf(n, k));
    const text = scaleKinds.map(([k], i) => `${k} ${pct1(ratios[i])} (quartiles ${range(ratioOf(n, k, 'ratio_q1'), ratioOf(n, k, 'ratio_q3'))})`).join(', ');
    const handler = scaleKinds.map(([k]) => `${k} ${pct1(handlerRatio(n, k))}`).join(', ');
    const pass = failures ? false : ratios.some((r) => r === undefined) ? undefined : ratios.every((r) => r <= 1.2);
    target(name.latency, text, pass, failures || `median of ${num(scaleKey(n, 'filter', 'rounds')) ?? 'n/a'} paired rounds; handler time ${handler}${note}`);
    target(name.memory, `${fmtMiB(ownKb(n))} MiB`, ownKb(n) === undefined ? undefined : ownKb(n) < 64 * 1024, note.replace(/^; /, ''));
}
if (scaleRan(1000000)) {
    scaleTargets(1000000, {
        latency: 'lookup latency at 1,000,000 users within 20% of 1,000',
        memory: 'RSS < 64 MiB at 1,000,000 users, store pages not counted',
    }, '');
    // The client's latency includes the network stack, which does not grow
    // with the store, so the handler time shows the store's own growth.
    const handlerRatios = scaleKinds.map(([k]) => handlerRatio(1000000, k));
    target('(handler time only) lookup at 1,000,000 users within 20% of 1,000',
        scaleKinds.map(([k], i) => `${k} ${pct1(handlerRatios[i])}`).join(', '),
        handlerRatios.some((r) => r === undefined) ? undefined : handlerRatios.every((r) => r <= 1.2),
        "idgate's time per request from its access log, without the network stack; indication only");
} else {
    target('lookup latency at 1,000,000 users within 20% of 1,000', 'n/a', undefined, 'run bench/run --full');
    target('RSS < 64 MiB at 1,000,000 users, store pages not counted', 'n/a', undefined, 'run bench/run --full');
}
if (scaleRan(100000)) {
    scaleTargets(100000, {
        latency: '(same at 100,000 users) lookup latency within 20% of 1,000',
        memory: '(same at 100,000 users) RSS < 64 MiB, store pages not counted',
    }, '; indication only');
}

// Sign-in.
const signinRows = [];
if (raw['signin.not_measured']) {
    signinRows.push(['redirects per second', `not measured: ${raw['signin.not_measured']}`]);
    signinRows.push(['CPU time per callback', `not measured: ${raw['signin.not_measured']}`]);
} else {
    signinRows.push(['GET /auth/okta redirects per second', figure('signin.redirect')]);
    signinRows.push(['CPU time per redirect under that load (ms)',
        has('signin.redirect.cpu_us') && !raw['signin.redirect.failed'] ? fmtNum(num('signin.redirect.cpu_us') / 1000, 3) : 'n/a']);
    const failed = raw['signin.callback_failed'];
    const cpuText = (key) => (has(key) ? fmtNum(num(key), 3) : failed ? `not measured: ${failed}` : 'n/a');
    signinRows.push(['CPU time per initiation (ms)', cpuText('signin.initiate_cpu_ms')]);
    signinRows.push(['CPU time per callback (ms)', cpuText('signin.callback_cpu_ms')]);
    signinRows.push(['callbacks per second, one at a time', has('signin.callback_rate') ? fmtNum(num('signin.callback_rate'), 1) : 'n/a']);
}

function table(header, body) {
    const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
    for (const r of body) lines.push(`| ${r.join(' | ')} |`);
    return lines.join('\n');
}

const throughput = table(
    ['scenario (wrk -t2 -c64)', 'idgate req/s', 'p50 ms', 'p99 ms', 'CPU us/req', 'peer req/s',
        'peer CPU us/req', 'vs peer', 'vs ceiling', 'CPU vs ceiling'],
    rows);
const ceilingText = `Framework ceiling (bench/baseline, fixed 200 reply). It is measured right before each of idgate's GET by id, filter and POST runs, with the same wrk script: ${ceilingKeys.map((k) => `${fmtInt(rps(`ceiling.${k}`))}`).join(', ')} req/s (mean ${fmtInt(ceilingMean)}), ${fmtNum(ceilingCpu, 1)} us of server CPU per request.`;

// The request rate of every round, for the scenarios run in rounds.
const roundsOf = (key) => (raw[`${key}.rounds`] ?? '').split(',').filter((v) => v !== '')
    .map((v) => fmtInt(Number(v))).join(', ') || 'n/a';
const roundRows = scenarios.filter(([key]) => raw[`idgate.${key}.rounds`] !== undefined)
    .map(([key, label]) => [label, roundsOf(`ceiling.${key}`), roundsOf(`idgate.${key}`),
        roundsOf(`peer.${key}`)]);
const roundsTable = roundRows.length
    ? table(['req/s of each round', 'ceiling', 'idgate', 'peer'], roundRows) : '';
const syncTable = table(['sync burst, 8 connections', 'idgate s', 'peer s'], [
    ['10,000 users: look up by userName, create', fmtNum(num('idgate.sync.users_seconds')), fmtNum(num('peer.sync.users_seconds'))],
    ['one group, all 10,000 members by one PUT', fmtNum(num('idgate.sync.group_put_seconds')), fmtNum(num('peer.sync.group_put_seconds'))],
    ['one group, 100 PATCH requests of 100 members', fmtNum(num('idgate.sync.group_patch_seconds')), fmtNum(num('peer.sync.group_patch_seconds'))],
    ['total', syncFailed ? `FAILED: ${syncFailed}` : fmtNum(syncMine), syncPeerText],
]);
const scaleLatencyTable = table(
    ['users', 'lookup', 'p50 us at 1,000', 'p50 us at this size', 'ratio, median round',
        'ratio, quartiles', 'ratio, min to max', 'handler us at 1,000 / this size (blocks)',
        'handler ratio',
        'server CPU us per lookup at 1,000 / this size', 'page faults at this size, minor / major',
        'errors'],
    latencyRows);
const scaleMemoryTable = table(
    ['users', 'RSS MiB', 'of it store pages', 'RSS minus store', 'anonymous MiB', 'store file MiB',
        'store used MiB', 'B-tree depth'],
    memoryRows);
const scaleTable = `${scaleLatencyTable}\n\n${scaleMemoryTable}`;
const loadRates = [1000, 100000, 1000000].filter((n) => has(`load.${n}.rate`))
    .map((n) => `${fmtInt(n)}: ${fmtInt(num(`load.${n}.rate`))} users/s`).join(', ');
const signinTable = table(['sign-in', 'figure'], signinRows);
const commitRows = [['post', 'POST /Users'], ['patch_small', 'PATCH group of 10'],
    ['patch_big', 'PATCH group of 100,000'], ['sync', 'sync burst'], ['redirect', 'sign-in redirects']]
    .map(([key, label]) => [key === 'redirect' ? 'signin.redirect' : `idgate.${key}`, label])
    .filter(([key]) => has(`${key}.commits`))
    .map(([key, label]) => [label, fmtInt(num(`${key}.commits`)), fmtNum(num(`${key}.jobs_per_commit`), 1),
        fmtNum(num(`${key}.commit_ms`))]);
const commitTable = table(['idgate store writes', 'commits', 'jobs per commit', 'mean commit ms'], commitRows);
const targetTable = table(['target', 'measured', 'result', 'note'],
    targets.map((t) => [t.name, t.figureText, t.result, t.note]));

const machine = `${raw['machine.nproc']} cores, ${raw['machine.cpu']}, ${raw['machine.mem_gib']} GiB memory; load average at the start ${raw['machine.load']}; one synchronous 4 KiB write (dd oflag=dsync) ${raw['machine.fsync_ms']} ms.`;

console.log(`\n${ceilingText}\n\n${throughput}\n\n${roundsTable}\n\n${commitTable}\n\n${syncTable}\n\n${scaleTable}\n\nUsers loaded over HTTP (256 connections): ${loadRates}\n\n${signinTable}\n\n${targetTable}\n`);

let findings = '';
if (existsSync(docPath)) {
    const old = readFileSync(docPath, 'utf8');
    const at = old.indexOf('\n## Findings');
    if (at >= 0) findings = old.slice(at + 1);
}

const doc = `# Benchmarks

Measured by \`${raw['run.command']}\` on ${raw['run.date']} at commit ${raw['run.commit']}
("-dirty" means the work tree had uncommitted changes).
The page is rewritten by each run; the Findings section at the end is kept.

Machine: ${machine}

The load generator (wrk, the sync client) shares the two cores with the
server under test, and other work on the machine adds noise, so every figure
is compared with a baseline measured in the same run.

## Throughput

${ceilingText}

${throughput}

${roundsTable}

GET by id, the filter, the page and POST run in ${raw['run.rounds'] ?? 1} rounds. Each round
measures the framework ceiling, idgate and the peer back to back, so that
all three see the same load on the machine, and each figure in the table
above is that of the round with the median rate. idgate's PATCH runs in as
many rounds, the 10-member group and then the 100,000-member group, and
its target takes the median of the rounds' ratios. "vs peer" is idgate's
request rate divided by the peer's; "vs ceiling"
divides it by the framework ceiling measured just before it (or by their mean
for scenarios without a ceiling target). "CPU us/req" is the server
process's CPU time (user + system, from /proc/PID/stat) divided by the
requests answered; "CPU vs ceiling" is the ceiling's CPU per request as a
share of idgate's, a ratio that other load on the machine disturbs far less
than the request rates. Each run lasts ${raw['run.duration']} s with 2 wrk
threads and 64 keep-alive connections, with 100,000 users in the store.

${commitTable}

Commits are read from idgate's \`/metrics\` (idgate_store_commits_total,
idgate_store_jobs_total, idgate_store_commit_seconds) before and after each
run. Every write reply waits for the commit that holds its job.

## Sync burst

${syncTable}

## Scale

${scaleTable}

Users loaded over HTTP (256 connections): ${loadRates}.

## Sign-in

${signinTable}

## Targets

${targetTable}

## Method

- **Framework ceiling**: \`bench/baseline.c\`, a libevhtp server on one event
  loop that replies to every request with a fixed 200 JSON body, linked with
  the same allocator as idgate. It is
  measured right before each idgate scenario that has a target against it,
  because other load on this machine moves the rates by up to a factor of
  two within minutes. It runs that scenario's own wrk script (its paths,
  query strings and bodies, with 200 as the expected status). wrk shares the
  two cores with the server, so the scripts do their costly work once. The
  filter script percent-encodes every path at start-up, and then costs wrk
  about as much per request as the GET script: 16.6 against 15.7 us of
  wrk's CPU against the ceiling. The POST script formats each body, since every
  userName is new. Each ratio compares idgate with the framework under the
  same client load.
- **Peer**: \`bench/peer/server.mjs\`, the npm packages scimmy and
  scimmy-routers on Express with users and groups in memory, given a map
  index for ids, userNames and displayNames and paging in the store. Its
  100,000 users and groups are created in process (\`POST /bench/seed\`)
  before idgate's first scenario. It runs GET by id, the filter, the page
  and POST in the same rounds as idgate, right after idgate's run of the
  round, and the PATCH scenarios after all of idgate's. Its sync burst runs
  on a fresh process with a time limit.
- **idgate**: built with the project's default flags (\`-g -O2\`) and
  linked with ${raw['idgate.malloc'] || 'an allocator the log did not name'} (the start-up log's \`malloc\` field), a fresh
  temporary store, default configuration (log level info, stderr to a file)
  except the port and a 16 GiB map size. The account and SCIM key are made
  with \`idgate account create\` and \`idgate scim-key create\`; users are loaded
  with \`bench/synclient load\` (POST /Users over 256 keep-alive connections,
  each with one request in flight, on plain sockets and epoll, which costs
  the client about 11 us of CPU per user where libcurl cost 45).
- **Scenarios** (\`bench/*.lua\`, wrk -t2 -c64): GET by a random existing
  id; filter \`userName eq\` on a random existing userName; a page of 100 at a
  random startIndex among the first 100 pages; POST with a userName unique
  per run, thread and request (every reply is a durable commit); PATCH that
  adds one member to a group, and removes it again 48 requests later on the
  same wrk thread, with each thread cycling through its own 48 users. The
  big group holds 99,904 users plus at most the 96 pool users; the small one
  10 plus at most 96. Each script names the statuses it expects (200; 201
  for POST; 200 or 204 for PATCH; 302 for sign-in redirects). A run in which
  any reply has another status, or with socket errors or timeouts, shows as
  FAILED with the statuses instead of a figure, and fails its targets.
- **Sync burst** (\`bench/synclient.c\`, C on libcurl's multi interface,
  8 keep-alive connections with one request each in flight, as Okta
  provisions): for 10,000 new users, \`GET /Users?filter=userName eq\` then
  \`POST /Users\`; then one group created empty and filled by one PUT of all
  10,000 members; then a second group filled by 100 PATCH requests of
  100 members. C keeps the client's own cost to a few percent of a core.
- **Scale**: one idgate holds 1,000 users, a second one 100,000 (and then
  1,000,000 with \`--full\`: over HTTP that load takes several minutes, since
  the CLI has no bulk-load mode). \`bench/lookup_latency\` (C on plain
  sockets, one request at a time) compares the two stores for the userName
  filter and for GET by id. It takes 1,000 random users of each store, the
  same number at every scale. It looks each up once on both servers as an
  untimed warm-up, so that the store pages the run touches are mapped and
  cached, and then in ${num('scale.100000.filter.rounds') ?? 20} timed rounds in a new random order. It
  alternates between the two servers request by request, so a burst of
  other load delays both alike, and while it runs both servers are pinned
  to one CPU and the client to the other. A round's ratio is the large
  store's median latency over the small store's; the table gives the
  median round, the quartiles and the extremes of the rounds. Latency is
  measured by the client, from writing the request to reading the reply's
  last byte, so it includes the network stack. Server CPU per lookup and
  page faults are from /proc/PID/stat over this run, including its
  warm-up. A second run of the same kind sends each round's requests to
  one server and then to the other ("blocks"), so that the other server's
  requests do not evict a server's data from the CPU caches in between.
  "Handler" is the latency idgate's access log records for the timed
  requests of that run (from reading the request to its end, 1 us
  resolution), as the mean of the middle 80%. It leaves out the network
  stack and the client, so the store's cost is a larger share of it. Memory is
  read from /proc: RSS from smaps_rollup, and the resident pages of the
  mapping of the store's data.mdb from smaps. LMDB maps its file
  read-only, so those pages are page cache that the kernel can drop; "RSS
  minus store" is the process's own memory (heap, stacks, libraries).
  "Store used" is LMDB's page count times its page size (mdb_stat -e); the
  B-tree depths of the users and user_names tables are from mdb_stat -a.
- **Sign-in** (\`bench/signin.mjs\`): a local OpenID provider on Node's
  https module signs in whichever user the benchmark names, with the user's
  externalId as \`sub\`. The account's users' domain (bench.example) is
  claimed with \`idgate domain add\` and verified with \`idgate domain
  verify\` against dnsmasq on 127.0.0.1 serving its TXT record. A sign-in
  start stores nothing in idgate (the transaction travels in an encrypted
  cookie). The redirect run (wrk -t2 -c64, \`GET /auth/okta\`, 302
  expected) makes a fixed ${fmtInt(num('signin.redirect.budget') ?? 15000)} redirects, spread at random over 40
  accounts, each with its own issuer, so that every run does the same work.
  Its rate is taken over the time from the first request to the last reply,
  and a 429 in this run fails the row. Every request comes from 127.0.0.1,
  so the benchmark turns off the limit of sign-in starts per client
  address, the only limit on starts. Then 300 initiations
  alone and 300 whole sign-ins one after the other (initiate, authorize,
  callback), each callback required to redirect and set a session cookie;
  CPU per callback is the whole sign-in's CPU minus an initiation's, from
  /proc/PID/stat.
- **Durable commits**: a reply to a write is sent after the group commit has
  reached the disk, so write figures depend on this disk's synchronous-write
  latency, which the run measures with dd.
${findings ? `\n${findings}` : ''}`;

writeFileSync(docPath, doc);
console.log(`wrote ${docPath}`);
