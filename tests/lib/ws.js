// A promise-based WebSocket client for tests, on the `ws` package.
import net from 'node:net';
import WebSocket from 'ws';

export class Client {
  constructor(url, opts = {}) {
    this.frames = [];
    this.taken = new WeakSet();
    this.waiters = [];
    this.ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', () => resolve(this));
      this.ws.on('unexpected-response', (req, res) => {
        const e = new Error(`HTTP ${res.statusCode}`);
        e.status = res.statusCode;
        e.headers = res.headers;
        reject(e);
      });
      this.ws.on('error', (e) => reject(e));
    });
    this.ws.on('message', (data, isBinary) => {
      const f = isBinary ? { binary: data } : JSON.parse(data.toString());
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => !w(f));
    });
  }

  /** The next frame (already received or future) matching type/predicate. */
  next(type, timeoutMs = 5000, pred = () => true) {
    const match = (f) => (type === null || f.type === type) && pred(f);
    const seen = this.frames.findIndex((f) => !this.taken.has(f) && match(f));
    if (seen >= 0) {
      this.taken.add(this.frames[seen]);
      return Promise.resolve(this.frames[seen]);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.waiters.push((f) => {
        if (this.taken.has(f) || !match(f)) return false;
        this.taken.add(f);
        clearTimeout(timer);
        resolve(f);
        return true;
      });
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

/** Open and wait for connection_established. */
export async function connect(url, opts) {
  const c = new Client(url, opts);
  await c.opened;
  c.established = await c.next('connection_established');
  return c;
}

/** The HTTP status of a refused handshake (or 101). */
export async function handshakeStatus(url, opts) {
  const c = new Client(url, opts);
  try {
    await c.opened;
    c.ws.terminate();
    return 101;
  } catch (e) {
    return e.status ?? -1;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Bytes written as they are on a new loopback connection to port; resolves
 * with all the server sent (a string) once it closes, or after ms.
 */
export function exchange(port, bytes, ms = 3000) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('data', (d) => { got += d; });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.write(bytes);
  });
}

/** A WebSocket upgrade request head for path, with extra header lines. */
export const upgradeHead = (path, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\n${extra}\r\n`;
