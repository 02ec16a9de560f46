// Test harness: real hub processes on free ports against the real PostgreSQL
// (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL) that deploy/dev test started.
// Each startHub() gets its own database unless opts.database names one.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes, createHmac } from 'node:crypto';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = process.env.CHATHUB_ROOT ?? path.resolve(import.meta.dirname ?? '.', '..', '..');
export const BIN = process.env.CHATHUB_BIN ?? path.join(ROOT, 'build', 'hub', 'chathub');
const BASE_URL = process.env.TEST_DATABASE_URL;
// Which WebSocket server every hub a suite starts runs: TEST_HUB_WS_NATIVE=0
// libwebsockets, 1 the hub's own (hub_wsock.c); unset, the hub's default (1).
const WS_NATIVE_ENV = process.env.TEST_HUB_WS_NATIVE;
export const WS_NATIVE = (WS_NATIVE_ENV ?? '1') === '1';
// A test's `skip` when what it checks does not go through the WebSocket
// server (Redis and PostgreSQL outages, presence timing, the HTTP API):
// CI runs the suite once per server, and such a test runs in the native
// pass alone, which is also the sanitized one. Whole files say so with a
// line `// Runs in the native pass only` that deploy/dev looks for.
export const NATIVE_PASS_ONLY = !WS_NATIVE && 'no WebSocket part: the native pass runs it';

export function requireServers(t) {
  if (!BASE_URL) {
    t.skip('TEST_DATABASE_URL not set (run deploy/dev test)');
    return false;
  }
  return true;
}

function bindable(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(0));
    s.listen(port, '127.0.0.1', () => {
      const { port: got } = s.address();
      s.close(() => resolve(got));
    });
  });
}

/** The kernel's range for outgoing connections' ports, whose ports a port
 * picked there may be handed to before a server binds it. */
function ephemeralLow() {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/**
 * A port free now, for a server about to start. Picked at random below the
 * kernel's ephemeral range where there is room (the tests' own connections
 * to PostgreSQL, Redis and the hubs take ports from that range, and could
 * take this one before the server binds it); else any the kernel gives.
 */
export async function freePort() {
  const low = ephemeralLow();
  // From 10100: fetch() and browsers refuse the "bad ports" of the Fetch
  // standard, the highest of which is 10080 (a hub there never got ready).
  for (let i = 0; low > 11000 && i < 50; i++) {
    const port = await bindable(10100 + Math.floor(Math.random() * (low - 10100)));
    if (port !== 0) return port;
  }
  return bindable(0);
}

export function psql(sql, url = BASE_URL) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
}

// Databases this test process made, dropped when it exits: a developer's
// long-lived server would otherwise gather one per test file and run.
const madeDatabases = new Set();
process.on('exit', () => {
  for (const name of madeDatabases) {
    try {
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch {}
  }
});

/** A fresh, empty database; returns its URL. */
export function createDatabase() {
  const name = `t_${randomBytes(6).toString('hex')}`;
  psql(`CREATE DATABASE ${name}`);
  madeDatabases.add(name);
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

const b64url = (b) => Buffer.from(b).toString('base64url');

/** An HS256 JWT signed like Django simplejwt's; claims override the defaults. */
export function signJwt(secret, claims, header = { alg: 'HS256', typ: 'JWT' }) {
  const now = Math.floor(Date.now() / 1000);
  const body = { exp: now + 3600, iat: now, token_type: 'access', ...claims };
  const head = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(body))}`;
  const sig = createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

// With CHATHUB_BIN built with -fsanitize=address,undefined, a report in the
// hub's output fails the test that stopped it (UBSan only prints and goes on).
export function assertNoSanitizerReport(log) {
  const at = log.search(/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/);
  if (at >= 0) throw new Error(`sanitizer report in the hub's log:\n${log.slice(Math.max(0, at - 200), at + 4000)}`);
}

function waitReady(url, proc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (proc.exitCode !== null) return reject(new Error(`hub exited with ${proc.exitCode}`));
      try {
        const r = await fetch(`${url}/ready`);
        if (r.status === 200) return resolve();
      } catch {}
      if (Date.now() > deadline) return reject(new Error('hub not ready in time'));
      setTimeout(tick, 100);
    };
    tick();
  });
}

/**
 * Start a hub. opts: env (extra variables), database (URL), secret, apiKey,
 * redis (true: TEST_REDIS_URL; a string: that URL), nodeId, migrate (default
 * true), wait (default true), nofile (the process's descriptor limit, set
 * with prlimit, which execs the hub in place).
 */
/**
 * A hub on a free port. freePort()'s port may be taken by another process
 * before the hub binds it (CI runs two test files at a time): the hub then
 * stops with listen_failed, and it starts again on another port, with the
 * same database.
 */
export async function startHub(opts = {}) {
  for (let attempt = 1; ; attempt++) {
    const database = opts.database ?? createDatabase();
    try {
      return await startHubOnce({ ...opts, database });
    } catch (e) {
      const taken = /event=hub\.listen_failed [^\n]*Address already in use/.test(e.message);
      if (opts.port !== undefined || attempt >= 3 || !taken) throw e;
      opts = { ...opts, database };
    }
  }
}

async function startHubOnce(opts) {
  const port = opts.port ?? await freePort();
  const database = opts.database ?? createDatabase();
  const secret = opts.secret ?? randomBytes(16).toString('hex');
  const apiKey = opts.apiKey ?? randomBytes(12).toString('hex');
  const env = {
    PATH: process.env.PATH,
    HUB_LISTEN: `127.0.0.1:${port}`,
    DATABASE_URL: database,
    HUB_JWT_SECRET: secret,
    HUB_API_KEY: apiKey,
    HUB_REDIS: opts.redis ? 'on' : 'off',
    HUB_NODE_ID: opts.nodeId ?? `node-${port}`,
    RUN_MIGRATIONS: opts.migrate === false ? '0' : '1',
    HUB_LOG_LEVEL: 'debug',
    ...(opts.redis ? { REDIS_URL: typeof opts.redis === 'string' ? opts.redis : process.env.TEST_REDIS_URL } : {}),
    // A whole suite run against the hub's own WebSocket server (hub_wsock.c).
    ...(WS_NATIVE_ENV !== undefined ? { HUB_WS_NATIVE: WS_NATIVE_ENV } : {}),
    ...opts.env,
  };
  const [cmd, args] = opts.nofile
    ? ['prlimit', [`--nofile=${opts.nofile}`, BIN, 'serve']]
    : [BIN, ['serve']];
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const hub = {
    port, url, database, secret, apiKey, proc,
    get log() { return log; },
    wsUrl: (p) => `ws://127.0.0.1:${port}${p}`,
    token: (userId, claims = {}) => signJwt(secret, { user_id: userId, ...claims }),
    async api(method, p, body, key = apiKey) {
      const headers = { 'Content-Type': 'application/json' };
      if (key !== null) headers.Authorization = `Bearer ${key}`;
      const r = await fetch(`${url}/api/v1${p}`, {
        method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await r.text();
      let json = null;
      try { json = JSON.parse(text); } catch {}
      return { status: r.status, json, text, headers: r.headers };
    },
    /** GET /metrics with the API key (the hub answers 401 without it). */
    metrics: (key = apiKey) => fetch(`${url}/metrics`, key === null ? {} : { headers: { Authorization: `Bearer ${key}` } }),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await done;
      clearTimeout(timer);
      if (process.env.TEST_HUB_CATLOG) process.stderr.write(log);
      assertNoSanitizerReport(log);
    },
  };
  if (opts.wait !== false) {
    try {
      await waitReady(url, proc, 15000);
    } catch (e) {
      await hub.stop('SIGKILL');
      throw new Error(`${e.message}\n--- hub log ---\n${log}`);
    }
  }
  return hub;
}

/**
 * Stop each group in turn (a group's members together), every one of them
 * whatever fails, then throw the first failure (a hub's stop throws on a
 * sanitizer report). Stopping the rest first matters: a live child server
 * would keep the test process from ever exiting.
 */
export async function stopAll(...groups) {
  let first = null;
  for (const g of groups) {
    const stops = [g].flat().filter(Boolean).map((x) => x.stop());
    for (const r of await Promise.allSettled(stops)) {
      if (r.status === 'rejected' && first === null) first = r.reason;
    }
  }
  if (first !== null) throw first;
}

/** Users 1 student, 2 teacher, 3 parent, 4 outsider; room 1 with 1, 2, 3. */
export async function seed(hub) {
  const users = [
    [1, 'Ivan Petrov', 'student'], [2, 'Maria Ivanova', 'teacher'],
    [3, 'Olga Petrova', 'parent'], [4, 'Out Sider', 'student'],
  ];
  for (const [id, full_name, role] of users) {
    const r = await hub.api('PUT', `/users/${id}`, { full_name, role, is_active: true });
    if (r.status !== 200) throw new Error(`seed user ${id}: ${r.status} ${r.text}`);
  }
  const r = await hub.api('PUT', '/rooms/1', { type: 'FORUM_SUBJECT', name: 'Mathematics', members: [1, 2, 3] });
  if (r.status !== 200 && r.status !== 201) throw new Error(`seed room: ${r.status} ${r.text}`);
}

/** Poll hub's /ready until it answers status (true) or timeoutMs ends (false). */
export async function readyBecomes(hub, status, timeoutMs = 40000) {
  const deadline = Date.now() + timeoutMs;
  do {
    if ((await fetch(`${hub.url}/ready`)).status === status) return true;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  return false;
}
