'use strict';
// node_cluster: the node_http server in --threads worker processes (node:cluster). The primary
// owns the listening socket and hands accepted connections to the workers round-robin (node's
// default on Linux); each worker is one event loop running the node_http module unchanged.

const cluster = require('node:cluster');
const path = require('node:path');
const {
  createLabServer, parseOptions, stopOnSignals,
} = require(path.join(__dirname, '..', 'node_http', 'server.js'));

const options = parseOptions(process.argv.slice(2));

if (cluster.isPrimary) {
  let listening = 0;
  let stopping = false;
  cluster.on('listening', (worker, address) => {
    listening += 1;
    if (listening === options.threads) {
      process.stdout.write(
        `listening on ${options.host}:${address.port} (multi_process, ${options.threads} threads)\n`);
    }
  });
  cluster.on('exit', (worker, code) => {
    if (!stopping) {
      process.stderr.write(`node_cluster: worker ${worker.process.pid} exited (${code})\n`);
      process.exit(1); // a half-sized cluster would measure the wrong thing
    }
    if (Object.keys(cluster.workers).length === 0) process.exit(0);
  });
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (let i = 0; i < options.threads; i++) cluster.fork();
} else {
  const server = createLabServer(options);
  stopOnSignals(server);
  server.listen(options.port, options.host);
}
