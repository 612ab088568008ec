// The cross-shell vectors (tests/vectors/cross-shell/cases.json) give the same verdicts through
// the package's verifyAccessToken as in the core and the Envoy filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { verifyAccessToken } from 'gatepass';

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
