// Runs the example of README.md (its first js block) against the daemon, so the documentation
// stays true.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { needsDaemon } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));

test('the README example runs', needsDaemon, async (t) => {
  const readme = await readFile(join(here, '..', 'README.md'), 'utf8');
  const code = readme.match(/```js\n([\s\S]*?)```/)[1];
  const dir = await mkdtemp(join(tmpdir(), 'realmgate-readme-'));
  t.after(() => rm(dir, { recursive: true }));
  const file = join(dir, 'example.mjs');
  const sdk = pathToFileURL(join(here, '..', 'src', 'index.js')).href;
  await writeFile(file, code.replace("from '@realmgate/client'", `from '${sdk}'`));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { env: process.env });
  assert.match(stdout, /^alice \[ 'hello' \]$/m);
  assert.match(stdout, /^200 formTest$/m);
});
