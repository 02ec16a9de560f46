// A TCP proxy on a free loopback port whose link a test can cut and restore,
// to give one hub node an outage of a shared server (Redis) that the other
// nodes do not see.
import net from 'node:net';

/**
 * Forward 127.0.0.1:<port> to 127.0.0.1:targetPort. cut() closes every
 * proxied connection and stops listening (new connects are refused), so the
 * client sees the peer go away at once; restore() listens again on the same
 * port. stall() silently drops whatever the client sends on the connections
 * open now (a link that died without a reset); later connections work.
 * close() is cut() for the end of a test.
 */
export async function startCuttableProxy(targetPort) {
  const sockets = new Set();
  const stalled = new WeakSet();
  let server = null;
  let port = 0;

  const pipe = (client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    client.on('data', (d) => {
      if (!stalled.has(client)) upstream.write(d);
    });
    upstream.pipe(client);
  };
  const listen = () => new Promise((resolve, reject) => {
    server = net.createServer(pipe);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      port = server.address().port;
      resolve();
    });
  });
  const cut = async () => {
    if (server === null) return;
    const closed = new Promise((resolve) => server.close(resolve));
    server = null;
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  };

  await listen();
  return {
    get port() { return port; },
    get url() { return `redis://127.0.0.1:${port}`; },
    cut,
    restore: listen,
    stall() {
      for (const s of sockets) stalled.add(s);
    },
    close: cut,
  };
}
