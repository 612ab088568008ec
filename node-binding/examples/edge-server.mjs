// An edge authorization server on Node with the `gatepass` package: token endpoint, RFC 7591
// registration (behind an initial access token), RFC 7592 client management, JWKS and RFC 8414
// metadata, served by node:http on loopback. The README's main command (`make demo`) runs it
// and points Envoy's gatepass filter at its JWKS (remote_jwks).
//
//   GATEPASS_ISSUER=https://auth.example GATEPASS_INITIAL_ACCESS_TOKEN=... \
//   GATEPASS_AUDIENCE=https://api.example node node-binding/examples/edge-server.mjs
//
// Environment:
//   GATEPASS_ISSUER                 issuer identifier (https; http only for loopback)
//   GATEPASS_AUDIENCE               audience of the tokens (default_audiences)
//   GATEPASS_INITIAL_ACCESS_TOKEN   the token registration requires (only its SHA-256 is kept)
//   GATEPASS_ALLOWED_SCOPE          scopes registered clients may ask for (space-separated)
//   GATEPASS_SIGNING_ALG            signing algorithm of the generated key (default EdDSA)
//   PORT                            port on 127.0.0.1 (default 0: any free port)
//
// Prints one line `gatepass edge server: <origin> ...` once it listens; stops on SIGTERM/SIGINT.
// The signing key is generated at start and kept in memory, as are clients and replay keys
// (MemoryClientStore, MemoryReplayStore): a demo, not a deployment.
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { AuthorizationServer, generateSigningKey, hashClientSecret } from 'gatepass';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`edge-server: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const issuer = required('GATEPASS_ISSUER');
const server = new AuthorizationServer({
  config: {
    issuer,
    signing_keys: [generateSigningKey(process.env.GATEPASS_SIGNING_ALG ?? 'EdDSA')],
    default_audiences: [required('GATEPASS_AUDIENCE')],
    token_ttl: '900s',
    registration: {
      allowed_scope: process.env.GATEPASS_ALLOWED_SCOPE ?? 'orders:read',
      initial_access_token_hash: hashClientSecret(required('GATEPASS_INITIAL_ACCESS_TOKEN')),
    },
  },
  onError: (e) => console.error('edge-server: request failed:', e),
});

// node:http request -> fetch Request -> server.handle -> node:http response.
const http = createServer(async (req, res) => {
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) headers.append(name, v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const response = await server.handle(
      new Request(new URL(req.url, issuer), {
        method: req.method,
        headers,
        body: hasBody ? Readable.toWeb(req) : undefined,
        duplex: 'half',
      }),
    );
    res.writeHead(response.status, [...response.headers].flat());
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    console.error('edge-server:', e);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = http.address();
  console.log(`gatepass edge server: http://127.0.0.1:${port} issuer ${issuer} (Node ${process.version})`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    http.close(() => process.exit(0));
    http.closeAllConnections();
  });
}
