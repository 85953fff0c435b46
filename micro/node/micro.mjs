// Node.js counterparts of the C++ micro-benchmarks (docs/micro-benchmarks.md): ping-pong
// between two async functions through promises, and skynet with async functions. No npm
// dependencies: a small harness with warm-up rounds and timed repetitions on
// process.hrtime.bigint(). Prints one JSON document on stdout for micro/run.
const quick = process.argv.includes('--quick');
const warmups = quick ? 1 : 3;
const repetitions = quick ? 1 : 5;

// A one-shot signal: wait() returns a promise that the next signal() resolves.
class Signal {
  #resolve = null;
  wait() { return new Promise((resolve) => { this.#resolve = resolve; }); }
  signal() { const resolve = this.#resolve; this.#resolve = null; resolve(); }
}

// Two async functions take turns: each hand-off resolves the promise the other awaits.
// Returns the number of hand-offs (two per round trip).
async function pingPong(roundTrips) {
  const toPartner = new Signal();
  const toMain = new Signal();
  let partnerReady = toPartner.wait();
  const partner = (async () => {
    for (let i = 0; i < roundTrips; i++) {
      await partnerReady;
      partnerReady = toPartner.wait();
      toMain.signal();
    }
  })();
  for (let i = 0; i < roundTrips; i++) {
    const back = toMain.wait();
    toPartner.signal();
    await back;
  }
  await partner;
  return 2 * roundTrips;
}

// Skynet: every node starts its ten children (async calls) and awaits them all.
async function skynet(num, size) {
  if (size === 1) return num;
  const children = [];
  for (let i = 0; i < 10; i++) children.push(skynet(num + i * (size / 10), size / 10));
  const sums = await Promise.all(children);
  let sum = 0;
  for (const s of sums) sum += s;
  return sum;
}

async function measure(measurement, unit, units, workload, warmupRounds = warmups) {
  for (let i = 0; i < warmupRounds; i++) await workload(units);
  const samples = [];
  for (let r = 0; r < repetitions; r++) {
    const start = process.hrtime.bigint();
    const performed = await workload(units);
    const elapsedNs = Number(process.hrtime.bigint() - start);
    samples.push(unit === 'ms' ? elapsedNs / 1e6 : elapsedNs / performed);
  }
  samples.sort((a, b) => a - b);
  return {
    measurement, unit, value: samples[Math.floor(samples.length / 2)],
    min: samples[0], max: samples[samples.length - 1], repetitions,
    units_per_repetition: units, params: {},
  };
}

const leaves = 1_000_000;
let answer = -1;
const results = [
  await measure('switch', 'ns', quick ? 10_000 : 1_000_000, pingPong),
  // One skynet run is long enough to warm itself up; --quick skips the separate warm-up.
  await measure('skynet', 'ms', 1, async () => { answer = await skynet(0, leaves); return 1; },
    quick ? 0 : 1),
];
results[1].params = { leaves, answer };
console.log(JSON.stringify({ runtime: process.version, results }, null, 1));
