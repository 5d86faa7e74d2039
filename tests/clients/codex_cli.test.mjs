// The real Codex CLI (npm @openai/codex, pinned in package-lock.json) through codex-sub-proxy,
// with the fake Codex backend upstream, in each configuration the README's "Codex CLI" section
// documents. Each test runs one `codex exec` turn with a tool call: the fake answers the first
// request with an `exec_command` call that runs `echo cosp-tool-$((6*7)) …` in the CLI's shell,
// and the follow-up (whose last scenario marker is in that call and its output) with the final
// text. Each asserts what the CLI printed, what reached the backend (decoded body, headers,
// transport) and that the CLI never fell back from WebSockets.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  CHATGPT_ACCOUNT_ID,
  CODEX_VERSION,
  WEBSOCKET_FALLBACK,
  chatgptAuthJson,
  codexEntryPoint,
  makeCodexHome,
  runCodexExec,
  startTap,
  tempDir,
} from './codex_cli.mjs';
import { ACCESS_TOKEN, loadSseFixture, scenario, startStack } from './harness.mjs';

const MODEL = 'gpt-5.5'; // version-gated on the backend: passes only with the CLI's own fingerprint
const CLI_DEADLINE_MS = 60000;
const TEST_TIMEOUT = { timeout: CLI_DEADLINE_MS + 20000 };
const PROMPT = `Print the answer with echo. ${scenario('codex_cli_exec_call')}`;
const KEY_ENV = 'CODEX_SUB_PROXY_KEY';
const COMPACT_LIMIT = 20000; // below the call's reported usage (codex_cli_exec_call.sse)

const call = loadSseFixture('codex_cli_exec_call');
const final = loadSseFixture('codex_cli_final');

// Top-level keys first: TOML puts every key after a table header into that table.
function configToml(topLevel, providerTable = '') {
  return `model = "${MODEL}"
check_for_update_on_startup = false
${topLevel}

[analytics]
enabled = false

[feedback]
enabled = false

[otel]
exporter = "none"
${providerTable}`;
}

function customProvider(baseUrl, extra = '') {
  return `
[model_providers.codex-sub-proxy]
name = "codex-sub-proxy"
base_url = "${baseUrl}"
wire_api = "responses"
env_key = "${KEY_ENV}"
${extra}`;
}

function inputOf(record) {
  // A WebSocket `response.create` message carries the same fields as an HTTP body.
  const body = record.json;
  assert.ok(Array.isArray(body?.input), `request ${record.index} has an input array: ${record.body.slice(0, 200)}`);
  return body.input;
}

function outputsOf(record) {
  return inputOf(record).filter((i) => i.type === 'function_call_output');
}

function outputText(item) {
  return typeof item.output === 'string' ? item.output : JSON.stringify(item.output);
}

function sessionIdPrinted(stderr) {
  const m = /^session id: (\S+)$/m.exec(stderr);
  assert.ok(m, `the CLI printed its session id:\n${stderr}`);
  return m[1];
}

function describeRun(run) {
  return `exit ${run.code} signal ${run.signal}${run.timedOut ? ' (killed at the deadline)' : ''}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

// What every configuration must show: the CLI printed the final text and exited 0 without a
// WebSocket fallback; the backend got the call and its follow-up over `transport`, with the
// CLI's own fingerprint and session headers, the proxy's token and none of the caller's
// credentials; the follow-up carried the command's real output.
function assertTurn(run, records, { transport }) {
  assert.equal(run.timedOut, false, describeRun(run));
  assert.equal(run.code, 0, describeRun(run));
  assert.equal(run.stdout.trim(), final.text, describeRun(run));
  assert.doesNotMatch(run.stderr, WEBSOCKET_FALLBACK, describeRun(run));

  const rejected = records.filter((r) => r.rejected_by !== '');
  assert.deepEqual(rejected.map((r) => `${r.rejected_by}: ${r.body.slice(0, 120)}`), [], 'the backend refused nothing');
  const turn = records.filter((r) => ['codex_cli_exec_call', 'codex_cli_final', 'compaction'].includes(r.scenario));
  assert.ok(turn.length >= 2, `the call and its follow-up reached the backend: ${records.map((r) => r.scenario)}`);
  assert.equal(turn[0].scenario, 'codex_cli_exec_call');
  assert.equal(turn.at(-1).scenario, 'codex_cli_final');

  // Every model call, the WebSocket prewarm (`generate: false`, no marker) included. Over a
  // WebSocket the headers are the upgrade's and a follow-up carries only the new items, with
  // `previous_response_id`.
  const session = sessionIdPrinted(run.stderr);
  for (const r of records) {
    const h = r.headers;
    assert.equal(r.websocket, transport === 'websocket', `request ${r.index} went over ${transport}`);
    assert.ok(r.json && typeof r.json === 'object', `request ${r.index} reached the backend as JSON (decoded)`);
    assert.equal(h['content-encoding'], undefined, `request ${r.index} reached the backend decoded`);
    if (transport === 'websocket') {
      assert.equal(r.json.type, 'response.create', `request ${r.index} is a response.create message`);
      assert.match(h['openai-beta'] ?? '', /responses_websockets=/, 'the CLI\'s OpenAI-Beta reached the backend');
    }
    assert.equal(r.json.model, MODEL);
    assert.equal(h.originator, 'codex_exec', 'the CLI originator is kept');
    assert.ok(h['user-agent']?.startsWith(`codex_exec/${CODEX_VERSION} (`), `the CLI User-Agent is kept: ${h['user-agent']}`);
    assert.equal(h['session-id'], session, 'session-id forwarded');
    assert.equal(h['thread-id'], session, 'thread-id forwarded');
    assert.ok(h['x-codex-window-id']?.startsWith(session), `x-codex-window-id forwarded: ${h['x-codex-window-id']}`);
    assert.equal(JSON.parse(h['x-codex-turn-metadata']).session_id, session, 'x-codex-turn-metadata forwarded');
    assert.equal(h.authorization, `Bearer ${ACCESS_TOKEN}`, "the proxy's upstream token, never the caller's");
    assert.equal(h['x-api-key'], undefined, "the caller's x-api-key is not forwarded");
    assert.notEqual(h['chatgpt-account-id'], CHATGPT_ACCOUNT_ID, "the caller's ChatGPT-Account-ID is not forwarded");
  }
  const [callRecord] = turn;
  assert.equal(inputOf(callRecord).filter((i) => i.type === 'message' && JSON.stringify(i).includes(PROMPT)).length, 1, 'the prompt');
  const ran = turn.slice(1).flatMap(outputsOf);
  assert.ok(
    ran.some((o) => o.call_id === call.functionCalls[0].callId && outputText(o).includes('cosp-tool-42')),
    `the CLI ran the command and sent its output back: ${JSON.stringify(ran)}`,
  );
  return turn;
}

describe('Codex CLI through codex-sub-proxy', () => {
  let stack;
  let entryPoint;
  let dir;

  before(async () => {
    // Fails (not skips) without the pinned CLI: scripts/setup installs it.
    entryPoint = codexEntryPoint();
    assert.equal(call.functionCalls.length, 1, 'codex_cli_exec_call.sse has one call');
    assert.equal(call.functionCalls[0].name, 'exec_command');
    assert.ok(call.usage.total_tokens > COMPACT_LIMIT, 'the call reports enough usage to trigger compaction');
    assert.ok(final.text.length > 0 && final.usage.total_tokens < COMPACT_LIMIT, 'codex_cli_final.sse');
    dir = tempDir();
    stack = await startStack();
  }, { timeout: 45000 });

  after(async () => {
    if (dir && process.env.COSP_KEEP_TMP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    if (!stack) return;
    const stopped = await stack.stop();
    assert.equal(stopped.proxy.forced, false, `proxy ignored SIGTERM (logs in ${stopped.logDir})`);
    assert.equal(stopped.proxy.code, 0, `proxy exit after SIGTERM (logs in ${stopped.logDir})`);
  }, { timeout: 30000 });

  async function resetFake() {
    const res = await fetch(`${stack.fakeOrigin}/__fake/reset`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }

  async function exec(name, { configToml: toml, auth, env = {} }) {
    await resetFake();
    const { home, work } = makeCodexHome(dir, name, { configToml: toml, auth });
    const run = await runCodexExec({ entryPoint, home, work, prompt: PROMPT, model: MODEL, env, deadlineMs: CLI_DEADLINE_MS });
    const records = await stack.fakeRequests();
    if (process.env.COSP_DEBUG_CODEX === '1') {
      console.log(describeRun(run));
      fs.writeFileSync(`${dir}/records-${name}.json`, JSON.stringify(records, null, 1));
      console.log(`records in ${dir}/records-${name}.json`);
    }
    return { run, records };
  }

  test('1. custom provider (wire_api = "responses", env_key)', TEST_TIMEOUT, async () => {
    const { run, records } = await exec('custom', {
      configToml: configToml('model_provider = "codex-sub-proxy"', customProvider(stack.baseURL)),
      env: { [KEY_ENV]: stack.apiKey },
    });
    assertTurn(run, records, { transport: 'http' });
  });

  test('2. custom provider with supports_websockets = true', TEST_TIMEOUT, async () => {
    const { run, records } = await exec('custom-ws', {
      configToml: configToml('model_provider = "codex-sub-proxy"', customProvider(stack.baseURL, 'supports_websockets = true')),
      env: { [KEY_ENV]: stack.apiKey },
    });
    assertTurn(run, records, { transport: 'websocket' });
  });

  test('3. name = "OpenAI" with an API key: remote compaction v2 in band', TEST_TIMEOUT, async () => {
    const provider = customProvider(stack.baseURL).replace('name = "codex-sub-proxy"', 'name = "OpenAI"');
    const { run, records } = await exec('openai-named', {
      configToml: configToml(`model_provider = "codex-sub-proxy"\nmodel_auto_compact_token_limit = ${COMPACT_LIMIT}`, provider),
      env: { [KEY_ENV]: stack.apiKey },
    });
    const turn = assertTurn(run, records, { transport: 'http' });
    const triggers = turn.filter((r) => r.scenario === 'compaction');
    assert.equal(triggers.length, 1, `one compaction: ${turn.map((r) => r.scenario)}`);
    const [trigger] = triggers;
    assert.deepEqual(inputOf(trigger).at(-1), { type: 'compaction_trigger' }, 'the input ends with the trigger');
    assert.match(trigger.headers['x-codex-beta-features'] ?? '', /remote_compaction_v2/);
    // The fake's compaction item (fake_backend_compaction.h) carries the conversation's marker.
    const content = `gAAAAABfake-compaction-${trigger.index} ${scenario('codex_cli_final')}`;
    const next = turn[turn.indexOf(trigger) + 1];
    assert.ok(next, 'a request follows the compaction');
    const compactions = inputOf(next).filter((i) => i.type === 'compaction');
    assert.equal(compactions.length, 1, `the compaction item comes back: ${JSON.stringify(inputOf(next).map((i) => i.type))}`);
    assert.equal(compactions[0].encrypted_content, content);
  });

  test('4. the built-in provider via openai_base_url (API key = the proxy key)', TEST_TIMEOUT, async () => {
    // What `codex login --with-api-key` writes (the built-in provider ignores OPENAI_API_KEY in
    // the environment: with it alone every call gets 401).
    const { run, records } = await exec('builtin', {
      configToml: configToml(`openai_base_url = "${stack.baseURL}"`),
      auth: { auth_mode: 'apikey', OPENAI_API_KEY: stack.apiKey },
    });
    assertTurn(run, records, { transport: 'websocket' });
  });

  test('5. ChatGPT login with the proxy key in env_http_headers (zstd bodies)', TEST_TIMEOUT, async () => {
    // The tap sees the CLI's own bytes, before the proxy decodes them.
    const tap = await startTap(stack.proxyPort);
    try {
      const login = chatgptAuthJson();
      const provider = `
[model_providers.codex-sub-proxy]
name = "OpenAI"
base_url = "http://127.0.0.1:${tap.port}/v1"
wire_api = "responses"
requires_openai_auth = true
env_http_headers = { "x-api-key" = "${KEY_ENV}" }
`;
      const { run, records } = await exec('chatgpt', {
        configToml: configToml(
          `model_provider = "codex-sub-proxy"\nchatgpt_base_url = "http://127.0.0.1:${tap.port}/backend-api/"`,
          provider,
        ),
        auth: login.json,
        env: { [KEY_ENV]: stack.apiKey },
      });
      assertTurn(run, records, { transport: 'http' });

      const calls = tap.seen.filter((r) => r.method === 'POST' && r.url === '/v1/responses');
      assert.ok(calls.length >= 2, `the CLI posted its turn through the tap: ${tap.seen.map((r) => `${r.method} ${r.url}`)}`);
      for (const c of calls) {
        assert.equal(c.headers['content-encoding'], 'zstd', 'the CLI compressed its body');
        assert.equal(c.bodyBytes.readUInt32LE(0), 0xfd2fb528, 'a zstd frame');
        // Its own ChatGPT token as Bearer, the proxy key beside it: the key check takes either.
        assert.equal(c.headers.authorization, `Bearer ${login.accessToken}`);
        assert.equal(c.headers['x-api-key'], stack.apiKey);
        assert.equal(c.headers['chatgpt-account-id'], CHATGPT_ACCOUNT_ID);
      }
      const wham = tap.seen.filter((r) => r.url.startsWith('/backend-api/'));
      assert.ok(wham.length > 0, 'the ChatGPT-mode calls stayed on loopback (chatgpt_base_url)');
    } finally {
      await tap.close();
    }
  });
});
