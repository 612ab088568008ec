// One server of the Node fleet test (test/fleet.test.js): the package's AuthorizationServer with
// the Redis stores, served over node:http on an ephemeral loopback port. The configuration is
// the JSON in $GATEPASS_CONFIG, Redis is $REDIS_URL. Prints `listening <origin>` once ready;
// exits on SIGTERM.
import { createClient } from 'redis';
import { AuthorizationServer, RedisClientStore, RedisReplayStore } from 'gatepass';
import { listen } from './http-adapter.js';

// As the package README recommends: while Redis is down a call fails at once instead of
// waiting in node-redis's offline queue; node-redis reconnects by itself.
const redis = createClient({
  url: process.env.REDIS_URL,
  disableOfflineQueue: true,
  socket: { reconnectStrategy: () => 100 },
});
redis.on('error', () => {}); // reconnection is node-redis's; failures reach the server as 503s
await redis.connect();
const server = new AuthorizationServer({
  config: process.env.GATEPASS_CONFIG,
  clientStore: new RedisClientStore(redis),
  replayStore: new RedisReplayStore(redis),
  storeTimeoutMs: 2000,
  onError: () => {},
});
const http = await listen((request) => server.handle(request));
process.stdout.write(`listening ${http.origin}\n`);
process.on('SIGTERM', async () => {
  await http.close();
  redis.destroy();
  process.exit(0);
});
