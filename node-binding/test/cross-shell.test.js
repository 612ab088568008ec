// The cross-shell and attack vectors (tests/vectors/) give the same verdicts through the
// package's verifyAccessToken and token endpoint as in the core and the Envoy filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AuthorizationServer, GatepassError, verifyAccessToken } from 'gatepass';

// Token vectors: the cross-shell cases and the attack cases (tests/vectors/attacks/tokens.json:
// alg none, algorithm confusion, r = s = 0, embedded keys, crit/b64, duplicates, non-canonical
// base64url, size and nesting bounds, wrong typ, time and audience claims).
for (const file of ['cross-shell/cases.json', 'attacks/tokens.json']) {
  const doc = JSON.parse(readFileSync(new URL(`../../tests/vectors/${file}`, import.meta.url), 'utf8'));
  test(`${file}: every case gets its answer from verifyAccessToken`, async () => {
    assert.ok(doc.cases.length >= 16);
    const mismatches = [];
    for (const c of doc.cases) {
      let got;
      try {
        const claims = await verifyAccessToken(c.token, doc.provider, { scopes: c.scopes });
        assert.equal(claims.client_id, 'billing', c.name);
        got = '200 null';
      } catch (e) {
        if (!(e instanceof GatepassError)) throw e;
        got = `${e.status} ${e.code}`;
      }
      if (got !== `${c.status} ${c.error}`) mismatches.push(`${c.name}: got ${got}, expected ${c.status} ${c.error}`);
    }
    assert.deepEqual(mismatches, []);
  });
}

// Client assertions (tests/vectors/cross-shell/assertions.json): token and introspection requests answered in
// order by one AuthorizationServer (one replay store) on the file's clock, as in the core.
const assertions = JSON.parse(readFileSync(new URL('../../tests/vectors/cross-shell/assertions.json', import.meta.url), 'utf8'));

test('cross-shell: client assertion requests get the same answers', async () => {
  const server = new AuthorizationServer({ config: assertions.server, now: () => assertions.now });
  assert.ok(assertions.requests.length >= 54);
  const mismatches = [];
  for (const c of assertions.requests) {
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    if (c.authorization) headers.authorization = c.authorization;
    const response = await server.handle(
      new Request(assertions.server.issuer + c.path, { method: 'POST', headers, body: c.body }),
    );
    const body = await response.json();
    const got = `${response.status} ${body.error ?? null}`;
    const want = `${c.status} ${c.error ?? null}`;
    if (got !== want) mismatches.push(`${c.name}: got ${got}, expected ${want}`);
    // An introspection verdict (`active`), or a token.
    if (c.active !== null && body.active !== c.active) mismatches.push(`${c.name}: active ${body.active}, expected ${c.active}`);
    if (response.status === 200 && c.active === null) assert.equal(typeof body.access_token, 'string', c.name);
  }
  assert.deepEqual(mismatches, []);
});
