// Preloaded (--import) into every process a test spawns. The test keeps the write end of this
// child's stdin open; when the test process goes away for any reason — a crash, a timeout, a
// kill -9 — the pipe closes and this child stops itself, so no run leaves gateways, simulators
// or their databases' connections behind to load the next one.
if (!process.stdin.isTTY) {
  process.stdin.on('end', () => {
    process.kill(process.pid, 'SIGTERM');
    // A child that does not finish its graceful stop in time is not worth waiting for.
    setTimeout(() => process.exit(1), 10_000).unref();
  });
  process.stdin.on('error', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.resume();
  process.stdin.unref?.();
}
