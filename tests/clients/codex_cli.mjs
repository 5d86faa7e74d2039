// Helpers for the Codex CLI suite (codex_cli.test.mjs): where the pinned `@openai/codex` package
// is, a private CODEX_HOME with a config.toml (and, for ChatGPT mode, a fake ChatGPT login), an
// HTTP tap that records what the CLI itself sent, and one `codex exec` run with a deadline.
//
// No request of the CLI may leave loopback: every proxy variable points at a closed loopback
// port (so anything that does not go to 127.0.0.1 fails at once instead of reaching the
// internet), NO_PROXY lets 127.0.0.1 through, the update check, analytics and feedback are off,
// and the CLI's environment is built from scratch (no HOME, OPENAI_API_KEY or proxy of the caller).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const CODEX_VERSION = '0.169.0';

// What the CLI prints when a WebSocket upgrade fails and it switches to HTTPS (and its retries
// before that, for the built-in provider).
export const WEBSOCKET_FALLBACK = /Falling back from WebSockets|Reconnecting\.\.\.|responses_websocket/;

// The pinned package (tests/clients/package.json, installed by scripts/setup through `npm ci`)
// and its platform binary. Throws with what to run when either is missing, so the test fails
// instead of passing without having run the CLI.
export function codexEntryPoint() {
  const pkgDir = path.join(HERE, 'node_modules', '@openai', 'codex');
  const pkgFile = path.join(pkgDir, 'package.json');
  if (!fs.existsSync(pkgFile)) {
    throw new Error('the Codex CLI (@openai/codex) is missing from tests/clients/node_modules: run scripts/setup (npm ci in tests/clients)');
  }
  const { version } = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  if (version !== CODEX_VERSION) {
    throw new Error(`tests/clients/node_modules has @openai/codex ${version}, the lock file pins ${CODEX_VERSION}: run scripts/setup`);
  }
  const nativeDir = path.join(HERE, 'node_modules', '@openai', `codex-${process.platform}-${process.arch}`);
  if (!fs.existsSync(path.join(nativeDir, 'package.json'))) {
    throw new Error(`the Codex CLI's native package for ${process.platform}-${process.arch} is missing (an optional dependency npm skipped): run scripts/setup`);
  }
  return path.join(pkgDir, 'bin', 'codex.js');
}

function base64url(obj) {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

// An unsigned JWT: the CLI only decodes the claims of its login (plan, account, expiry).
function fakeJwt(claims) {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.fake-signature`;
}

export const CHATGPT_ACCOUNT_ID = 'acct-cli-own-account';

// auth.json of a ChatGPT login as `codex login` writes it: `tokens.id_token` (a JWT whose
// `https://api.openai.com/auth` claims name the plan and account), `access_token` (a JWT too: the
// CLI refreshes when its `exp` is near, and a refresh would leave loopback), `refresh_token`,
// `account_id`, and `last_refresh` (recent, for the same reason).
export function chatgptAuthJson() {
  const exp = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
  const auth = {
    chatgpt_plan_type: 'plus',
    chatgpt_user_id: 'user-cli-test',
    chatgpt_account_id: CHATGPT_ACCOUNT_ID,
  };
  const accessToken = fakeJwt({ exp, 'https://api.openai.com/auth': auth });
  return {
    accessToken,
    json: {
      auth_mode: 'chatgpt',
      OPENAI_API_KEY: null,
      tokens: {
        id_token: fakeJwt({ email: 'cli-test@example.invalid', exp, 'https://api.openai.com/auth': auth }),
        access_token: accessToken,
        refresh_token: 'rt-cli-test-never-used',
        account_id: CHATGPT_ACCOUNT_ID,
      },
      last_refresh: new Date().toISOString(),
    },
  };
}

// A private CODEX_HOME with `configToml` (and `auth` as auth.json when given) and an empty
// working directory for the agent.
export function makeCodexHome(parentDir, name, { configToml, auth }) {
  const home = path.join(parentDir, `codex-home-${name}`);
  const work = path.join(parentDir, `codex-work-${name}`);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(path.join(home, 'config.toml'), configToml);
  if (auth) fs.writeFileSync(path.join(home, 'auth.json'), JSON.stringify(auth, null, 2), { mode: 0o600 });
  return { home, work };
}

// Runs `codex exec` through the npm package's entry point in its own process group; on the
// deadline the whole group is killed and the result says so. Resolves { code, signal, stdout,
// stderr, timedOut }.
export async function runCodexExec({ entryPoint, home, work, prompt, model, env = {}, deadlineMs }) {
  const blackhole = `http://127.0.0.1:${await freePort()}`;
  const childEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    HOME: home, // nothing of the user's ~/.codex or ~/.config
    CODEX_HOME: home,
    HTTP_PROXY: blackhole,
    HTTPS_PROXY: blackhole,
    ALL_PROXY: blackhole,
    http_proxy: blackhole,
    https_proxy: blackhole,
    all_proxy: blackhole,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...env,
  };
  const args = [
    entryPoint,
    'exec',
    '--skip-git-repo-check',
    // The command is the fake backend's `echo`; the CLI's sandbox needs user namespaces, which a
    // CI container may not grant, and is not what these tests are about.
    '--dangerously-bypass-approvals-and-sandbox',
    '--cd',
    work,
    '--model',
    model,
    prompt,
  ];
  const child = spawn(process.execPath, args, {
    cwd: work,
    env: childEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'], // stdin closed: `codex exec` would read more prompt from it
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const killGroup = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', killGroup);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, deadlineMs);
  const result = await new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, error: err.message }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  killGroup(); // helpers the CLI left behind
  process.removeListener('exit', killGroup);
  return { ...result, stdout, stderr, timedOut };
}

// A loopback HTTP relay in front of the proxy that records what the client sent (method, URL,
// headers, body size) before the proxy decodes anything: the only place a test can see the
// CLI's own `Content-Encoding`. Responses stream through unchanged. No WebSocket upgrades (they
// get 502): it serves the HTTP configurations only.
export async function startTap(targetPort) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, headers: req.headers, bodyBytes: body });
      const upstream = http.request(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`tap: ${err.message}`);
      });
      upstream.end(body);
    });
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, bodyBytes: Buffer.alloc(0) });
    socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cosp-codex-cli-'));
}
