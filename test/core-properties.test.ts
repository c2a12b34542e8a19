import { expect } from 'chai';
import fc from 'fast-check';
import {
  type AppMessage,
  type ClientMessage,
  WebSocket,
  WebSocketDisconnect,
  WebSocketState,
  WebSocketStateError,
} from '../lib/index.js';
import { MemoryTransport } from './support/memory-transport.js';

/*
 * Property-based tests of the core state machine: random sequences of core operations,
 * interleaved with client messages pushed into an in-memory transport, are run against the real
 * `WebSocket` and against a small model written from the contract (README.md: "The model", and
 * the `WebSocket` methods under "API"). After every step both must agree on the states, on what
 * was sent, on how many times the transport was read, on what is still unread, and on each call's
 * outcome (value or error class). Reproduce a failure with FC_SEED=<seed> (printed by fast-check
 * with its path).
 */

const { CONNECTING, CONNECTED, DISCONNECTED } = WebSocketState;
type State = WebSocketState;

const SEED = Number(process.env.FC_SEED ?? 0x6e5a7e);
const RUNS = Number(process.env.FC_RUNS ?? 200);

// ---------------------------------------------------------------------------------------------
// Outcomes

type ErrorClass = abstract new (...args: never[]) => Error;

/** What a call did: resolved with a value, or rejected with one of `errors`. */
type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; errors: ErrorClass[]; code?: number; reason?: string };

const ok = (value?: unknown): Outcome => ({ ok: true, value });
const fail = (...errors: ErrorClass[]): Outcome => ({ ok: false, errors });
const disconnect = (code: number, reason?: string): Outcome => ({
  ok: false,
  errors: [WebSocketDisconnect],
  code,
  ...(reason === undefined ? {} : { reason }),
});

/** The result of an iterator run: what it yielded and how it ended. */
class IterResult {
  constructor(
    readonly values: unknown[],
    readonly end: 'done' | 'taken' | Outcome | Error,
  ) {}
}

// ---------------------------------------------------------------------------------------------
// The model

/** A model step may need client messages: it yields 'read' and is resumed with the message. */
type Step<T> = Generator<'read', T, ClientMessage>;

const CLOSE_CODES = (code: number): boolean =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) ||
    (code >= 3000 && code <= 4999));

class Model {
  client: State = CONNECTING;
  app: State = CONNECTING;
  /** Pushed by the client, not read by the core yet. */
  readonly inbox: ClientMessage[] = [];
  /** Read by the core, in order. */
  readonly consumed: ClientMessage[] = [];
  /** Calls of `transport.receive()`. */
  reads = 0;
  readonly sent: AppMessage[] = [];
  /** The transport fails every send from now on (a broken connection). */
  failing = false;

  constructor(readonly offered: readonly string[]) {}

  // The low-level pair, as the "State machine" table says.

  *receive(): Step<Outcome> {
    if (this.client === DISCONNECTED) return fail(WebSocketStateError);
    const message = yield 'read';
    if (this.client === CONNECTING) {
      // A transport that breaks its own contract: the message is read, the call throws.
      if (message.type !== 'connect') return fail(WebSocketStateError);
      this.client = CONNECTED;
    } else if (message.type === 'disconnect') {
      this.client = DISCONNECTED;
    } else if (message.type !== 'receive') {
      return fail(WebSocketStateError);
    }
    return ok(message);
  }

  send(message: AppMessage): Outcome {
    const errors: ErrorClass[] = [];
    if (this.app === DISCONNECTED) errors.push(WebSocketStateError);
    const m = message as unknown as Record<string, unknown>;
    switch (m.type) {
      case 'accept':
        if (this.app !== CONNECTING) errors.push(WebSocketStateError);
        if (m.subprotocol !== undefined && !this.offered.includes(m.subprotocol as string)) {
          errors.push(TypeError);
        }
        if (m.headers !== undefined && !validHeaders(m.headers)) errors.push(TypeError);
        break;
      case 'send':
        if (this.app !== CONNECTED) errors.push(WebSocketStateError);
        if (typeof m.text !== 'string' && !(m.bytes instanceof Uint8Array)) errors.push(TypeError);
        break;
      case 'close':
        errors.push(...closeArgumentErrors(m.code ?? 1000, m.reason ?? ''));
        break;
      default:
        errors.push(WebSocketStateError);
    }
    if (errors.length > 0) return fail(...errors);
    if (this.failing) {
      this.app = DISCONNECTED;
      return disconnect(1006);
    }
    if (m.type === 'accept') this.app = CONNECTED;
    if (m.type === 'close') this.app = DISCONNECTED;
    this.sent.push(message);
    return ok();
  }

  // The methods, as the "Methods" table says.

  *accept(subprotocol: string | undefined, headers: unknown): Step<Outcome> {
    const errors: ErrorClass[] = [];
    if (this.app !== CONNECTING) errors.push(WebSocketStateError);
    if (subprotocol !== undefined && !this.offered.includes(subprotocol)) errors.push(TypeError);
    // Bad arguments are refused before anything happens: nothing consumed, nothing sent.
    if (headers !== undefined && !validHeaders(headers)) errors.push(TypeError);
    if (errors.length > 0) return fail(...errors);
    if (this.client === CONNECTING) {
      const connect = yield* this.receive();
      if (!connect.ok) return connect;
    }
    return this.send({ type: 'accept', subprotocol, headers } as AppMessage);
  }

  close(code: unknown, reason: unknown): Outcome {
    const errors = closeArgumentErrors(code, reason);
    if (this.app === DISCONNECTED) errors.push(WebSocketStateError);
    if (errors.length > 0) return fail(...errors);
    return this.send({ type: 'close', code, reason } as AppMessage);
  }

  sendJson(value: unknown, options: JsonOptionsArg): Outcome {
    const errors: ErrorClass[] = [];
    if (!validMode(options)) errors.push(TypeError);
    const text = encode(value);
    if (text === undefined) errors.push(TypeError);
    if (this.app !== CONNECTED) errors.push(WebSocketStateError);
    if (errors.length > 0) return fail(...errors);
    const binary = options?.mode === 'binary';
    return this.send(
      binary
        ? { type: 'send', bytes: Buffer.from(text as string) }
        : { type: 'send', text: text as string },
    );
  }

  /** One data message for `receive*`: skips a `connect` left unread, throws on `disconnect`. */
  *receiveData(extra: ErrorClass[] = []): Step<Outcome> {
    const errors = [...extra];
    // Checked before anything is read: not even a queued `connect` is consumed.
    if (this.app !== CONNECTED) errors.push(WebSocketStateError);
    if (this.client === DISCONNECTED) errors.push(WebSocketStateError);
    if (errors.length > 0) return fail(...errors);
    let result = yield* this.receive();
    if (!result.ok) return result;
    if ((result.value as ClientMessage).type === 'connect') {
      result = yield* this.receive();
      if (!result.ok) return result;
    }
    const message = result.value as ClientMessage;
    if (message.type === 'disconnect') return disconnect(message.code, message.reason);
    return ok(message);
  }

  *receiveAs(kind: Kind, options?: JsonOptionsArg): Step<Outcome> {
    const extra: ErrorClass[] = kind === 'json' && !validMode(options) ? [TypeError] : [];
    const result = yield* this.receiveData(extra);
    if (!result.ok) return result;
    const message = result.value as ClientMessage & { type: 'receive' };
    const text = message.text ?? message.bytes.toString('utf8');
    switch (kind) {
      case 'text':
        return ok(text);
      case 'bytes':
        return ok(message.bytes ?? Buffer.from(message.text, 'utf8'));
      case 'json':
        try {
          return ok(JSON.parse(text));
        } catch {
          // Consumed; the connection stays open.
          return fail(SyntaxError);
        }
    }
  }

  *iterate(kind: Kind, options: JsonOptionsArg, take: number): Step<Outcome> {
    if (kind === 'json' && !validMode(options)) return fail(TypeError);
    const values: unknown[] = [];
    for (let i = 0; i < take; i++) {
      const result = yield* this.receiveAs(kind, options);
      if (!result.ok) {
        // The iterators end quietly on WebSocketDisconnect and rethrow anything else.
        const end = result.errors.includes(WebSocketDisconnect) ? 'done' : result;
        return ok(new IterResult(values, end));
      }
      values.push(result.value);
    }
    return ok(new IterResult(values, 'taken'));
  }
}

function closeArgumentErrors(code: unknown, reason: unknown): ErrorClass[] {
  const errors: ErrorClass[] = [];
  if (typeof code !== 'number' || !CLOSE_CODES(code)) errors.push(RangeError);
  if (typeof reason !== 'string') errors.push(TypeError);
  else if (Buffer.byteLength(reason) > 123) errors.push(RangeError);
  return errors;
}

type JsonOptionsArg = { mode?: unknown } | undefined;

function validMode(options: JsonOptionsArg): boolean {
  const mode = options?.mode;
  return mode === undefined || mode === 'text' || mode === 'binary';
}

function encode(value: unknown): string | undefined {
  try {
    const text = JSON.stringify(value);
    return typeof text === 'string' ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Header sets in the generators are tagged valid or not; the model reads the tag. */
const INVALID_HEADERS = new WeakSet<object>();

function validHeaders(headers: unknown): boolean {
  return typeof headers === 'object' && headers !== null && !INVALID_HEADERS.has(headers);
}

// ---------------------------------------------------------------------------------------------
// Generators

type Kind = 'text' | 'bytes' | 'json';

const OFFERED = ['chat', 'v1', 'v2'] as const;

const textArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  fc.constantFrom('{', 'nul', '', '[1,]', '"\\u12"'),
);

const dataArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  textArb.map((text) => ({ type: 'receive' as const, text })),
  fc
    .oneof(
      fc.uint8Array({ maxLength: 12 }),
      textArb.map((text) => new Uint8Array(Buffer.from(text))),
    )
    .map((bytes) => ({ type: 'receive' as const, bytes: Buffer.from(bytes) })),
);

const disconnectArb: fc.Arbitrary<ClientMessage> = fc.record({
  type: fc.constant('disconnect' as const),
  code: fc.constantFrom(1000, 1001, 1005, 1006, 1011, 4000),
  reason: fc.string({ maxLength: 8 }),
});

/** What a transport delivers: `connect`, data messages, then one `disconnect`. */
const wellFormedScript = fc
  .tuple(fc.array(dataArb, { maxLength: 8 }), disconnectArb)
  .map(([data, end]): ClientMessage[] => [{ type: 'connect' }, ...data, end]);

/** A transport that breaks its contract (messages in any order). */
const malformedScript = fc.array(
  fc.oneof(fc.constant<ClientMessage>({ type: 'connect' }), dataArb, disconnectArb),
  { minLength: 1, maxLength: 8 },
);

const optionsArb = fc.constantFrom<JsonOptionsArg>(
  undefined,
  {},
  { mode: 'text' },
  { mode: 'binary' },
  { mode: 'json' },
  { mode: 'TEXT' },
  { mode: 1 },
  { mode: '' },
);

const subprotocolArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom('chat', 'v1', 'v2') },
  { weight: 1, arbitrary: fc.constantFrom('nope', '') },
);

function invalid<T extends object>(headers: T): T {
  INVALID_HEADERS.add(headers);
  return headers;
}

const headersArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<() => unknown>(
      () => undefined,
      () => ({ 'X-Session': 'abc' }),
      () => ({ 'Set-Cookie': ['a=1', 'b=2'] }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<() => unknown>(
      () => invalid({ 'Bad Name': 'x' }),
      () => invalid({ 'X-Split': 'a\r\nInjected: yes' }),
      () => invalid({ '': 'x' }),
    ),
  },
);

const codeArb = fc.oneof(
  fc.constantFrom<unknown>(
    1000,
    1001,
    1003,
    1004,
    1005,
    1006,
    1007,
    1011,
    1014,
    1015,
    999,
    0,
    -1,
    2999,
    3000,
    4999,
    5000,
    1000.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '1000',
  ),
  fc.integer({ min: 0, max: 6000 }),
);

const reasonArb = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom<unknown>(
    'a'.repeat(123),
    'a'.repeat(124),
    'é'.repeat(61),
    'é'.repeat(62),
    '😀'.repeat(30),
    '😀'.repeat(31),
    42,
  ),
);

const unrepresentable = fc.constantFrom<() => unknown>(
  () => undefined,
  () => () => 1,
  () => Symbol('s'),
  () => 1n,
  () => ({ deep: [1, 2n] }),
  () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    return cycle;
  },
  () => ({ toJSON: () => undefined }),
);

const jsonishArb = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: unrepresentable.map((make) => make()) },
);

const appMessageArb = fc.oneof(
  fc.constant<unknown>({ type: 'accept' }),
  subprotocolArb.map((subprotocol) => ({ type: 'accept', subprotocol })),
  headersArb.map((headers) => ({ type: 'accept', headers: headers() })),
  fc.string({ maxLength: 8 }).map((text) => ({ type: 'send', text })),
  fc.uint8Array({ maxLength: 8 }).map((bytes) => ({ type: 'send', bytes })),
  fc
    .constantFrom<() => unknown>(
      () => ({ type: 'send' }),
      () => ({ type: 'send', text: 42 }),
      () => ({ type: 'send', bytes: 'not bytes' }),
      () => ({ type: 'send', bytes: new ArrayBuffer(2) }),
      () => ({ type: 'close' }),
      () => ({ type: 'bogus' }),
      () => ({ type: 'receive', text: 'a client message' }),
      () => ({ type: 'connect' }),
      () => ({ type: 'disconnect', code: 1000, reason: '' }),
    )
    .map((make) => make()),
  fc.record({ type: fc.constant('close'), code: codeArb, reason: reasonArb }),
);

type Op =
  | { k: 'push' }
  | { k: 'receive' }
  | { k: 'receiveText' }
  | { k: 'receiveBytes' }
  | { k: 'receiveJson'; options: JsonOptionsArg }
  | { k: 'iter'; kind: Kind; options: JsonOptionsArg; take: number }
  | { k: 'accept'; subprotocol: string | undefined; headers: () => unknown }
  | { k: 'close'; code: unknown; reason: unknown }
  | { k: 'sendText'; data: string }
  | { k: 'sendBytes'; data: Uint8Array }
  | { k: 'sendJson'; value: unknown; options: JsonOptionsArg }
  | { k: 'send'; message: unknown }
  | { k: 'fail' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Op>({ k: 'push' }) },
  { weight: 2, arbitrary: fc.constant<Op>({ k: 'receive' }) },
  { weight: 2, arbitrary: fc.constantFrom<Op>({ k: 'receiveText' }, { k: 'receiveBytes' }) },
  { weight: 2, arbitrary: optionsArb.map((options): Op => ({ k: 'receiveJson', options })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom<Kind>('text', 'bytes', 'json'),
        optionsArb,
        fc.integer({ min: 0, max: 6 }),
      )
      .map(([kind, options, take]): Op => ({ k: 'iter', kind, options, take })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(subprotocolArb, headersArb)
      .map(([subprotocol, headers]): Op => ({ k: 'accept', subprotocol, headers })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(codeArb, reasonArb)
      .map(([code, reason]): Op => ({ k: 'close', code, reason })),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 8 })
      .map((data): Op => ({ k: 'sendText', data })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 8 }).map((data): Op => ({ k: 'sendBytes', data })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(jsonishArb, optionsArb)
      .map(([value, options]): Op => ({ k: 'sendJson', value, options })),
  },
  { weight: 3, arbitrary: appMessageArb.map((message): Op => ({ k: 'send', message })) },
);

/** How a scenario starts: as it comes, or with the handshake done one way or the other. */
const leadArb = fc.constantFrom<Op[]>(
  [],
  [{ k: 'push' }, { k: 'accept', subprotocol: undefined, headers: () => undefined }],
  [{ k: 'send', message: { type: 'accept' } }],
);

/**
 * The operations of a scenario: a lead, random operations, and in some scenarios a point from
 * which the transport fails every send (a broken connection).
 */
const opsArb = fc
  .tuple(
    leadArb,
    fc.array(opArb, { maxLength: 40 }),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.nat({ max: 40 }) },
    ),
  )
  .map(([lead, ops, failAt]): Op[] => {
    const all = [...lead, ...ops];
    if (failAt !== undefined) all.splice(Math.min(failAt, all.length), 0, { k: 'fail' });
    return all;
  });

/** Operations that may read from the transport: only one runs at a time. */
function mayRead(op: Op): boolean {
  return ['receive', 'receiveText', 'receiveBytes', 'receiveJson', 'iter', 'accept'].includes(op.k);
}

// ---------------------------------------------------------------------------------------------
// Running a scenario on the real socket and on the model

/** A call's promise, observed without ever leaving a rejection unhandled. */
interface Tracked {
  settled: boolean;
  ok?: boolean;
  value?: unknown;
  error?: unknown;
}

function track(promise: Promise<unknown>): Tracked {
  const tracked: Tracked = { settled: false };
  promise.then(
    (value) => Object.assign(tracked, { settled: true, ok: true, value }),
    (error: unknown) => Object.assign(tracked, { settled: true, ok: false, error }),
  );
  return tracked;
}

/** Lets every promise chain of the in-memory transport run to its next wait. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function realIterate(socket: WebSocket, op: Op & { k: 'iter' }): Promise<IterResult> {
  const iterator =
    op.kind === 'text'
      ? socket.iterText()
      : op.kind === 'bytes'
        ? socket.iterBytes()
        : socket.iterJson(op.options as never);
  const values: unknown[] = [];
  try {
    for (let i = 0; i < op.take; i++) {
      const next = await iterator.next();
      if (next.done) return new IterResult(values, 'done');
      values.push(next.value);
    }
  } catch (error) {
    return new IterResult(values, error as Error);
  }
  await iterator.return(undefined);
  return new IterResult(values, 'taken');
}

/** Starts `op` on the real socket (the model runs the same op beside it). */
function startReal(socket: WebSocket, transport: MemoryTransport, op: Op): Promise<unknown> {
  // Every call goes through an async wrapper so synchronous throws count as rejections too.
  const call = async (): Promise<unknown> => {
    switch (op.k) {
      case 'receive':
        return socket.receive();
      case 'receiveText':
        return socket.receiveText();
      case 'receiveBytes':
        return socket.receiveBytes();
      case 'receiveJson':
        return socket.receiveJson(op.options as never);
      case 'iter':
        return realIterate(socket, op);
      case 'accept':
        return socket.accept({
          ...(op.subprotocol === undefined ? {} : { subprotocol: op.subprotocol }),
          ...(op.headers() === undefined ? {} : { headers: op.headers() as never }),
        });
      case 'close':
        return socket.close(op.code as number, op.reason as string);
      case 'sendText':
        return socket.sendText(op.data);
      case 'sendBytes':
        return socket.sendBytes(op.data);
      case 'sendJson':
        return socket.sendJson(op.value, op.options as never);
      case 'send':
        return socket.send(op.message as AppMessage);
      case 'fail':
        transport.failSends = new Error('broken pipe');
        return undefined;
      case 'push':
        throw new Error('push is not a socket call');
    }
  };
  return call();
}

/** A model step that needs no client message. */
function* immediate(outcome: () => Outcome): Step<Outcome> {
  yield* [] as 'read'[];
  return outcome();
}

/** The model's step for `op`, with the arguments the real call got. */
function modelStep(model: Model, op: Op, headers: unknown): Step<Outcome> {
  switch (op.k) {
    case 'receive':
      return model.receive();
    case 'receiveText':
      return model.receiveAs('text');
    case 'receiveBytes':
      return model.receiveAs('bytes');
    case 'receiveJson':
      return model.receiveAs('json', op.options);
    case 'iter':
      return model.iterate(op.kind, op.options, op.take);
    case 'accept':
      return model.accept(op.subprotocol, headers);
    case 'close':
      return immediate(() => model.close(op.code, op.reason));
    case 'sendText':
      return immediate(() => model.send({ type: 'send', text: op.data }));
    case 'sendBytes':
      return immediate(() => model.send({ type: 'send', bytes: op.data }));
    case 'sendJson':
      return immediate(() => model.sendJson(op.value, op.options));
    case 'send':
      return immediate(() => model.send(op.message as AppMessage));
    case 'fail':
      return immediate(() => {
        model.failing = true;
        return ok();
      });
    case 'push':
      throw new Error('push is not a socket call');
  }
}

/** Drives a model step until it finishes or needs a message the client has not sent yet. */
function drive(
  model: Model,
  step: Step<Outcome>,
  input?: ClientMessage,
): { outcome: Outcome } | { blocked: true } {
  let next = input === undefined ? step.next() : step.next(input);
  while (!next.done) {
    model.reads++;
    const message = model.inbox.shift();
    if (message === undefined) return { blocked: true };
    model.consumed.push(message);
    next = step.next(message);
  }
  return { outcome: next.value };
}

function withoutUndefined(message: unknown): unknown {
  if (typeof message !== 'object' || message === null) return message;
  return Object.fromEntries(Object.entries(message).filter(([, value]) => value !== undefined));
}

function errorMatches(error: unknown, expected: Outcome & { ok: false }, label: string): void {
  const names = expected.errors.map((type) => type.name).join(' or ');
  expect(
    expected.errors.some((type) => error instanceof type),
    `${label}: expected ${names}, got ${String(error)}`,
  ).to.equal(true);
  // A TypeError we expect is a deliberate one, not a crash inside the library.
  expect(String(error), label).not.to.match(/Cannot read prop|is not a function|of undefined/);
  if (error instanceof WebSocketDisconnect && expected.code !== undefined) {
    expect(error.code, `${label}: disconnect code`).to.equal(expected.code);
    if (expected.reason !== undefined) {
      expect(error.reason, `${label}: disconnect reason`).to.equal(expected.reason);
    }
  }
  if (error instanceof SyntaxError) expect(error.message, label).to.match(/JSON/);
}

function compareOutcome(tracked: Tracked, expected: Outcome, label: string): void {
  expect(
    tracked.settled,
    `${label}: should ${expected.ok ? 'resolve' : `reject with ${expected.errors.map((e) => e.name).join(' or ')}`} at once, but it waits for a client message`,
  ).to.equal(true);
  if (!expected.ok) {
    expect(tracked.ok, `${label}: should reject, resolved with ${String(tracked.value)}`).to.equal(
      false,
    );
    errorMatches(tracked.error, expected, label);
    return;
  }
  expect(tracked.ok, `${label}: should resolve, rejected with ${String(tracked.error)}`).to.equal(
    true,
  );
  const want = expected.value;
  if (want instanceof IterResult) {
    const got = tracked.value as IterResult;
    expect(got, `${label}: an iterator run`).to.be.instanceOf(IterResult);
    expect(got.values, `${label}: values`).to.deep.equal(want.values);
    if (typeof want.end === 'string') expect(got.end, `${label}: end`).to.equal(want.end);
    else errorMatches(got.end, want.end as Outcome & { ok: false }, `${label} (end)`);
    return;
  }
  expect(tracked.value, `${label}: value`).to.deep.equal(expected.value);
}

function describeOp(op: Op): string {
  return fc.stringify(op);
}

/** Runs one scenario; throws (via chai) at the first disagreement with the model. */
async function scenario(
  script: ClientMessage[],
  wellFormed: boolean,
  offered: string[],
  ops: Op[],
): Promise<void> {
  const transport = new MemoryTransport();
  const socket = new WebSocket(transport, {
    headers: offered.length > 0 ? { 'sec-websocket-protocol': offered.join(', ') } : {},
  });
  const model = new Model(offered);
  let pushed = 0;
  let pending: { step: Step<Outcome>; tracked: Tracked; label: string } | undefined;

  const agree = (label: string): void => {
    expect(socket.clientState, `${label}: clientState`).to.equal(model.client);
    expect(socket.applicationState, `${label}: applicationState`).to.equal(model.app);
    expect(transport.sent.map(withoutUndefined), `${label}: sent`).to.deep.equal(
      model.sent.map(withoutUndefined),
    );
    expect(transport.reads, `${label}: transport reads`).to.equal(model.reads);
    expect(transport.unread, `${label}: unread client messages`).to.equal(model.inbox.length);
    // Nothing lost or reordered: what the core read is exactly the pushed prefix.
    expect(model.consumed, `${label}: consumed`).to.deep.equal(
      script.slice(0, model.consumed.length),
    );
    expect(pushed - transport.unread, `${label}: messages read`).to.equal(model.consumed.length);
  };

  const push = async (index: number): Promise<void> => {
    const message = script[pushed] as ClientMessage;
    pushed++;
    const label = `#${index} push ${JSON.stringify(message)}`;
    transport.push(message);
    model.inbox.push(message);
    await settle();
    if (pending) {
      const waiting = pending;
      // The blocked call was already counted as a read; it now gets this message.
      const input = model.inbox.shift() as ClientMessage;
      model.consumed.push(input);
      const result = drive(model, waiting.step, input);
      if ('outcome' in result) {
        pending = undefined;
        compareOutcome(waiting.tracked, result.outcome, `${label} → ${waiting.label}`);
      } else {
        expect(waiting.tracked.settled, `${label}: ${waiting.label} should still wait`).to.equal(
          false,
        );
      }
    }
    agree(label);
  };

  const run = async (index: number, op: Op): Promise<void> => {
    if (op.k === 'push') {
      if (pushed < script.length) await push(index);
      return;
    }
    if (pending && mayRead(op)) return;
    const label = `#${index} ${describeOp(op)}`;
    // Header objects are made fresh per call; the model must see the very objects the socket got.
    const headers = op.k === 'accept' ? op.headers() : undefined;
    const real = op.k === 'accept' ? { ...op, headers: () => headers } : op;
    const tracked = track(startReal(socket, transport, real));
    const step = modelStep(model, real, headers);
    const result = drive(model, step);
    await settle();
    if ('outcome' in result) compareOutcome(tracked, result.outcome, label);
    else {
      expect(tracked.settled, `${label}: should wait for the client`).to.equal(false);
      pending = { step, tracked, label };
    }
    agree(label);
  };

  for (const [index, op] of ops.entries()) await run(index, op);
  // The client sends the rest; whatever waits gets its message.
  while (pushed < script.length) await push(ops.length + pushed);
  if (wellFormed)
    expect(pending?.label, 'a call still waits after the disconnect').to.equal(undefined);
  // Every call once more in the final state (usually after the disconnect).
  for (const [index, op] of EPILOGUE.entries()) await run(ops.length + script.length + index, op);
}

const EPILOGUE: Op[] = [
  { k: 'receive' },
  { k: 'receiveText' },
  { k: 'receiveBytes' },
  { k: 'receiveJson', options: undefined },
  { k: 'iter', kind: 'text', options: undefined, take: 1 },
  { k: 'sendText', data: 'late' },
  { k: 'sendBytes', data: new Uint8Array([1]) },
  { k: 'sendJson', value: { late: true }, options: { mode: 'binary' } },
  { k: 'accept', subprotocol: undefined, headers: () => undefined },
  { k: 'close', code: 1000, reason: '' },
  { k: 'send', message: { type: 'close' } },
  { k: 'receive' },
];

describe('core WebSocket: properties (fast-check)', () => {
  it(`agrees with the state-machine model on random calls and client messages (seed ${SEED}, ${RUNS} runs)`, async function () {
    this.timeout(20_000);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          {
            weight: 5,
            arbitrary: wellFormedScript.map((script) => ({ script, wellFormed: true })),
          },
          {
            weight: 1,
            arbitrary: malformedScript.map((script) => ({ script, wellFormed: false })),
          },
        ),
        fc.subarray([...OFFERED]),
        opsArb,
        async ({ script, wellFormed }, offered, ops) => {
          await scenario(script, wellFormed, offered, ops);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe('core WebSocket: examples the properties found', () => {
  const pending = Symbol('pending');
  const outcome = async (promise: Promise<unknown>): Promise<unknown> => {
    const result = promise.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await settle();
    return Promise.race([result, Promise.resolve(pending)]);
  };

  it('accept() with invalid headers throws TypeError before reading the connect message', async () => {
    const transport = new MemoryTransport().push({ type: 'connect' });
    const socket = new WebSocket(transport);
    const error = await outcome(socket.accept({ headers: { 'Bad Name': 'x' } }));
    expect(error).to.be.instanceOf(TypeError);
    // A refused call changes nothing: the connect is still unread, the client still CONNECTING.
    expect(transport.reads, 'transport reads').to.equal(0);
    expect(transport.unread, 'unread client messages').to.equal(1);
    expect(socket.clientState, 'clientState').to.equal(CONNECTING);
    expect(socket.applicationState).to.equal(CONNECTING);
    expect(transport.sent).to.deep.equal([]);
  });

  it('accept() with invalid headers does not wait for the client before throwing', async () => {
    const transport = new MemoryTransport();
    const socket = new WebSocket(transport);
    const error = await outcome(socket.accept({ headers: { 'X-Split': 'a\r\nInjected: yes' } }));
    expect(error, 'outcome').to.be.instanceOf(TypeError);
    expect(transport.reads, 'transport reads').to.equal(0);
  });
});
