/**
 * The server's embedded database: one SQLite file (Deno's built-in `node:sqlite`, so no native package to
 * install) for every record that must outlive a restart: training jobs and projections. The schema is
 * versioned with SQLite's own `user_version`: each entry of {@link MIGRATIONS} moves it one version up, in one
 * transaction, so an older file is brought forward when the server opens it and a newer one is refused.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";

/** Schema steps, oldest first; entry i takes the file from version i to i + 1. Append, never edit. */
const MIGRATIONS: readonly string[] = [
  // 1: training jobs. `status` is the job as GET /api/train/{id} answers it (JSON); the columns beside it are
  // what the server looks records up by. `pid` is the training process while one runs (to find an orphan).
  `CREATE TABLE training_jobs (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     state TEXT NOT NULL,
     dir TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     pid INTEGER,
     status TEXT NOT NULL
   ) STRICT;
   CREATE INDEX training_jobs_created ON training_jobs (created_at);`,
  // 2: projections of real tiles into W. `status` is the projection as GET /api/projections/{id} answers it
  // (without its w, which lives in `dir`/result/w.json); `pid` is the worker process while one runs.
  `CREATE TABLE projections (
     id TEXT PRIMARY KEY,
     model TEXT NOT NULL,
     state TEXT NOT NULL,
     dir TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     pid INTEGER,
     status TEXT NOT NULL
   ) STRICT;
   CREATE INDEX projections_created ON projections (created_at);`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A database that cannot be used (newer schema, unreadable file); the message names the file. */
export class StoreError extends Error {
  override name = "StoreError";
}

/** The open database of a server. */
export class Store {
  readonly db: DatabaseSync;

  private constructor(readonly path: string, db: DatabaseSync) {
    this.db = db;
  }

  /** Open (creating it and its folder if needed) and migrate the database at `path` (":memory:" for none). */
  static async open(path: string): Promise<Store> {
    if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      // WAL: readers never wait for the writer, and a killed process leaves a file that opens consistent.
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    } catch (error) {
      throw new StoreError(`cannot open the database ${path}: ${(error as Error).message}`);
    }
    const store = new Store(path, db);
    store.#migrate();
    return store;
  }

  /** Run `fn` in one transaction: all of its writes or none. */
  transaction<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  #migrate(): void {
    const version = Number(
      (this.db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `the database ${this.path} has schema version ${version}, newer than this server's ${SCHEMA_VERSION}; ` +
          "run the newer server, or point SGAN_DATABASE at another file",
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }
}
