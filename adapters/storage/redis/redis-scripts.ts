import { createHash } from 'node:crypto';
import { scriptSource, type ScriptName } from './redis-lua.js';

/**
 * The few node-redis client methods the store uses, typed structurally so that `sessionkeeper/redis`
 * needs no import of `redis`: a `createClient()` instance (RESP2, the default) fits as it is. The
 * caller creates, connects and closes it; its reconnect strategy is what brings the store back after
 * an outage.
 */
export interface RedisScriptClient {
  evalSha(sha1: string, options?: { keys?: string[]; arguments?: string[] }): Promise<unknown>;
  eval(script: string, options?: { keys?: string[]; arguments?: string[] }): Promise<unknown>;
}

/**
 * Runs the store's Lua scripts by SHA-1 (EVALSHA) and, when the server does not know a script yet
 * (NOSCRIPT: a new, restarted or flushed server), by source (EVAL), which also caches it there.
 */
export class RedisScripts {
  readonly #client: RedisScriptClient;
  readonly #head: string[];
  readonly #shas = new Map<ScriptName, { sha: string; source: string }>();

  /** `prefix` and `retainEndedMs` become ARGV[1] and ARGV[2] of every call. */
  constructor(client: RedisScriptClient, prefix: string, retainEndedMs: number) {
    this.#client = client;
    this.#head = [prefix, String(retainEndedMs)];
  }

  /** Runs `name` with `key` as its routing key and `args` after the shared arguments. */
  async run(name: ScriptName, key: string, args: readonly string[]): Promise<unknown> {
    const script = this.#script(name);
    const options = { keys: [key], arguments: [...this.#head, ...args] };
    try {
      return await this.#client.evalSha(script.sha, options);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return this.#client.eval(script.source, options);
    }
  }

  #script(name: ScriptName): { sha: string; source: string } {
    let script = this.#shas.get(name);
    if (script === undefined) {
      const source = scriptSource(name);
      script = { sha: createHash('sha1').update(source).digest('hex'), source };
      this.#shas.set(name, script);
    }
    return script;
  }
}

// --- internal ---

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
