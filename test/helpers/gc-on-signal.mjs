// Preloaded (--import, with --expose-gc) into a child gateway by tests that measure what it
// retains: SIGUSR2 runs two full collections, after which the heap in use is the live set. Heap
// in use sampled under load is mostly garbage waiting for a collection, and how much of it
// depends on the machine's speed and V8's heap limit (a flood test failed at 64.5 MB of "growth"
// on a slow VM with nothing retained). Test-only: the gateway itself never calls gc().
if (typeof globalThis.gc === 'function')
  process.on('SIGUSR2', () => {
    globalThis.gc();
    globalThis.gc();
  });
