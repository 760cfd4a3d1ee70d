// Types of @realmgate/client/node.
import type { Credential, KeyStore } from './index.js';

/** Keeps credentials in a JSON file of mode 0600 (the keys are extractable to be written out). */
export declare class FileKeyStore implements KeyStore {
  constructor(path: string);
  readonly path: string;
  readonly extractable: true;
  load(entity: string): Promise<Credential | null>;
  store(entity: string, credential: Credential): Promise<void>;
  delete(entity: string): Promise<void>;
}
