// Runs the sign-in tests of tests/oidc in this folder's test run. They need Chromium
// (/usr/bin/chromium), nginx and the npm packages of tests/package.json, and fail with a
// clear message when one is missing.
import '../oidc/harness.test.mjs';
import '../oidc/signin.test.mjs';
import '../oidc/tokens.test.mjs';
import '../oidc/redirects.test.mjs';
import '../oidc/sessions.test.mjs';
import '../oidc/nginx.test.mjs';
