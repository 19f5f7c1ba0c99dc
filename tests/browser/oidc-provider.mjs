// A stand-in OpenID provider for the console's browser test, written from OpenID Connect Core 1.0,
// Discovery 1.0 and RFC 7636 on Node's http and crypto: discovery, an authorization endpoint that
// signs in the user the test chose and redirects back with a code (checking the client, the
// redirect URI and an S256 challenge), a token endpoint that checks the client's secret and the
// PKCE verifier and answers an RS256 ID token, and the JWKS. The C++ tests have a fuller one
// (tests/oidc_standin.h) with spoilt tokens and key rotation.
import { createServer } from 'node:http';
import { generateKeyPairSync, createSign, createHash, randomBytes } from 'node:crypto';

const b64url = (buffer) => Buffer.from(buffer).toString('base64url');

/**
 * Starts a provider on a free loopback port.
 * @param {{clientId: string, clientSecret: string, user: {sub: string, preferred_username: string, name: string, groups: string[]}}} options
 * @returns {Promise<{issuer: string, close: () => void, requests: Record<string, number>}>}
 */
export async function startProvider({ clientId, clientSecret, user }) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'browser-1', use: 'sig', alg: 'RS256' };
  const grants = new Map();
  const requests = {};
  let issuer = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url, issuer);
    requests[url.pathname] = (requests[url.pathname] || 0) + 1;
    const json = (status, body) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
                         jwks_uri: `${issuer}/jwks`, end_session_endpoint: `${issuer}/logout`,
                         response_types_supported: ['code'], code_challenge_methods_supported: ['S256'],
                         id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('client_id') !== clientId || q.get('code_challenge_method') !== 'S256' || !q.get('nonce')) {
        return json(400, { error: 'invalid_request' });
      }
      const code = b64url(randomBytes(16));
      grants.set(code, { nonce: q.get('nonce'), challenge: q.get('code_challenge'), redirect: q.get('redirect_uri') });
      res.writeHead(302, { Location: `${q.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(q.get('state'))}` });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
        if (req.headers.authorization !== basic) return json(401, { error: 'invalid_client' });
        const grant = grants.get(form.get('code'));
        grants.delete(form.get('code'));
        if (!grant || grant.redirect !== form.get('redirect_uri') ||
            b64url(createHash('sha256').update(form.get('code_verifier') || '').digest()) !== grant.challenge) {
          return json(400, { error: 'invalid_grant' });
        }
        const now = Math.floor(Date.now() / 1000);
        const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: jwk.kid }));
        const claims = b64url(JSON.stringify({ iss: issuer, aud: clientId, iat: now, exp: now + 300, nonce: grant.nonce, ...user }));
        const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(privateKey);
        return json(200, { access_token: 'unused', token_type: 'Bearer', id_token: `${header}.${claims}.${b64url(signature)}` });
      });
      return undefined;
    }
    return json(404, { error: 'not_found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  return { issuer, requests, close: () => server.close() };
}

/** A free loopback port (the service's redirect URI must name its port before it starts). */
export async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
