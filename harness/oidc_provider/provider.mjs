// A real OpenID Connect provider for the login tests: the certified `oidc-provider` on 127.0.0.1.
// node provider.mjs PORT CLIENT_SECRET REDIRECT_URI...
// One client, "digits". Its development login form takes any name (no password is checked) and the
// account's email is NAME@school.test, so a test logs in as whoever it needs.
import Provider from "oidc-provider";

const [port, secret, ...redirects] = process.argv.slice(2);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{ client_id: "digits", client_secret: secret, redirect_uris: redirects,
              post_logout_redirect_uris: redirects }],  // Streamlit sends its callback after logout
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@school.test`, email_verified: true, name: id }),
  }),
  features: { devInteractions: { enabled: true } },
  conformIdTokenClaims: false,  // the email in the ID token too: Streamlit reads the user from it, not from userinfo
});
provider.listen(Number(port), "127.0.0.1", () => console.log(`oidc-provider on ${provider.issuer}`));
