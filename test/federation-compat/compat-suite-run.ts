import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CompatSuitePackage } from './compat-suite-package.js';

/** One jest test of the suite and its outcome. */
export interface CompatAssertion {
  /** The category it belongs to (the suite's own rule: its `describe` name, else its full name). */
  readonly category: string;
  readonly fullName: string;
  readonly status: string;
  readonly failureMessages: readonly string[];
}

/** What one run of the suite's jest tests found. */
export interface CompatSuiteResult {
  /** jest's exit code (0: every test passed). */
  readonly exitCode: number | null;
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  /** Test files that could not run at all (syntax, import or config errors). */
  readonly runtimeErrorSuites: number;
  readonly assertions: readonly CompatAssertion[];
  /** jest's stderr, for diagnosis. */
  readonly stderr: string;
}

/** Options of {@link runCompatSuite}. */
export interface RunCompatSuiteOptions {
  readonly suite: CompatSuitePackage;
  /** The products subgraph under test; the suite reads it from `PRODUCTS_URL`. */
  readonly productsUrl: string;
  /** Only these test files (names under `dist/tests`, e.g. `tag.test.js`). Default: all of them. */
  readonly only?: readonly string[];
  /** Kill jest (SIGKILL) if it has not finished by then, in ms. Default 120 000. */
  readonly timeoutMs?: number;
}

interface JestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numRuntimeErrorTestSuites: number;
  testResults: {
    assertionResults: {
      ancestorTitles: string[];
      fullName: string;
      status: string;
      failureMessages: string[];
    }[];
  }[];
}

/**
 * Runs the suite's jest tests directly, with the arguments its own `runJest`
 * uses (`<dist>/tests --ci --json --config federation-jest.config.js`, env
 * `PRODUCTS_URL`), as a child process: no docker, no rover, no pm2. The JSON
 * report goes to a temporary file, so test output cannot corrupt it.
 */
export async function runCompatSuite(options: RunCompatSuiteOptions): Promise<CompatSuiteResult> {
  const { suite } = options;
  const work = await mkdtemp(path.join(os.tmpdir(), 'sluice-federation-compat-'));
  const outputFile = path.join(work, 'jest.json');
  const targets = options.only ? options.only.map((f) => path.join(suite.testsDir, f)) : [suite.testsDir];
  const args = [
    suite.jestBin,
    ...targets,
    '--ci',
    '--json',
    '--outputFile',
    outputFile,
    '--config',
    suite.jestConfig,
    '--cacheDirectory',
    path.join(work, 'jest-cache'),
  ];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work };
  env.PRODUCTS_URL = options.productsUrl;
  try {
    const child = spawn(process.execPath, args, { cwd: suite.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.resume();
    const timeoutMs = options.timeoutMs ?? 120_000;
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the compatibility suite's jest run did not finish in ${timeoutMs} ms:\n${stderr}`));
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    let report: JestJson;
    try {
      report = JSON.parse(await readFile(outputFile, 'utf8')) as JestJson;
    } catch (err) {
      throw new Error(`jest exited ${exitCode} without a JSON report (${String(err)}):\n${stderr}`);
    }
    const assertions = report.testResults.flatMap((file) =>
      file.assertionResults.map((a) => ({
        category: a.ancestorTitles.length === 0 ? a.fullName : (a.ancestorTitles[0] as string),
        fullName: a.fullName,
        status: a.status,
        failureMessages: a.failureMessages,
      })),
    );
    return {
      exitCode,
      total: report.numTotalTests,
      passed: report.numPassedTests,
      failed: report.numFailedTests,
      runtimeErrorSuites: report.numRuntimeErrorTestSuites,
      assertions,
      stderr,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A readable list of the failed tests with the first lines of each failure, or '' when none failed. */
export function describeFailures(result: CompatSuiteResult): string {
  return result.assertions
    .filter((a) => a.status !== 'passed')
    .map((a) => {
      const why = a.failureMessages.join('\n').split('\n').slice(0, 12).join('\n    ');
      return `✗ [${a.category}] ${a.fullName} (${a.status})\n    ${why}`;
    })
    .join('\n');
}
