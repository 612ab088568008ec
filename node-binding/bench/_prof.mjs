import * as jose from 'jose';
import { createHash, timingSafeEqual, randomBytes } from 'node:crypto';
import { AuthorizationServer, generateSigningKey, generateClientSecret, hashClientSecret, verifyAccessToken } from 'gatepass';
const ISSUER = 'https://as.example', API = 'https://api.example';
const alg = process.argv[2] ?? 'ES256';
const mode = process.argv[3] ?? 'token';
const key = generateSigningKey(alg, 'k');
const secret = generateClientSecret();
const server = new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [key], default_audiences: [API],
  clients: [{ client_id: 'billing', client_secret_hash: hashClientSecret(secret), scope: 'orders:read' }] } });
const basic = `Basic ${btoa(`billing:${secret}`)}`;
const req = () => new Request(`${ISSUER}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: 'grant_type=client_credentials' });
const { access_token: token } = await (await server.handle(req())).json();
const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(server.jwks()) } };
const privateKey = await jose.importJWK(key, alg);
const storedHash = createHash('sha256').update(secret).digest();
async function joseEndpoint(req) {
  const auth = req.headers.get('authorization') ?? '';
  const [id, pw] = atob(auth.slice(6)).split(':');
  const form = new URLSearchParams(await req.text());
  const given = createHash('sha256').update(decodeURIComponent(pw ?? '')).digest();
  if (id !== 'billing' || !timingSafeEqual(given, storedHash) || form.get('grant_type') !== 'client_credentials') return new Response('', { status: 401 });
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ client_id: id, scope: 'orders:read', jti: randomBytes(16).toString('base64url') })
    .setProtectedHeader({ alg, kid: key.kid, typ: 'at+jwt' }).setIssuer(ISSUER).setSubject(id).setAudience(API).setIssuedAt(now).setExpirationTime(now + 3600).sign(privateKey);
  return new Response(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: 'orders:read' }), { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}
const t0 = performance.now(); let n = 0;
while (performance.now() - t0 < 4000) {
  for (let i = 0; i < 50; i++) {
    if (mode === 'token') await (await server.handle(req())).text(); else if (mode === 'jose') await (await joseEndpoint(req())).text(); else await verifyAccessToken(token, provider, { scopes: ['orders:read'] });
  }
  n += 50;
}
console.log(mode, alg, (n * 1000 / (performance.now() - t0)).toFixed(0), 'ops/s');
