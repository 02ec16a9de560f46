// Private Redis and nginx processes for tests that kill, restart or proxy them.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort } from './hub.js';

function waitPort(port, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} not open`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** A Redis on a free port, with extra server args (e.g. ['--requirepass', 'x']); start() brings it back on the same port. */
export async function startRedis(args = []) {
  const port = await freePort();
  const r = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: null,
    async start() {
      this.proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', ...args], { stdio: 'ignore' });
      await waitPort(port);
    },
    async stop(signal = 'SIGKILL') {
      if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
      const done = new Promise((res) => this.proc.once('exit', res));
      this.proc.kill(signal);
      await done;
    },
  };
  await r.start();
  return r;
}

/** nginx in front of the given hub ports, rendered from deploy/nginx/chathub.conf.in. */
export async function startNginx(hubPorts) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chathub-nginx-'));
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d));
  const servers = hubPorts.map((p) => `        server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n');
  const conf = readFileSync(path.join(ROOT, 'deploy', 'nginx', 'chathub.conf.in'), 'utf8')
    .replaceAll('@PREFIX@', dir).replaceAll('@LISTEN@', `127.0.0.1:${port}`).replaceAll('@SERVERS@', servers);
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const proc = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => (log += d));
  await waitPort(port).catch((e) => { throw new Error(`${e.message}: ${log}`); });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: (p) => `ws://127.0.0.1:${port}${p}`,
    dir,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((res) => proc.once('exit', res));
        proc.kill('SIGQUIT');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

function asPostgres(cmd, args) {
  const { execFileSync } = require_child();
  if (process.getuid && process.getuid() === 0) return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
  return execFileSync(cmd, args, { stdio: 'pipe' });
}

let childProcess;
function require_child() {
  return childProcess;
}

/** A private PostgreSQL that a test may stop and start (PostgreSQL never runs as root). */
export async function startPostgres() {
  childProcess = await import('node:child_process');
  const { chmodSync, chownSync } = await import('node:fs');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chathub-pg-'));
  chmodSync(dir, 0o755);
  if (process.getuid && process.getuid() === 0) {
    const uid = Number(childProcess.execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, 0);
  }
  asPostgres(`${PG_BIN}/initdb`, ['-D', `${dir}/data`, '-A', 'trust', '-E', 'UTF8', '-U', 'postgres', '--no-sync']);
  const pg = {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start() {
      asPostgres(`${PG_BIN}/pg_ctl`, ['-D', `${dir}/data`, '-w', '-l', `${dir}/log`, '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
    },
    stop(mode = 'fast') {
      try { asPostgres(`${PG_BIN}/pg_ctl`, ['-D', `${dir}/data`, '-w', '-m', mode, 'stop']); } catch {}
    },
    destroy() {
      this.stop('immediate');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  pg.start();
  return pg;
}
