/**
 * No Docker engine runs here: the compose file is validated against the Compose Specification's
 * JSON schema (docker/compose-spec.schema.json, from github.com/compose-spec/compose-spec
 * schema/compose-spec.json at 170098ba), the Dockerfile with dockerfilelint, and both against what
 * the repository holds (files they copy or mount, the gateway's settings, the scrape target).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(path.join(root, f), 'utf8');
const compose = parse(read('docker-compose.yml'));
const dockerfile = read('Dockerfile');
const pkg = JSON.parse(read('package.json'));
/** The Node flags `npm start` runs the gateway with. */
const flags = /node (.*) dist\/main\.js/.exec(pkg.scripts.start)![1]!.split(' ');

/** What a Node program (`-e`) printed to stdout, run under `args`. */
const runNode = (args: string[], program: string) =>
  execFileSync(process.execPath, [...args, '-e', program], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });

/** ${VAR:-default} → default (what compose does with the variable unset). */
const interpolate = (v: string) => v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, validateSchema: false });
    const validate = ajv.compile(JSON.parse(read('docker/compose-spec.schema.json')));
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The schema does catch mistakes: an unknown service key and a restart policy that is not a string.
    const broken = structuredClone(compose);
    broken.services.parley.enviroment = { X: '1' };
    broken.services.redis.restart = ['always'];
    expect(validate(broken)).toBe(false);
    expect(validate.errors!.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/services/parley', '/services/redis/restart']),
    );
  });

  it('runs gateway, simulator, PostgreSQL, Redis, Prometheus and Grafana, wired to each other', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual([
      'grafana',
      'parley',
      'postgres',
      'prometheus',
      'redis',
      'simulator',
    ]);
    for (const [name, svc] of Object.entries<any>(s)) {
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const dep of deps) expect(s, `${name} depends on ${dep}`).toHaveProperty(dep);
      if (svc.image) expect(svc.image, `${name} image pinned`).not.toMatch(/:latest$|^[^:]+$/);
      for (const v of svc.volumes ?? []) {
        const host = String(v).split(':')[0]!;
        if (host.startsWith('./'))
          expect(existsSync(path.join(root, host)), `${name} mounts ${host}`).toBe(true);
      }
    }
    // The gateway's settings are ones its config accepts (a typo would stop it at start).
    const env = Object.fromEntries(
      Object.entries<string>(s.parley.environment).map(([k, v]) => [k, interpolate(String(v))]),
    );
    expect(env.PARLEY_CONFIG).toBe('/app/docker/carriers.yaml');
    const cfg = loadConfig({ ...env, PARLEY_CONFIG: path.join(root, 'docker/carriers.yaml') });
    expect(cfg.carriers.map((c) => `${c.host}:${c.port}`)).toEqual(['simulator:2775']);
    expect(s.simulator.command).toEqual(expect.arrayContaining(['dist/simulator.js', '2775']));
    // Prometheus scrapes the gateway's service and port, with the alert rules mounted beside it.
    const prom = parse(read('grafana/prometheus.yml'));
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual([`parley:${cfg.metricsListener!.port}`]);
    expect(prom.rule_files).toEqual(['alerts.yml']);
    expect(s.prometheus.volumes).toContain('./grafana/alerts.yml:/etc/prometheus/alerts.yml:ro');
    const ds = parse(read('grafana/provisioning/datasources/prometheus.yaml'));
    expect(ds.datasources[0].url).toBe('http://prometheus:9090');
  });
});

describe('Dockerfile', () => {
  it('passes dockerfilelint', () => {
    const lint = createRequire(import.meta.url)('dockerfilelint') as {
      run(dir: string, content: string): Array<{ line: number; title: string; description: string }>;
    };
    expect(lint.run(root, dockerfile)).toEqual([]);
  });

  it('builds in one stage and runs the bundles as a non-root user in a slim one', () => {
    const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)].map((m) => ({
      image: m[1]!,
      name: m[2],
    }));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const st of stages) expect(st.image).toMatch(/^node:20[.\d]*-bookworm-slim$/);
    const last = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(last).toMatch(/^USER node$/m);
    expect(last).not.toMatch(/npm (ci|install)(?!.*--omit=dev)/);
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const src of m[1]!.split(' ')) expect(existsSync(path.join(root, src)), `COPY ${src}`).toBe(true);
    for (const m of dockerfile.matchAll(/npm run -s ([\w:]+)/g)) expect(pkg.scripts).toHaveProperty(m[1]!);
    // The runtime flags are those `npm start` uses.
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(last)![1]!) as string[];
    expect(cmd).toEqual(['node', ...flags, 'dist/main.js']);
  });

  it('gives V8 a heap limit that lets the old generation grow 4× between full collections', () => {
    // V8 scales the old generation's growth between mark-compacts by the heap limit: 1.3× the
    // live set up to 256 MB of limit (64-bit, no pointer compression), rising to 4× at 2 GB.
    // With the limit at 160 MB the gateway ran 53 mark-compacts in each of two 100,000-message
    // bench runs (~2 a second; GC ~36 % of its CPU by perf in one); at 2 GB 8-11 over six runs,
    // and its CPU per message fell from 144 to 103-130 us. The in-memory holdings are bounded by count and bytes on
    // their own; this limit is not what bounds them.
    const limit = Number(
      runNode(flags, "process.stdout.write(String(require('node:v8').getHeapStatistics().heap_size_limit))"),
    );
    expect(limit).toBeGreaterThanOrEqual(2048 * 1024 * 1024);
  });

  it.runIf(process.platform === 'linux')('gives V8 one worker thread, not Node’s four', () => {
    // Node's default is four V8 worker threads (GC tasks, optimizing compiles) whatever the
    // machine. On two vCPUs shared with PostgreSQL, four of them took both cores at once at the
    // start of load and during marking (perf: 132 of 200 samples in one 50 ms); with one,
    // bench:accept's p99 at 2,000/s carrier up fell from a median 39.7 to 29.2 ms over ten
    // interleaved pairs, and bench e2e's gateway CPU per message from 132–154 to 112–128 µs.
    // An explicit 1, not 0 ("available parallelism - 1"): Node 20's libuv counts the host's CPUs,
    // not a container's CPU quota, so 0 would give dozens of threads in a small pod.
    expect(flags).toContain('--v8-pool-size=1');
    const threads = (args: string[]) =>
      Number(
        runNode(
          args,
          "setTimeout(() => process.stdout.write(String(require('node:fs').readdirSync('/proc/self/task').length)), 100)",
        ),
      );
    expect(threads(flags)).toBe(threads([]) - 3);
  });

  it('keeps V8 from pretenuring allocation sites (allocating a site’s objects old)', () => {
    // V8 allocates the objects of a site whose objects mostly survived a scavenge directly in
    // the old generation. node-postgres' row objects were such a site under load (the batches a
    // claim takes at once): every later row was born old, lived microseconds, and until the next
    // mark-compact kept the young strings it pointed to alive through every scavenge, which
    // copied and promoted them. At 2,000/s with the carrier up the scavenges promoted 1,479 KB
    // each against 559 without it, their pauses 2.3 against 1.7 ms; bench e2e's gateway CPU per
    // message, six interleaved pairs (fresh), a median 62 -> 56 us, the drain of a backlog 33 -> 30
    // (three pairs); on the aged database no difference beyond the scatter.
    expect(flags).toContain('--no-allocation-site-pretenuring');
    // A site all of whose objects survive: V8 pretenures it unless told not to (at its default
    // young generation, where this small program triggers the decision). Looked at after each
    // million objects, up to four: one pass of four million, looked at once, was still young in
    // 2 of 10 runs on a busy machine (the decision's timing moves), one million pretenured in 48
    // of 48.
    const program = [
      'function make(i) { return { a: i, b: i + 1 }; }',
      'const keep = []; let young = 1000;',
      'for (let round = 0; round < 4 && young > 0; round++) {',
      '  for (let i = 0; i < 1e6; i++) keep.push(make(i));',
      '  young = 0; for (let i = 0; i < 1000; i++) if (%InYoungGeneration(make(i))) young++;',
      '}',
      'process.stdout.write(String(young));',
    ].join('\n');
    const young = (args: string[]) => Number(runNode(['--allow-natives-syntax', ...args], program));
    expect(young([])).toBe(0);
    expect(young(['--no-allocation-site-pretenuring'])).toBe(1000);
  });

  it('lets the old generation grow 4× its live size between full collections, whatever V8 would pick', () => {
    // After each mark-compact V8 sets the next one's trigger at the live size times a factor it
    // derives from how fast it marks against how fast the old generation grew. Under the
    // gateway's load marking is fast and growth slow (speed ratio 140-190 at 2,000/s, carrier
    // up), so the factor came out 1.1-1.3: a mark-compact every ~2.5-3.5 s, each with ~30 ms of
    // incremental marking, concurrent marking on the worker thread and a 4-12 ms final pause on a
    // slow VM, where the slow requests cluster. At 4x (V8's own ceiling for a 2 GB limit) a 10-s
    // window saw 0-1 instead of 3-4, and bench:accept's p99 at 2,000/s carrier up fell from a
    // median 60.4 to 27.7 ms over five interleaved pairs (lower in all five), for ~4x the live
    // set (~50 MB) in heap between collections.
    expect(flags).toContain('--heap-growing-percent=300');
    // A live set, then a stretch that allocates only garbage: V8's own factor is its minimum.
    const program = [
      'const live = []; for (let i = 0; i < 300000; i++) live.push({ i, s: String(i) });',
      'gc();',
      'const ring = new Array(1024); for (let i = 0; i < 2e7; i++) ring[i & 1023] = { i };',
      'gc();',
    ].join('\n');
    const factor = (args: string[]) => {
      const out = runNode([...args, '--expose-gc', '--trace-gc-verbose'], program);
      // V8 11 (Node 20) prints the factor it applies at the end of each "Limit:" line.
      const limits = [...out.matchAll(/\[HeapController\] Limit: .* \(([\d.]+)\)/g)];
      expect(
        limits.length,
        'no "[HeapController] Limit:" line: has --trace-gc-verbose changed?',
      ).toBeGreaterThan(0);
      return Number(limits.at(-1)![1]);
    };
    expect(factor(flags.filter((f) => !f.startsWith('--heap-growing-percent')))).toBeLessThan(2);
    expect(factor(flags)).toBe(4);
  });
});
