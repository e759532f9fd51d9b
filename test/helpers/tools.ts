import { spawnSync } from 'node:child_process';

/**
 * Why a command-line tool of the machine cannot run here (a reason to skip with), or undefined
 * when it can. `pkg` names the Debian package that brings it (.ci/run installs it).
 */
export function toolMissing(command: string, pkg: string): string | undefined {
  const r = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return r.error || r.status !== 0 ? `${command} is not installed (Debian package ${pkg})` : undefined;
}
