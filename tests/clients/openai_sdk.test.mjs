// The official `openai` npm client against codex-sub-proxy, with the fake Codex backend
// upstream. One fake + proxy pair serves the whole file; each test picks the upstream
// transcript with a `[[scenario:…]]` marker in its last user message, and expected values
// come from the fixture files the fake replays.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { APIError, AuthenticationError, BadRequestError, InternalServerError, RateLimitError } from 'openai';

import { ACCESS_TOKEN, loadJsonFixture, loadSseFixture, scenario, startStack } from './harness.mjs';

const MODEL = 'gpt-5.5';
const SYSTEM = 'You are a helpful assistant.';
const TEST_TIMEOUT = { timeout: 20000 };

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
    strict: false,
  },
};
const TIME_TOOL = {
  type: 'function',
  function: {
    name: 'get_time',
    description: 'Local time in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    strict: false,
  },
};

function chatMessages(spec, text = 'Say hello.') {
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: `${text} ${scenario(spec)}` },
  ];
}

// Chat Completions usage as the proxy must map it from the Responses usage object.
function mappedUsage(usage) {
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
    prompt_tokens_details: { cached_tokens: usage.input_tokens_details.cached_tokens },
    completion_tokens_details: { reasoning_tokens: usage.output_tokens_details.reasoning_tokens },
  };
}

function assertUsage(actual, fixtureUsage) {
  const want = mappedUsage(fixtureUsage);
  assert.ok(actual, 'usage present');
  assert.equal(actual.prompt_tokens, want.prompt_tokens);
  assert.equal(actual.completion_tokens, want.completion_tokens);
  assert.equal(actual.total_tokens, want.total_tokens);
  assert.equal(actual.prompt_tokens_details?.cached_tokens, want.prompt_tokens_details.cached_tokens);
  assert.equal(actual.completion_tokens_details?.reasoning_tokens, want.completion_tokens_details.reasoning_tokens);
}

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('openai SDK through codex-sub-proxy', () => {
  let stack;
  let client;

  const text = loadSseFixture('text');
  const toolCall = loadSseFixture('tool_call');
  const parallel = loadSseFixture('parallel_tool_calls');

  before(async () => {
    // Guards on the fixtures themselves, so a changed transcript cannot make the
    // comparisons below vacuous.
    assert.ok(text.text.length > 0 && text.usage, 'text.sse has deltas and usage');
    assert.equal(toolCall.functionCalls.length, 1, 'tool_call.sse has one call');
    assert.equal(parallel.functionCalls.length, 2, 'parallel_tool_calls.sse has two calls');
    stack = await startStack();
    client = stack.client();
  }, { timeout: 45000 });

  after(async () => {
    if (!stack) return;
    const stopped = await stack.stop();
    assert.equal(stopped.proxy.forced, false, `proxy ignored SIGTERM (logs in ${stopped.logDir})`);
    assert.equal(stopped.proxy.code, 0, `proxy exit after SIGTERM (logs in ${stopped.logDir})`);
  }, { timeout: 30000 });

  test('1. non-streamed chat text: content, finish_reason and usage', TEST_TIMEOUT, async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: chatMessages('text') });
    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, MODEL);
    assert.equal(typeof completion.created, 'number');
    assert.equal(completion.choices.length, 1);
    const [choice] = completion.choices;
    assert.equal(choice.index, 0);
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, text.text);
    assert.equal(choice.message.tool_calls, undefined);
    assert.equal(choice.finish_reason, 'stop');
    assertUsage(completion.usage, text.usage);
  });

  test('2. streamed chat text: deltas, role, shared id, final finish_reason', TEST_TIMEOUT, async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: chatMessages('text'), stream: true });
    const chunks = await collect(stream);
    assert.ok(chunks.length >= 3, `got ${chunks.length} chunks`);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, chunks[0].id);
      assert.equal(c.created, chunks[0].created);
      assert.equal(c.model, MODEL);
    }
    assert.match(chunks[0].id, /^chatcmpl-/);
    const withRole = chunks.filter((c) => c.choices[0]?.delta?.role !== undefined);
    assert.equal(withRole.length, 1, 'exactly one chunk carries the role');
    assert.equal(withRole[0].choices[0].delta.role, 'assistant');
    assert.equal(chunks.indexOf(withRole[0]), 0, 'the role comes first');
    const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, text.text);
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishing.length, 1, 'one chunk has a finish_reason');
    assert.equal(finishing[0], chunks.at(-1), 'and it is the last one');
    assert.equal(finishing[0].choices[0].finish_reason, 'stop');
  });

  test('3. non-streamed tool call: arguments JSON, finish_reason tool_calls, content null', TEST_TIMEOUT, async () => {
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: chatMessages('tool_call', 'What is the weather in Paris?'),
      tools: [WEATHER_TOOL],
    });
    const [choice] = completion.choices;
    const [want] = toolCall.functionCalls;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.role, 'assistant');
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls.length, 1);
    const [call] = choice.message.tool_calls;
    assert.equal(call.id, want.callId);
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, want.name);
    assert.deepEqual(JSON.parse(call.function.arguments), JSON.parse(want.arguments));
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
    assertUsage(completion.usage, toolCall.usage);
  });

  test('4. streamed parallel tool calls: indexes 0 and 1, ids, names, argument fragments', TEST_TIMEOUT, async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: chatMessages('parallel_tool_calls', 'Weather and time in Tokyo?'),
      tools: [WEATHER_TOOL, TIME_TOOL],
      parallel_tool_calls: true,
      stream: true,
    });
    const chunks = await collect(stream);
    const calls = new Map();
    for (const c of chunks) {
      assert.equal(c.id, chunks[0].id);
      for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
        assert.equal(typeof tc.index, 'number');
        if (!calls.has(tc.index)) {
          // The first fragment of a call introduces it.
          assert.ok(tc.id, `first fragment of call ${tc.index} has an id`);
          assert.equal(tc.type, 'function');
          assert.ok(tc.function?.name, `first fragment of call ${tc.index} has a name`);
          calls.set(tc.index, { id: tc.id, name: tc.function.name, arguments: '' });
        } else {
          const seen = calls.get(tc.index);
          if (tc.id !== undefined) assert.equal(tc.id, seen.id);
        }
        calls.get(tc.index).arguments += tc.function?.arguments ?? '';
      }
    }
    assert.deepEqual([...calls.keys()].sort(), [0, 1]);
    parallel.functionCalls.forEach((want, i) => {
      const got = calls.get(i);
      assert.equal(got.id, want.callId);
      assert.equal(got.name, want.name);
      assert.deepEqual(JSON.parse(got.arguments), JSON.parse(want.arguments));
    });
    assert.deepEqual(JSON.parse(calls.get(0).arguments), { city: 'Tokyo' });
    const last = chunks.at(-1);
    assert.equal(last.choices[0].finish_reason, 'tool_calls');
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).length, 1);
  });

  test('5. stream_options.include_usage: a final chunk with choices [] and usage', TEST_TIMEOUT, async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: chatMessages('text'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    const usageChunks = chunks.filter((c) => c.choices.length === 0);
    assert.equal(usageChunks.length, 1, 'one chunk with choices []');
    assert.equal(usageChunks[0], chunks.at(-1), 'the usage chunk comes last');
    assert.equal(usageChunks[0].id, chunks[0].id);
    assertUsage(usageChunks[0].usage, text.usage);
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finishing.length, 1);
    assert.equal(finishing[0].choices[0].finish_reason, 'stop');
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), text.text);
  });

  test('6. Responses non-streamed: output_text and usage', TEST_TIMEOUT, async () => {
    const response = await client.responses.create({ model: MODEL, instructions: SYSTEM, input: `Say hello. ${scenario('text')}` });
    assert.equal(response.object, 'response');
    assert.equal(response.id, text.responseId);
    assert.equal(response.status, 'completed');
    // The SDK computes output_text from the output items, so this also checks that the
    // proxy filled `output` (the fixture's response.completed carries an empty one).
    assert.equal(response.output_text, text.text);
    const message = response.output.find((item) => item.type === 'message');
    assert.ok(message, 'a message output item');
    assert.equal(message.content[0].text, text.text);
    assert.deepEqual(response.usage, text.usage);
  });

  test('7. Responses streamed: event types in order, deltas join to the text', TEST_TIMEOUT, async () => {
    const stream = await client.responses.create({
      model: MODEL,
      instructions: SYSTEM,
      input: `Say hello. ${scenario('text')}`,
      stream: true,
    });
    const events = await collect(stream);
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    const firstDelta = types.indexOf('response.output_text.delta');
    assert.ok(firstDelta > 0, 'a text delta after response.created');
    assert.ok(firstDelta < types.length - 1, 'text deltas before response.completed');
    // Relayed unchanged: the very same events, in the same order.
    assert.deepEqual(types, text.types);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      text.events.map((e) => e.data.sequence_number),
    );
    const joined = events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    assert.equal(joined, text.text);
    assert.deepEqual(events.at(-1).response.usage, text.usage);
  });

  test('8. usage_limit_reached: RateLimitError 429 with retry-after and code', TEST_TIMEOUT, async () => {
    const upstream = loadJsonFixture('usage_limit_429.json').error;
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: chatMessages('status:429:usage_limit_429.json') }),
      (err) => {
        assert.ok(err instanceof RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 429);
        assert.equal(err.code, 'usage_limit_reached');
        const retryAfter = err.headers.get('retry-after');
        assert.match(retryAfter ?? '', /^\d+$/, 'retry-after is delta-seconds');
        assert.equal(Number(retryAfter), upstream.resets_in_seconds, `retry-after ${retryAfter}`);
        assert.match(err.headers.get('x-request-id') ?? '', /\S/);
        return true;
      },
    );
  });

  test('9. mid-stream response.failed on a streamed chat: the text so far, then APIError', TEST_TIMEOUT, async () => {
    const failed = loadSseFixture('failed_after_output');
    assert.equal(failed.error?.code, 'server_error', 'failed_after_output.sse carries the error');
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: chatMessages('failed_after_output'),
      stream: true,
    });
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk);
      })(),
      (err) => {
        assert.ok(err instanceof APIError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.code, failed.error.code);
        assert.equal(err.error.message, failed.error.message);
        return true;
      },
    );
    assert.equal(seen.map((c) => c.choices[0]?.delta?.content ?? '').join(''), failed.text);
    assert.ok(seen.every((c) => !c.choices[0]?.finish_reason), 'no finish_reason before the error');
  });

  test('9b. upstream closes mid-stream: the text so far, then APIError', TEST_TIMEOUT, async () => {
    const truncated = loadSseFixture('truncated');
    assert.ok(truncated.text.length > 0, 'truncated.sse has text before it stops');
    const stream = await client.chat.completions.create({ model: MODEL, messages: chatMessages('truncated'), stream: true });
    const seen = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) seen.push(chunk);
      })(),
      (err) => {
        assert.ok(err instanceof APIError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(typeof err.error?.message, 'string');
        return true;
      },
    );
    assert.equal(seen.map((c) => c.choices[0]?.delta?.content ?? '').join(''), truncated.text);
    assert.ok(seen.every((c) => !c.choices[0]?.finish_reason), 'no finish_reason before the error');
  });

  test('9c. an error event before any output: BadRequestError 400 with its code, no stream', TEST_TIMEOUT, async () => {
    // The backend sends response.created first, then the error; the proxy holds the first events
    // back, so the failure is a real status.
    const errorEvent = loadSseFixture('error_event');
    assert.equal(errorEvent.error?.type, 'error');
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: chatMessages('error_event'), stream: true }),
      (err) => {
        assert.ok(err instanceof BadRequestError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 400);
        assert.equal(err.code, errorEvent.error.code);
        assert.equal(err.error.message, errorEvent.error.message);
        return true;
      },
    );
  });

  test('10. the upstream receives a correctly translated chat request with tools', TEST_TIMEOUT, async () => {
    const nonce = randomUUID();
    const { data: completion, response } = await client.chat.completions
      .create({
        model: MODEL,
        messages: chatMessages('tool_call', `Weather in Paris? nonce=${nonce}`),
        tools: [WEATHER_TOOL],
        tool_choice: 'auto',
        temperature: 0.2,
      })
      .withResponse();
    assert.equal(completion.choices[0].finish_reason, 'tool_calls');
    const dropped = (response.headers.get('x-codex-sub-proxy-dropped') ?? '').split(',').map((s) => s.trim());
    assert.ok(dropped.includes('temperature'), `x-codex-sub-proxy-dropped: ${dropped.join(',')}`);

    const matching = (await stack.fakeRequests()).filter((r) => r.body.includes(nonce));
    assert.equal(matching.length, 1, 'exactly one upstream request for this call');
    const [upstream] = matching;
    assert.equal(upstream.method, 'POST');
    assert.equal(upstream.path, '/backend-api/codex/responses');
    assert.equal(upstream.headers.authorization, `Bearer ${ACCESS_TOKEN}`);
    assert.ok(!upstream.body.includes(stack.apiKey), 'the caller key never goes upstream');
    assert.match(upstream.headers.accept ?? '', /text\/event-stream/);

    const body = upstream.json;
    assert.ok(body, 'upstream body is JSON');
    assert.equal(body.model, MODEL);
    assert.equal(body.store, false);
    assert.equal(body.stream, true);
    assert.equal('temperature' in body, false, 'temperature removed');
    assert.equal(body.instructions, SYSTEM);
    assert.equal(body.tool_choice, 'auto');
    const { name, description, parameters, strict } = WEATHER_TOOL.function;
    assert.deepEqual(body.tools, [{ type: 'function', name, description, parameters, strict }]);
    assert.ok(Array.isArray(body.input), 'input is a list');
    const userItems = body.input.filter((item) => item.role === 'user');
    assert.equal(userItems.length, 1);
    assert.equal(userItems[0].content[0].type, 'input_text');
    assert.ok(userItems[0].content[0].text.includes(nonce));
    assert.ok(!body.input.some((item) => item.role === 'system' || item.role === 'developer'), 'system went to instructions');
  });

  test('11. a wrong API key gives AuthenticationError 401 and nothing goes upstream', TEST_TIMEOUT, async () => {
    const nonce = randomUUID();
    const wrong = stack.client({ apiKey: `sk-wrong-${randomUUID()}` });
    await assert.rejects(
      wrong.chat.completions.create({ model: MODEL, messages: chatMessages('text', `nonce=${nonce}`) }),
      (err) => {
        assert.ok(err instanceof AuthenticationError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 401);
        assert.equal(typeof err.error?.message, 'string');
        return true;
      },
    );
    const upstream = (await stack.fakeRequests()).filter((r) => r.body.includes(nonce));
    assert.equal(upstream.length, 0);
  });

  test('12. models.list answers the catalog; effort ids resolve', TEST_TIMEOUT, async () => {
    const ids = [];
    for await (const model of client.models.list()) {
      assert.equal(model.object, 'model');
      ids.push(model.id);
    }
    // The backend's catalog, or the built-in list when the fake serves none: either way these.
    for (const id of ['gpt-5.5', 'gpt-5.4-mini']) assert.ok(ids.includes(id), id);
    assert.ok(!ids.includes('gpt-5.5-pro'));
    assert.ok(!ids.includes('gpt-5.5-high'), 'effort ids are not listed');
    const one = await client.models.retrieve('gpt-5.5');
    assert.equal(one.id, 'gpt-5.5');
    const effort = await client.models.retrieve('gpt-5.5-high');
    assert.equal(effort.id, 'gpt-5.5-high');
  });

  test('13. incomplete (max_output_tokens) maps to finish_reason length', TEST_TIMEOUT, async () => {
    const incomplete = loadSseFixture('incomplete_length');
    const completion = await client.chat.completions.create({ model: MODEL, messages: chatMessages('incomplete_length') });
    assert.equal(completion.choices[0].finish_reason, 'length');
    assert.equal(completion.choices[0].message.content, incomplete.text);
  });

  test('14. upstream overloaded before the first byte: InternalServerError 503 with retry-after', TEST_TIMEOUT, async () => {
    const upstream = loadJsonFixture('overloaded_503.json').error;
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: chatMessages('status:503:overloaded_503.json') }),
      (err) => {
        assert.ok(err instanceof InternalServerError, `got ${err?.constructor?.name}: ${err?.message}`);
        assert.equal(err.status, 503);
        assert.equal(err.code, upstream.code);
        assert.match(err.headers.get('retry-after') ?? '', /^\d+$/);
        return true;
      },
    );
  });
});
