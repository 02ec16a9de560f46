// The README's first command: deploy/dev up starts PostgreSQL, Redis and the
// hub, seeds the demo, prints working URLs, and stops everything on Ctrl-C.
// Runs in the native pass only: deploy/dev up picks its nodes' server itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { ROOT, freePort } from '../lib/hub.js';
import { connect, Client } from '../lib/ws.js';

test('deploy/dev up serves the seed check and stops cleanly on SIGINT', { timeout: 180000 }, async () => {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chathub-devup-'));
  const proc = spawn('bash', [path.join(ROOT, 'deploy', 'dev'), 'up'], {
    env: { ...process.env, HUB_LISTEN: `127.0.0.1:${port}`, CHATHUB_DEV_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
  try {
    const deadline = Date.now() + 150000;
    while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && proc.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(out.includes('Ctrl-C stops everything'), `dev up did not come up:\n${out}`);
    const head = await fetch(`http://127.0.0.1:${port}/ws/chat/1/`, { method: 'HEAD' });
    assert.equal(head.status, 426);
    const tokens = [...out.matchAll(/ws:\/\/localhost:\d+\/ws\/chat\/1\/\?token=(\S+)/g)].map((m) => m[1]);
    assert.equal(tokens.length, 3, 'three demo users printed');
    const url = (t) => `ws://127.0.0.1:${port}/ws/chat/1/?token=${t}`;
    const student = await connect(url(tokens[0]));
    const parent = await connect(url(tokens[2]));
    student.send({ type: 'chat_message', message: 'Test message', room_id: 1 });
    const a = await student.next('chat_message');
    const b = await parent.next('chat_message');
    assert.deepEqual(a, b);
    assert.equal(a.message.content, 'Test message');
    await student.close();
    await parent.close();

    // A second run from the same directory, or onto the same port, says why
    // and leaves the first alone (it used to stop the first one's PostgreSQL).
    const second = (env) => new Promise((resolve) => {
      const p = spawn('bash', [path.join(ROOT, 'deploy', 'dev'), 'up'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.stderr.on('data', (d) => (text += d));
      const timer = setTimeout(() => p.kill('SIGINT'), 60000);
      p.once('exit', (code) => { clearTimeout(timer); resolve({ code, text }); });
    });
    const again = await second({ HUB_LISTEN: `127.0.0.1:${await freePort()}`, CHATHUB_DEV_DIR: dir });
    assert.equal(again.code, 1, again.text);
    assert.match(again.text, /already running from/);
    const other = mkdtempSync(path.join(os.tmpdir(), 'chathub-devup-'));
    const taken = await second({ HUB_LISTEN: `127.0.0.1:${port}`, CHATHUB_DEV_DIR: other });
    rmSync(other, { recursive: true, force: true });
    assert.equal(taken.code, 1, taken.text);
    assert.match(taken.text, new RegExp(`HUB_LISTEN=127\\.0\\.0\\.1:${port}: that port is taken`));
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(ready.status, 200, `the first run still serves: ${await ready.text()}`);
  } finally {
    proc.kill('SIGINT');
    const { code } = await exited;
    const pgdir = path.join(dir, 'pg', 'data');
    const pidfile = path.join(pgdir, 'postmaster.pid');
    assert.ok(!existsSync(pidfile), `PostgreSQL still running: ${existsSync(pidfile) && readFileSync(pidfile, 'utf8')}`);
    assert.ok(code === 0 || code === 130 || code === null, `exit code ${code}\n${out}`);
    assert.ok(out.includes('dev: stopped'), `no clean stop:\n${out}`);
    rmSync(dir, { recursive: true, force: true });
  }
});

// A run killed with -9 leaves its servers: the next run from the same
// directory stops them (it stopped only the PostgreSQL, and the old nginx
// went on answering on the old port, an audit) and comes up.
test('deploy/dev up after a run killed with -9 stops what that run left and serves', { timeout: 240000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chathub-devup-'));
  const up = async (port) => {
    const proc = spawn('bash', [path.join(ROOT, 'deploy', 'dev'), 'up'], {
      env: { ...process.env, HUB_LISTEN: `127.0.0.1:${port}`, CHATHUB_DEV_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run = { proc, out: '' };
    proc.stdout.on('data', (d) => (run.out += d));
    proc.stderr.on('data', (d) => (run.out += d));
    const deadline = Date.now() + 100000;
    while (!run.out.includes('Ctrl-C stops everything') && Date.now() < deadline && proc.exitCode === null) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(run.out.includes('Ctrl-C stops everything'), `dev up did not come up:\n${run.out}`);
    return run;
  };
  const first = await up(await freePort());
  const pids = readFileSync(path.join(dir, 'up.pids'), 'utf8').split(/\s+/).filter(Boolean).map(Number);
  assert.ok(pids.length >= 3, `redis, nodes and nginx listed: ${pids}`);
  first.proc.kill('SIGKILL');
  await new Promise((r) => first.proc.once('exit', r));
  const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  assert.ok(pids.some(alive), 'kill -9 of the script leaves its servers');
  const port = await freePort();
  const second = await up(port);
  try {
    assert.match(second.out, /left running by an earlier run/);
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids.filter(alive), [], 'the first run\'s servers are gone');
    assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
  } finally {
    const exited = new Promise((r) => second.proc.once('exit', r));
    second.proc.kill('SIGINT');
    await exited;
    assert.ok(!existsSync(path.join(dir, 'pg', 'data', 'postmaster.pid')), 'PostgreSQL stopped');
    rmSync(dir, { recursive: true, force: true });
  }
});
