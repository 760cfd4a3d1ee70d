// @realmgate/client/node: what only Node.js has, kept out of the main entry so that a browser
// bundle never meets node: modules.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { ecdsaP256, webcrypto } from './webcrypto.js';

/**
 * Keeps credentials in a JSON file (Node.js), readable by its owner only (mode 0600): the
 * private keys as JWK, which the keys must be extractable for. Loaded keys are imported
 * non-extractable.
 */
export class FileKeyStore {
  extractable = true;

  constructor(path) {
    this.path = path;
  }

  async #read() {
    try {
      return JSON.parse(await readFile(this.path, 'utf8'));
    } catch (e) {
      if (e.code === 'ENOENT') return {};
      throw e;
    }
  }

  async #write(all) {
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(all), { mode: 0o600 });
    await rename(tmp, this.path);
  }

  async load(entity) {
    const e = (await this.#read())[entity];
    if (!e) return null;
    const c = await webcrypto();
    const { d, ...pub } = e.key;
    return {
      privateKey: await c.subtle.importKey('jwk', e.key, ecdsaP256, false, ['sign']),
      publicKey: await c.subtle.importKey('jwk', { ...pub, key_ops: ['verify'] }, ecdsaP256, true, ['verify']),
      chain: e.chain,
    };
  }

  async store(entity, cred) {
    const c = await webcrypto();
    const key = await c.subtle.exportKey('jwk', cred.privateKey);
    const all = await this.#read();
    all[entity] = { key, chain: [...cred.chain] };
    await this.#write(all);
  }

  async delete(entity) {
    const all = await this.#read();
    if (entity in all) {
      delete all[entity];
      await this.#write(all);
    }
  }
}
