// The cross-shell vectors (tests/vectors/cross-shell/cases.json) give the same verdicts through
// the package's verifyAccessToken as in the core and the Envoy filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AuthorizationServer, verifyAccessToken } from 'gatepass';

const doc = JSON.parse(readFileSync(new URL('../../tests/vectors/cross-shell/cases.json', import.meta.url), 'utf8'));

for (const c of doc.cases) {
  test(`cross-shell: ${c.name}`, async () => {
    if (c.status === 200) {
      const claims = await verifyAccessToken(c.token, doc.provider, { scopes: c.scopes });
      assert.equal(claims.client_id, 'billing');
    } else {
      await assert.rejects(verifyAccessToken(c.token, doc.provider, { scopes: c.scopes }), (e) => {
        assert.equal(e.status, c.status);
        assert.equal(e.code, c.error);
        return true;
      });
    }
  });
}

// Client assertions (tests/vectors/cross-shell/assertions.json): token requests answered in
// order by one AuthorizationServer (one replay store) on the file's clock, as in the core.
const assertions = JSON.parse(readFileSync(new URL('../../tests/vectors/cross-shell/assertions.json', import.meta.url), 'utf8'));

test('cross-shell: client assertion requests get the same answers', async () => {
  const server = new AuthorizationServer({ config: assertions.server, now: () => assertions.now });
  assert.ok(assertions.requests.length >= 27);
  const mismatches = [];
  for (const c of assertions.requests) {
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    if (c.authorization) headers.authorization = c.authorization;
    const response = await server.handle(
      new Request(assertions.server.issuer + assertions.token_path, { method: 'POST', headers, body: c.body }),
    );
    const body = await response.json();
    const got = `${response.status} ${body.error ?? null}`;
    const want = `${c.status} ${c.error ?? null}`;
    if (got !== want) mismatches.push(`${c.name}: got ${got}, expected ${want}`);
    if (response.status === 200) assert.equal(typeof body.access_token, 'string', c.name);
  }
  assert.deepEqual(mismatches, []);
});
