/**
 * @module cc/server
 * The CC's HTTP endpoint (port 8774, `POST /cc/v1/<Operation>`) and its node polling loop.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleRpcRequest, CcOps, CC_RPC_PREFIX } from '../rpc/index.js';
import type { ClusterController } from './controller.js';

export interface CcServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Shared secret the CLC signs with (rpc/http). */
  secret?: string;
  /** Node polling interval (Eucalyptus NC_POLLING_FREQUENCY; default 3 s). 0 disables the loop. */
  pollIntervalMs?: number;
}

export interface RunningCc {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startCcServer(cc: ClusterController, opts: CcServerOptions, log: { error: (o: object, m: string) => void }): Promise<RunningCc> {
  const impl = cc.rpc();
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      // Serving is ENABLED, as Eucalyptus reports a CC; the body tells how many of its nodes are schedulable.
      const nodes = cc.describeNodes();
      const body = JSON.stringify({ zone: cc.zone, nodes: nodes.length, enabledNodes: nodes.filter((n) => n.state === 'ENABLED').length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    handleRpcRequest(req, res, CC_RPC_PREFIX, CcOps, impl, {
      ...(opts.secret ? { secret: opts.secret } : {}),
      onInternalError: (op, e) => log.error({ op, err: e }, 'cc operation failed'),
    }).then((handled) => {
      if (!handled) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'InvalidAction', message: 'not a CC endpoint' } }));
      }
    }).catch((e: unknown) => {
      log.error({ err: e }, 'cc request failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  const interval = opts.pollIntervalMs ?? 3000;
  if (interval > 0) {
    timer = setInterval(() => {
      if (polling) return;
      polling = true;
      cc.poll().catch((e: unknown) => log.error({ err: e }, 'poll failed')).finally(() => {
        polling = false;
      });
    }, interval);
    timer.unref();
  }
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: async () => {
      if (timer) clearInterval(timer);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
