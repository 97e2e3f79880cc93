'use strict';
// Corral JavaScript context server.
//
// Started by the session agent as `node -e <this source> IN_FD OUT_FD`. Reads
// requests {"code": "..."} as frames (a 4-byte big-endian length, then UTF-8
// JSON) from IN_FD, runs each one in a vm context that persists across
// requests, and answers on OUT_FD with {stdout, stderr, result, error}.
// Output through console and process.stdout/stderr is captured; fds 1 and 2
// are a log whose tail the agent reports if this server dies.

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const vm = require('vm');
const { Console } = require('console');
const { createRequire } = require('module');

const [IN_FD, OUT_FD] = process.argv.slice(1, 3).map(Number);
const CELL = '<cell>';        // filename of user code in stack traces
const MAX_STREAM = 8 << 20;   // characters of stdout/stderr kept per run
const MAX_TEXT = 64 << 10;    // characters of a result's inspection
const MAX_JSON = 1 << 20;     // bytes of a result's JSON

// Keeps what is written to it, up to MAX_STREAM characters per run.
class Capture {
  constructor() {
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
  }

  write(chunk) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const kept = text.slice(0, Math.max(0, MAX_STREAM - this.size));
    this.parts.push(kept);
    this.size += kept.length;
    this.dropped += text.length - kept.length;
    return true;
  }

  // Returns what was written since the last take and forgets it.
  take() {
    let text = this.parts.join('');
    if (this.dropped) text += `\n[${this.dropped} more characters were not kept]\n`;
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
    return text;
  }
}

const stdout = new Capture();
const stderr = new Capture();

// Writes straight to process.stdout/stderr are captured too, so they never
// reach the log.
for (const [stream, capture] of [[process.stdout, stdout], [process.stderr, stderr]]) {
  stream.write = (chunk, encoding, callback) => {
    capture.write(typeof chunk === 'string' && typeof encoding === 'string' ? Buffer.from(chunk, encoding) : chunk);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

// Errors thrown by timers or left in rejected promises after a run has ended
// are reported in the next run's stderr instead of killing the context.
process.on('uncaughtException', (e) => stderr.write(`Uncaught ${inspect(e)}\n`));
process.on('unhandledRejection', (e) => stderr.write(`Unhandled promise rejection: ${inspect(e)}\n`));

const context = vm.createContext({
  console: new Console({ stdout, stderr, ignoreErrors: false, colorMode: false }),
  require: createRequire(path.join(process.cwd(), CELL)),
  process, Buffer, URL, URLSearchParams, TextEncoder, TextDecoder,
  AbortController, AbortSignal, EventTarget, Event, atob, btoa, structuredClone, queueMicrotask,
  setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate,
});
vm.runInContext('var global = globalThis;', context);

function inspect(value) {
  try {
    return util.inspect(value);
  } catch (e) {
    return `<inspect failed: ${e}>`;
  }
}

// Compiles a cell. A cell using top-level await runs as an async function:
// its declarations stay local to that cell, and its last line becomes the
// result when it is an expression.
function compile(code) {
  const options = { filename: CELL };
  try {
    return new vm.Script(code, options);
  } catch (e) {
    if (!(e && e.name === 'SyntaxError' && /\bawait\b/.test(e.message))) throw e;
  }
  const lines = code.trimEnd().split('\n');
  const last = lines.pop().replace(/;\s*$/, '');
  const body = lines.length ? `${lines.join('\n')}\n` : '';
  try {
    return new vm.Script(`(async () => {${body}return (${last}\n);})()`, options);
  } catch {
    return new vm.Script(`(async () => {${code}\n})()`, options);
  }
}

function describeValue(value) {
  let text = inspect(value);
  if (text.length > MAX_TEXT) text = `${text.slice(0, MAX_TEXT)}...`;
  let json = null;
  try {
    const encoded = JSON.stringify(value);
    if (encoded !== undefined && Buffer.byteLength(encoded) <= MAX_JSON) json = JSON.parse(encoded);
  } catch {
    // not JSON-serializable (BigInt, cycles, ...)
  }
  return { text, json };
}

// Keeps a stack's message lines and its frames down to the last one in the
// cell; the frames below are this server's.
function cellStack(stack) {
  const lines = stack.split('\n');
  const isFrame = (line) => /^\s+at /.test(line);
  let last = -1;
  lines.forEach((line, i) => {
    if (isFrame(line) && line.includes(CELL)) last = i;
  });
  return lines.filter((line, i) => !isFrame(line) || i <= last).join('\n');
}

function describeError(e) {
  try {
    if (e !== null && (typeof e === 'object' || typeof e === 'function') && typeof e.message === 'string') {
      return { name: String(e.name || 'Error'), value: e.message, traceback: cellStack(String(e.stack || '')) };
    }
  } catch {
    // a getter on the thrown object threw; describe it as a plain value
  }
  return { name: 'Uncaught', value: inspect(e), traceback: '' };
}

async function runCell(code) {
  let result = null;
  let error = null;
  try {
    let value = compile(code).runInContext(context);
    if (util.types.isPromise(value)) value = await value;
    if (value !== undefined) result = describeValue(value);
  } catch (e) {
    error = describeError(e);
  }
  return { stdout: stdout.take(), stderr: stderr.take(), result, error };
}

function send(message) {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  for (let offset = 0; offset < frame.length;) offset += fs.writeSync(OUT_FD, frame, offset);
}

// Incoming bytes; a frame is joined into one buffer only once it is complete.
let chunks = [];
let buffered = 0;

function take(size) {
  const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
  const rest = all.subarray(size);
  chunks = rest.length ? [rest] : [];
  buffered = rest.length;
  return all.subarray(0, size);
}

function nextRequest() {
  if (buffered < 4) return null;
  if (chunks[0].length < 4) chunks = [Buffer.concat(chunks, buffered)];
  const size = chunks[0].readUInt32BE(0);
  if (buffered < 4 + size) return null;
  take(4);
  return JSON.parse(take(size).toString('utf8'));
}

// Runs requests one at a time, in order.
let busy = false;
async function pump() {
  if (busy) return;
  busy = true;
  let request;
  while ((request = nextRequest()) !== null) send(await runCell(String(request.code)));
  busy = false;
}

const input = new net.Socket({ fd: IN_FD, readable: true, writable: false });
input.on('data', (chunk) => {
  chunks.push(chunk);
  buffered += chunk.length;
  pump();
});
input.on('end', () => process.exit(0));
input.on('error', () => process.exit(1));
send({ ready: true, pid: process.pid });
