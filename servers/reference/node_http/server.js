'use strict';
// The lab's service contract (docs/service-contract.md) on node:http: one process, one event
// loop, no npm dependencies. Run directly it is the `node_http` server; node_cluster requires
// this module and calls createLabServer() in each worker.

const http = require('node:http');
const { parseArgs } = require('node:util');

const MAX_HEADER_SECTION = 8192; // request line + headers + blank line, in bytes
const MAX_BODY = 1024 * 1024;
const MAX_COMPUTE_N = 10_000_000;
const MAX_SLEEP_MS = 60_000;
const MAX_FANOUT = 64;
const MAX_DEADLINE_MS = 600_000;
const MAX_CALL_BODY = 4096; // a /delay answer is ~20 bytes; anything longer is not one
const SERVER_NAME = 'concurrency-lab';
const ERROR_BODIES = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

// n steps of Marsaglia's xorshift32 from the contract's seed; `>>> 0` reads the bits unsigned.
function compute(n) {
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x >>> 0;
}

// The decoded value of the first name=value pair in the raw query whose raw name is `name`;
// null if there is none, it has no '=', or its value has a malformed %-escape. This is the
// contract's rule ("Query parameters" in docs/service-contract.md); URLSearchParams differs:
// it decodes names and keeps a malformed escape such as %zz as literal text.
function firstQueryValue(query, name) {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) !== name) continue;
    if (eq < 0) return null;
    try {
      return decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return null; // URIError: a malformed escape (or bytes that are not UTF-8: not digits either)
    }
  }
  return null;
}

// A query parameter that must be 1+ decimal digits (leading zeros allowed) and at most max;
// otherwise null.
function boundedParam(query, name, max) {
  const s = firstQueryValue(query, name);
  if (s === null || !/^[0-9]+$/.test(s)) return null;
  // Number() reads leading zeros as decimal; past 2^53 it rounds, and past ~1e308 it is
  // Infinity, but either is still above max, so the comparison is exact where it matters.
  const value = Number(s);
  return value <= max ? value : null;
}

// Whether any pair of the raw query has the raw name `name`: an optional parameter is absent
// only when no pair names it (`mode` without '=' is present and invalid).
function hasQueryName(query, name) {
  return query.split('&').some((pair) => {
    const eq = pair.indexOf('=');
    return (eq < 0 ? pair : pair.slice(0, eq)) === name;
  });
}

// /gateway's query by the contract's rule: {fanout, ms, mode, deadlineMs (null: none)}, or
// null when any value is bad.
function gatewayParams(query) {
  const fanout = boundedParam(query, 'fanout', MAX_FANOUT);
  const ms = boundedParam(query, 'ms', MAX_SLEEP_MS);
  if (fanout === null || fanout < 1 || ms === null) return null;
  let mode = 'parallel';
  if (hasQueryName(query, 'mode')) {
    mode = firstQueryValue(query, 'mode');
    if (mode !== 'parallel' && mode !== 'sequential') return null;
  }
  let deadlineMs = null;
  if (hasQueryName(query, 'deadline_ms')) {
    deadlineMs = boundedParam(query, 'deadline_ms', MAX_DEADLINE_MS);
    if (deadlineMs === null || deadlineMs < 1) return null;
  }
  return { fanout, ms, mode, deadlineMs };
}

// The downstream /gateway calls: HOST:PORT and one keep-alive http.Agent, whose maxSockets
// bounds the connections open to it at once (a request that finds them all busy waits in the
// agent's queue); maxFreeSockets keeps them all for reuse. One per process.
function createDownstream(hostPort, pool) {
  const colon = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535 ||
      !Number.isInteger(pool) || pool < 1) {
    throw new Error('--downstream needs HOST:PORT and --downstream-pool at least 1');
  }
  return {
    host: hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port,
    agent: new http.Agent({ keepAlive: true, maxSockets: pool, maxFreeSockets: pool }),
  };
}

class GatewayTimeout extends Error {}

// One GET /delay?ms=ms&i=i; resolves to {i, ms} from the downstream's JSON answer, rejects on
// a refused or broken connection, a non-200 answer or a body that is not that JSON. Aborting
// `signal` destroys the request and its socket, which therefore never returns to the pool.
function callDownstream(downstream, i, ms, signal) {
  return new Promise((resolve, reject) => {
    const request = http.get({
      host: downstream.host,
      port: downstream.port,
      path: `/delay?ms=${ms}&i=${i}`,
      agent: downstream.agent,
      signal,
    }, (response) => {
      const chunks = [];
      let size = 0;
      response.on('data', (chunk) => {
        size += chunk.length;
        if (size > MAX_CALL_BODY) request.destroy(new Error('downstream answer too long'));
        else chunks.push(chunk);
      });
      response.on('error', reject);
      response.on('end', () => {
        let answer = null;
        try {
          answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // unparsable: answer stays null
        }
        if (response.statusCode !== 200 || !Number.isInteger(answer?.i) ||
            !Number.isInteger(answer?.ms)) {
          reject(new Error(`downstream answered ${response.statusCode}`));
        } else {
          resolve({ i: answer.i, ms: answer.ms });
        }
      });
    });
    request.on('error', reject);
  });
}

// Makes the calls 0..fanout-1, all at once (Promise.all) or one after another, and resolves to
// their answers in index order. One AbortController covers them all: the deadline's timer, the
// first failed call and the client going away each abort it, which destroys every call still
// outstanding. Rejects with GatewayTimeout when the deadline fired first.
async function fanOut(downstream, { fanout, ms, mode, deadlineMs }, res) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = deadlineMs === null ? null : setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, deadlineMs);
  const abortIfClientLeft = () => controller.abort();
  res.on('close', abortIfClientLeft);
  try {
    if (mode === 'sequential') {
      const calls = [];
      for (let i = 0; i < fanout; i++) {
        calls.push(await callDownstream(downstream, i, ms, controller.signal));
      }
      return calls;
    }
    return await Promise.all(Array.from({ length: fanout },
      (_, i) => callDownstream(downstream, i, ms, controller.signal)));
  } catch (err) {
    controller.abort(); // Promise.all settles at the first rejection; stop the rest now
    throw timedOut ? new GatewayTimeout() : err;
  } finally {
    clearTimeout(timer);
    res.off('close', abortIfClientLeft);
  }
}

function reply(res, status, contentType, body, closeAfter = false) {
  const headers = {
    Server: SERVER_NAME,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body), // kept for HEAD, where node drops the body
  };
  if (closeAfter) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function replyError(res, status, closeAfter = false) {
  if (status === 405) res.setHeader('Allow', 'GET, HEAD');
  reply(res, status, 'text/plain', ERROR_BODIES[status], closeAfter);
}

// node counts only the bytes of the URL, names and values against maxHeaderSize, so a header
// section it accepts can still be over the contract's 8192 bytes; rebuild the real size.
function headerSectionSize(req) {
  let size = req.method.length + 1 + req.url.length + 1 + 'HTTP/'.length +
    req.httpVersion.length + 2;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) size += raw[i].length + 2 + raw[i + 1].length + 2;
  return size + 2;
}

const routes = {
  '/plaintext': (req, res) => reply(res, 200, 'text/plain', 'Hello, World!'),
  '/json': (req, res) =>
    reply(res, 200, 'application/json', JSON.stringify({ message: 'Hello, World!' })),
  '/compute': (req, res, query) => {
    const n = boundedParam(query, 'n', MAX_COMPUTE_N);
    if (n === null) return replyError(res, 400);
    reply(res, 200, 'text/plain', String(compute(n)));
  },
  '/sleep': (req, res, query) => {
    const ms = boundedParam(query, 'ms', MAX_SLEEP_MS);
    if (ms === null) return replyError(res, 400);
    // A timer: the loop serves other connections meanwhile; node queues later pipelined
    // requests on this connection behind this response.
    setTimeout(() => reply(res, 200, 'text/plain', String(ms)), ms);
  },
  '/gateway': (req, res, query, downstream) => {
    const params = gatewayParams(query);
    if (params === null) return replyError(res, 400);
    if (downstream === null) return replyError(res, 502);
    fanOut(downstream, params, res).then(
      (calls) => reply(res, 200, 'application/json',
        JSON.stringify({ fanout: params.fanout, mode: params.mode, calls })),
      (err) => replyError(res, err instanceof GatewayTimeout ? 504 : 502));
  },
};

// A '%' not followed by two hex digits: a malformed escape.
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

// The contract's target rule ("Paths"): origin-form only (node also hands us absolute-form
// and '*'), and no malformed escape in the path; anything else is a malformed request line.
function isOriginFormPath(path) {
  return path.startsWith('/') && !MALFORMED_ESCAPE.test(path);
}

function handle(req, res, downstream) {
  // The raw target split at its first '?', as the contract reads it: new URL() would also
  // drop a '#...' and re-encode characters before the query is seen.
  const question = req.url.indexOf('?');
  const path = question < 0 ? req.url : req.url.slice(0, question);
  const query = question < 0 ? '' : req.url.slice(question + 1);
  if (!isOriginFormPath(path)) return replyError(res, 400, true);
  if (headerSectionSize(req) > MAX_HEADER_SECTION) return replyError(res, 431, true);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY) return replyError(res, 413, true);

  // Read (and drop) a body of up to 1 MiB before answering, so the next pipelined request is
  // framed right; a chunked body that grows past 1 MiB gets 413 and the connection closes.
  let received = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    received += chunk.length;
    if (received > MAX_BODY && !tooLarge) {
      tooLarge = true;
      replyError(res, 413, true);
      req.socket.end();
    }
  });
  req.on('end', () => {
    if (tooLarge) return;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return replyError(res, 404);
    if (req.method !== 'GET' && req.method !== 'HEAD') return replyError(res, 405);
    route(req, res, query, downstream);
  });
}

// Requests node's parser rejects never reach handle(); node's default answer has no body,
// Server, Date or Content-Length, so write the contract's reply ourselves.
function onClientError(err, socket) {
  // Bytes after a `Connection: close` request: node's parser refuses them, but the request
  // before them is being answered and the socket closes after it; they get no answer.
  if (err.code === 'HPE_CLOSED_CONNECTION') return;
  if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = ERROR_BODIES[status];
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nServer: ${SERVER_NAME}\r\n` +
    `Date: ${new Date().toUTCString()}\r\nContent-Type: text/plain\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}

function createLabServer({ idleTimeoutSeconds, downstream, downstreamPool }) {
  // Each process (each node_cluster worker too) has its own downstream pool.
  const calls = downstream ? createDownstream(downstream, downstreamPool) : null;
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_SECTION },
    (req, res) => handle(req, res, calls));
  server.keepAliveTimeout = idleTimeoutSeconds * 1000; // idle time between requests only
  server.on('clientError', onClientError);
  return server;
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      threads: { type: 'string', default: '1' },
      'idle-timeout': { type: 'string', default: '30' },
      downstream: { type: 'string', default: '' },
      'downstream-pool': { type: 'string', default: '256' },
    },
  });
  return {
    port: Number(values.port),
    host: values.host,
    threads: Math.max(1, Number(values.threads)),
    idleTimeoutSeconds: Number(values['idle-timeout']),
    downstream: values.downstream,
    downstreamPool: Number(values['downstream-pool']),
  };
}

// Close the listener and every connection, then exit 0 (SIGINT/SIGTERM).
function stopOnSignals(server) {
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function main() {
  const options = parseOptions(process.argv.slice(2));
  const server = createLabServer(options);
  stopOnSignals(server);
  server.listen(options.port, options.host, () => {
    const { address, port } = server.address();
    // --threads is accepted and ignored: one event loop is this server's model.
    process.stdout.write(`listening on ${address}:${port} (event_loop, 1 threads)\n`);
  });
}

module.exports = { createLabServer, parseOptions, stopOnSignals, compute };

if (require.main === module) main();
