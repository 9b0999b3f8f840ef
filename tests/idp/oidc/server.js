// A real OpenID Connect provider for eim's SSO tests: node-oidc-provider (OpenID certified),
// with its own login and consent pages ("dev interactions": any login, any password).
//
// Environment:
//   PORT           port on 127.0.0.1
//   REDIRECT_URIS  the relying party's callback URLs, space-separated
//   LOGOUT_URIS    post_logout_redirect_uris, space-separated
//   JWKS_FILE      a JSON file {"keys": [private JWKs]}: the signing keys (first one signs)
//   ACCOUNTS_FILE  a JSON file {"<login>": {claims}}, read at each sign-in (tests change it)
// Prints "ready <issuer>" once it listens.
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const readJson = (path) => JSON.parse(fs.readFileSync(path, 'utf8'));

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'eim',
    client_secret: 'eim-test-secret',
    redirect_uris: process.env.REDIRECT_URIS.split(' '),
    post_logout_redirect_uris: (process.env.LOGOUT_URIS || '').split(' ').filter(Boolean),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: readJson(process.env.JWKS_FILE),
  pkce: { methods: ['S256'], required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  // Every claim of the granted scopes in the ID token (Okta and Entra can do the same).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(ctx, id) {
    const accounts = readJson(process.env.ACCOUNTS_FILE);
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  cookies: { keys: ['eim-test-cookie-key'] },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
