// Preloaded (--import, with --expose-gc) into a child gateway by tests that measure what it
// retains: SIGUSR2 runs two full collections, after which the heap in use is the live set. Heap
// in use sampled under load is mostly garbage waiting for a collection, and how much of it
// depends on the machine's speed and V8's heap limit (a flood test failed at 64.5 MB of "growth"
// on a slow VM with nothing retained). Test-only: the gateway itself never calls gc().
// The heap in use is printed (one JSON line, numbered) right after the collections: reading it
// back through the GC counter of /metrics once timed out in CI under load (15 s) for no reason
// the test could tell; the line needs nothing but the signal handler to run.
let seq = 0;
if (typeof globalThis.gc === 'function')
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
    seq++;
    process.stderr.write(
      `${JSON.stringify({ msg: 'forced full collections', seq, heapUsed: process.memoryUsage().heapUsed })}\n`,
    );
  });
