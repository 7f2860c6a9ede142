// Starts the real idgate binary for integration tests.
//
//   import { startIdgate, runIdgate } from './lib/idgate.mjs';
//   const srv = await startIdgate({ config: { server: { max_body: '4K' } }, env: {} });
//   const res = await fetch(srv.url('/healthz'));
//   const acc = await srv.createAccount('Acme');          // { id, name, ... }
//   const key = await srv.createScimKey(acc.id);          // { id, prefix, token, ... }
//   const out = await srv.cli(['account', 'list']);       // { code, stdout, stderr, json }
//   await srv.stop();                                     // SIGTERM; resolves to the exit code
//
// Every server gets a fresh temporary directory (store under <dir>/data), a
// free port on 127.0.0.1 and a configuration file written from `config`
// (section -> key -> value) on top of the defaults below. `env` is added to
// this process's environment for the server and for srv.cli.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const idgateBin = process.env.IDGATE_BIN || path.join(repoRoot, 'src', 'idgate');

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// Returns a port that was free a moment ago on 127.0.0.1.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Renders { section: { key: value } } as INI text. A value of null or
// undefined leaves the key out.
export function iniText(config) {
  let out = '';
  for (const [section, keys] of Object.entries(config)) {
    out += `[${section}]\n`;
    for (const [key, value] of Object.entries(keys || {})) {
      if (value !== null && value !== undefined) out += `${key} = ${value}\n`;
    }
  }
  return out;
}

function mergeConfig(base, extra) {
  const out = {};
  for (const src of [base, extra || {}]) {
    for (const [section, keys] of Object.entries(src)) {
      out[section] = { ...(out[section] || {}), ...(keys || {}) };
    }
  }
  return out;
}

// Runs `idgate <args>` once and collects its output. Rejects after
// `timeoutMs` (the process is killed).
export function runProcess(args, { env = {}, input, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(idgateBin, args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`idgate ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json;
      try { json = JSON.parse(stdout); } catch { json = undefined; }
      resolve({ code: code ?? (signal ? 128 : -1), signal, stdout, stderr, json });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

// Writes a configuration into a fresh directory and runs `idgate <args>`
// against it, for tests that expect the binary to exit (for example a
// configuration error on `serve`).
export async function runIdgate(args, { config = {}, env = {}, timeoutMs } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'idgate-run-'));
  try {
    const port = await freePort();
    const full = mergeConfig(defaultConfig(dir, port), config);
    const configPath = path.join(dir, 'idgate.ini');
    writeFileSync(configPath, iniText(full));
    return await runProcess(args, { env: { IDGATE_CONFIG: configPath, ...env }, timeoutMs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function defaultConfig(dir, port) {
  return {
    server: {
      listen_address: '127.0.0.1',
      port,
      base_url: `http://127.0.0.1:${port}`,
      shutdown_timeout: '10s',
    },
    store: { path: path.join(dir, 'data'), map_size: '256M' },
    log: { level: 'info', format: 'logfmt' },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Idgate {
  constructor({ config, env, startTimeoutMs }) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'idgate-test-'));
    this.extraConfig = config || {};
    this.env = env || {};
    this.startTimeoutMs = startTimeoutMs || 15000;
    this.stderr = '';
    this.stdout = '';
    this.child = null;
    this.exitPromise = null;
  }

  async init() {
    this.port = await freePort();
    this.config = mergeConfig(defaultConfig(this.dir, this.port), this.extraConfig);
    this.port = Number(this.config.server.port);
    this.baseUrl = `http://127.0.0.1:${this.port}`;
    this.configPath = path.join(this.dir, 'idgate.ini');
    writeFileSync(this.configPath, iniText(this.config));
  }

  url(p = '/') {
    return this.baseUrl + p;
  }

  fetch(p, options) {
    return fetch(this.url(p), options);
  }

  get pid() {
    return this.child ? this.child.pid : undefined;
  }

  // Starts the process and waits until GET /healthz returns 200.
  async start() {
    const child = spawn(idgateBin, ['serve', '--config', this.configPath], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    child.stdout.on('data', (d) => { this.stdout += d; });
    child.stderr.on('data', (d) => { this.stderr += d; });
    this.exitPromise = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        running.delete(child);
        this.exitCode = code;
        this.exitSignal = signal;
        resolve(code ?? (signal === 'SIGKILL' ? 137 : 128));
      });
    });
    await this.waitHealthy();
    return this;
  }

  async waitHealthy() {
    const deadline = Date.now() + this.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined && this.child.exitCode !== null) break;
      try {
        const res = await fetch(this.url('/healthz'));
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      await sleep(25);
    }
    const code = this.child.exitCode;
    this.child.kill('SIGKILL');
    throw new Error(`idgate did not become healthy (exit code ${code})\n${this.stderr}`);
  }

  // Everything the server wrote to stderr so far (all runs).
  logs() {
    return this.stderr;
  }

  // Log lines parsed as JSON (with log.format = json); other lines skipped.
  jsonLogs() {
    return this.stderr.split('\n').flatMap((line) => {
      try { return [JSON.parse(line)]; } catch { return []; }
    });
  }

  // Waits until the log matches `pattern` (a RegExp or string).
  async waitForLog(pattern, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    const re = typeof pattern === 'string' ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : pattern;
    while (Date.now() < deadline) {
      if (re.test(this.stderr)) return;
      await sleep(20);
    }
    throw new Error(`log did not match ${re} within ${timeoutMs} ms\n${this.stderr}`);
  }

  // Runs `idgate <args>` with this server's configuration and environment.
  cli(args, { env = {}, input, timeoutMs } = {}) {
    return runProcess(args, {
      env: { ...this.env, IDGATE_CONFIG: this.configPath, ...env },
      input,
      timeoutMs,
    });
  }

  async cliJson(args) {
    const out = await this.cli(args);
    if (out.code !== 0 || out.json === undefined) {
      throw new Error(`idgate ${args.join(' ')} exited ${out.code}: ${out.stderr}${out.stdout}`);
    }
    return out.json;
  }

  createAccount(name, { domain } = {}) {
    const args = ['account', 'create', '--name', name];
    if (domain) args.push('--domain', domain);
    return this.cliJson(args);
  }

  createScimKey(accountId) {
    return this.cliJson(['scim-key', 'create', '--account', accountId]);
  }

  // Sends `signal` and waits for the exit; resolves to the exit code.
  async signal(signal, timeoutMs = 20000) {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode) {
      return this.exitPromise;
    }
    this.child.kill(signal);
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const result = await Promise.race([this.exitPromise, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`idgate did not exit within ${timeoutMs} ms of ${signal}\n${this.stderr}`);
    }
    return result;
  }

  stop(timeoutMs) {
    return this.signal('SIGTERM', timeoutMs);
  }

  kill9() {
    return this.signal('SIGKILL');
  }

  // Starts the server again on the same port, directory and store.
  async restart() {
    if (this.child && this.child.exitCode === null && !this.child.signalCode) await this.stop();
    this.exitCode = undefined;
    return this.start();
  }

  // Stops the server if it still runs and removes its directory.
  async cleanup() {
    if (this.child && this.child.exitCode === null && !this.child.signalCode) await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Starts idgate and resolves once it is healthy. Options: `config`
// (section -> key -> value, merged over the defaults), `env` (extra
// environment variables), `startTimeoutMs`.
export async function startIdgate(options = {}) {
  const srv = new Idgate(options);
  await srv.init();
  await srv.start();
  return srv;
}
