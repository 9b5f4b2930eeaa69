/** Runs the built `lakeloader` CLI (dist/jobs/cli.js, as `npx lakeloader` does) and captures its output. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * onStderr sees the stderr so far, e.g. to act when a log line appears. A run longer than timeoutMs is
 * SIGKILLed (code null): a hanging command fails its test instead of outliving it.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, onStderr?: (text: string) => void, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'jobs', 'cli.js'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr);
    });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      stderr += `\n[test] killed after ${options.timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
