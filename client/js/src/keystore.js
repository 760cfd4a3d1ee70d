// Key stores keep the credentials a client obtains: per entity ("application:<app>",
// "group:<name>", "device", "user:<realm>") a key pair and the certificate chain the server
// issued for it (base64 DER, the leaf first).
//
// A key store has async load(entity) (null when there is none), store(entity, credential) and
// delete(entity), and `extractable`: whether the keys it stores must be extractable (only a
// store that writes keys out needs that). A credential is {privateKey, publicKey} (CryptoKey
// objects) and chain. FileKeyStore, for Node.js, is in src/node.js (@realmgate/client/node).

/** Keeps credentials in memory, for the life of the page or process. */
export class MemoryKeyStore {
  extractable = false;
  #m = new Map();

  async load(entity) {
    return this.#m.get(entity) ?? null;
  }

  async store(entity, cred) {
    this.#m.set(entity, { privateKey: cred.privateKey, publicKey: cred.publicKey, chain: [...cred.chain] });
  }

  async delete(entity) {
    this.#m.delete(entity);
  }
}

/**
 * Keeps credentials in a browser's IndexedDB. CryptoKey objects are stored as they are (the
 * structured clone of a non-extractable key stays non-extractable), so the private key never
 * leaves WebCrypto.
 */
export class IndexedDBKeyStore {
  extractable = false;
  #db;

  constructor({ database = 'realmgate', store = 'credentials', indexedDB = globalThis.indexedDB } = {}) {
    if (!indexedDB) throw new Error('realmgate: IndexedDB is not available here');
    this.database = database;
    this.objectStore = store;
    this.indexedDB = indexedDB;
  }

  #open() {
    this.#db ??= new Promise((resolve, reject) => {
      const req = this.indexedDB.open(this.database, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(this.objectStore);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return this.#db;
  }

  async #run(mode, op) {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(this.objectStore, mode);
      const req = op(tx.objectStore(this.objectStore));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  async load(entity) {
    return (await this.#run('readonly', (s) => s.get(entity))) ?? null;
  }

  async store(entity, cred) {
    await this.#run('readwrite', (s) => s.put({ privateKey: cred.privateKey, publicKey: cred.publicKey, chain: [...cred.chain] }, entity));
  }

  async delete(entity) {
    await this.#run('readwrite', (s) => s.delete(entity));
  }
}
