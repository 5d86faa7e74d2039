// Test harness for the real-client suite: starts the fake Codex backend and the proxy
// (supervisor + prefork workers) as child processes, hands out `openai` clients pointed
// at the proxy, and stops everything at the end.
//
// Paths: COSP_BIN_DIR (default /work/build/bin) holds codex-sub-proxy,
// codex-sub-proxy-worker and fake-codex-backend; COSP_FIXTURES_DIR (default
// ../fixtures/responses next to this file) holds the SSE/JSON transcripts.
//
// Every wait here has a deadline. Polling loops re-check a real condition (a line on
// stdout, an HTTP status, a process exit); the short pause between polls is never what
// the test relies on.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import OpenAI from 'openai';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const ACCESS_TOKEN = 'test-access-token';

export function binDir() {
  return process.env.COSP_BIN_DIR || '/work/build/bin';
}

export function fixturesDir() {
  return process.env.COSP_FIXTURES_DIR || path.resolve(HERE, '../fixtures/responses');
}

// The marker the fake backend reads from the last user message to pick its scenario.
export function scenario(spec) {
  return `[[scenario:${spec}]]`;
}

// ---------------------------------------------------------------------------------------
// Fixtures: expected values are derived from the transcripts the fake replays, so the
// assertions compare what the client saw with what the upstream actually sent.

export function parseSse(text) {
  const events = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) continue;
    events.push({ event, data: JSON.parse(data.join('\n')) });
  }
  return events;
}

export function loadSseFixture(name) {
  const events = parseSse(fs.readFileSync(path.join(fixturesDir(), `${name}.sse`), 'utf8'));
  const datas = events.map((e) => e.data);
  const text = datas
    .filter((d) => d.type === 'response.output_text.delta')
    .map((d) => d.delta)
    .join('');
  const terminal = datas.find((d) => ['response.completed', 'response.incomplete', 'response.failed'].includes(d.type));
  const created = datas.find((d) => d.type === 'response.created');
  const functionCalls = datas
    .filter((d) => d.type === 'response.output_item.done' && d.item?.type === 'function_call')
    .map((d) => ({ callId: d.item.call_id, name: d.item.name, arguments: d.item.arguments }));
  return {
    events,
    types: datas.map((d) => d.type),
    text,
    responseId: created?.response?.id,
    usage: terminal?.response?.usage ?? null,
    error: terminal?.response?.error ?? datas.find((d) => d.type === 'error') ?? null,
    functionCalls,
  };
}

export function loadJsonFixture(name) {
  return JSON.parse(fs.readFileSync(path.join(fixturesDir(), name), 'utf8'));
}

// ---------------------------------------------------------------------------------------
// Processes

// A loopback port nobody listens on (the kernel's pick, closed again): free for a server to take,
// and refusing connections at once until one does.
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function exitPromise(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function withDeadline(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tail(file, lines = 25) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// Only what the programs need: the caller's own environment could carry HTTPS_PROXY (which
// would send the 127.0.0.1 upstream calls elsewhere), PROXY_API_KEY or a real refresh token.
function baseEnv() {
  const env = {};
  for (const name of ['PATH', 'LANG', 'TZ', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return env;
}

async function startFake(logDir, deadlineMs) {
  const bin = path.join(binDir(), 'fake-codex-backend');
  // stdin stays a pipe: the fake exits on EOF there, so it cannot outlive this process.
  // The fake behaves like the real backend except for its prompt cache: these tests compare the
  // usage the SDK sees with the fixtures' own (tests/integration/backend_shape_test.cpp covers
  // caching by session).
  const args = ['--host', '127.0.0.1', '--port', '0', '--fixtures', fixturesDir(), '--no-session-cache'];
  const child = spawn(bin, args, {
    env: baseEnv(),
    stdio: ['pipe', 'pipe', fs.openSync(path.join(logDir, 'fake.stderr.log'), 'w')],
  });
  const exited = exitPromise(child);
  const port = await new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`fake-codex-backend printed no LISTENING line within ${deadlineMs} ms`)), deadlineMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin}: ${err.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`fake-codex-backend exited early (code ${code}, signal ${signal}): ${tail(path.join(logDir, 'fake.stderr.log'))}`));
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const m = /^LISTENING (\d+)\s*$/m.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  child.stdout.resume(); // keep draining: a full pipe must never block the fake
  return { child, exited, port };
}

async function stopChild(child, exited, { graceMs, group }) {
  if (child.pid === undefined) return { code: null, signal: null, forced: false }; // never started
  if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), forced: false };
  try {
    child.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  const result = await withDeadline(exited, graceMs);
  if (result) return { ...result, forced: false };
  try {
    if (group) process.kill(-child.pid, 'SIGKILL'); // supervisor and its workers
    else child.kill('SIGKILL');
  } catch {
    /* already gone */
  }
  return { ...((await withDeadline(exited, 5000)) ?? { code: null, signal: 'unreaped' }), forced: true };
}

async function waitForStatus(url, status, { deadline, proxyGone, errFile }) {
  let last = 'no answer';
  let gone = null;
  proxyGone.then((r) => {
    gone = r;
  });
  while (Date.now() < deadline) {
    if (gone) {
      const why = gone.error ?? `code ${gone.code}, signal ${gone.signal}`;
      throw new Error(`codex-sub-proxy exited during start-up (${why}):\n${tail(errFile)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(1, Math.min(2000, deadline - Date.now()))) });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await delay(50); // pacing between polls of a real condition, bounded by the deadline
  }
  throw new Error(`${url} did not answer ${status} before the deadline (last: ${last}):\n${tail(errFile)}`);
}

export class Stack {
  constructor(fields) {
    Object.assign(this, fields);
  }

  get baseURL() {
    return `http://127.0.0.1:${this.proxyPort}/v1`;
  }

  get proxyOrigin() {
    return `http://127.0.0.1:${this.proxyPort}`;
  }

  get fakeOrigin() {
    return `http://127.0.0.1:${this.fakePort}`;
  }

  client(overrides = {}) {
    return new OpenAI({ baseURL: this.baseURL, apiKey: this.apiKey, maxRetries: 0, timeout: 15000, ...overrides });
  }

  // Every request the fake backend received, bodies parsed when they are JSON.
  async fakeRequests() {
    const res = await fetch(`${this.fakeOrigin}/__fake/requests`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`GET /__fake/requests answered ${res.status}`);
    const records = await res.json();
    for (const r of records) {
      try {
        r.json = JSON.parse(r.body);
      } catch {
        r.json = undefined;
      }
    }
    return records;
  }

  // Stops the proxy with SIGTERM (graceful), then the fake; SIGKILL after the deadline.
  // Returns how each ended so the suite can assert a clean exit.
  async stop({ graceMs = 15000 } = {}) {
    if (this.stopped) return this.stopped;
    const proxy = await stopChild(this.proxy, this.proxyExited, { graceMs, group: true });
    this.fake.stdin.end();
    const fake = await stopChild(this.fake, this.fakeExited, { graceMs: 5000, group: false });
    process.removeListener('exit', this.onExit);
    const keep = process.env.COSP_KEEP_TMP === '1' || proxy.forced || proxy.code !== 0;
    if (!keep) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    this.stopped = { proxy, fake, logDir: keep ? this.tmpDir : null };
    return this.stopped;
  }

  proxyStderrTail(lines = 25) {
    return tail(path.join(this.tmpDir, 'proxy.stderr.log'), lines);
  }
}

// Starts one fake backend and one proxy in front of it; resolves once /healthz and /readyz
// answer 200. `env` adds or overrides proxy environment variables.
export async function startStack({ env = {}, deadlineMs = 30000 } = {}) {
  const deadline = Date.now() + deadlineMs;
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosp-clients-'));
  let fake;
  try {
    fake = await startFake(tmpDir, deadlineMs);
  } catch (err) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
  const apiKey = `sk-test-${randomBytes(16).toString('hex')}`;
  const errFile = path.join(tmpDir, 'proxy.stderr.log');

  // The free-port probe can race with another process taking the port; a proxy that exits
  // during start-up is retried on a fresh port a few times.
  let lastError;
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    const proxyPort = await freePort();
    const stateDir = path.join(tmpDir, `state-${attempt}`);
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const proxyEnv = {
      ...baseEnv(),
      HOST: '127.0.0.1',
      PORT: String(proxyPort),
      WORKERS: '2',
      STATE_DIR: stateDir,
      CONTROL_SOCKET: path.join(stateDir, 'c.sock'),
      PROXY_API_KEY: apiKey,
      OPENAI_ACCESS_TOKEN: ACCESS_TOKEN,
      CODEX_BASE_URL: `http://127.0.0.1:${fake.port}/backend-api/codex`,
      ...env,
    };
    const proxy = spawn(path.join(binDir(), 'codex-sub-proxy'), [], {
      env: proxyEnv,
      detached: true, // own process group, so a forced stop reaches the workers too
      stdio: ['ignore', fs.openSync(path.join(tmpDir, 'proxy.stdout.log'), 'a'), fs.openSync(errFile, 'a')],
    });
    const proxyExited = exitPromise(proxy);
    // A binary that cannot be executed emits 'error' and maybe never 'exit'.
    const proxyGone = Promise.race([
      proxyExited,
      new Promise((resolve) => proxy.once('error', (err) => resolve({ code: null, signal: null, error: err.message }))),
    ]);
    // Last resort if the test process ends without stop(): do not leave a proxy behind.
    const onExit = () => {
      try {
        process.kill(-proxy.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    process.on('exit', onExit);
    const stack = new Stack({ tmpDir, apiKey, proxyPort, fakePort: fake.port, proxy, proxyExited, fake: fake.child, fakeExited: fake.exited, onExit });
    try {
      const opts = { deadline, proxyGone, errFile };
      await waitForStatus(`${stack.proxyOrigin}/healthz`, 200, opts);
      // /healthz only says a worker serves; /readyz says it holds the upstream token too.
      await waitForStatus(`${stack.proxyOrigin}/readyz`, 200, opts);
      return stack;
    } catch (err) {
      lastError = err;
      process.removeListener('exit', onExit);
      await stopChild(proxy, proxyExited, { graceMs: 5000, group: true });
    }
  }
  fake.child.stdin.end();
  await stopChild(fake.child, fake.exited, { graceMs: 5000, group: false });
  throw new Error(`proxy did not start (logs kept in ${tmpDir}): ${lastError?.message}`);
}
