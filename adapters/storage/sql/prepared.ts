import { createHash } from 'node:crypto';
import { sql, type Compilable, type SelectQueryBuilder } from 'kysely';
import { SessionError } from '../../../src/errors.js';
import type { BoundStatement, Statement } from './sql-driver.js';

/** Values of one execution, by the names given to {@link param}; a missing value binds null. */
export type Values = Record<string, unknown>;

/** A compiled statement and, for each positional parameter, the name of the value that fills it. */
export interface Prepared {
  readonly statement: Statement;
  readonly names: readonly string[];
}

/**
 * A placeholder for a value supplied at execution time; kysely passes it through as a parameter.
 * Typed `any` so it fits wherever kysely expects a value or expression.
 *
 * @example
 * prepare(db.selectFrom('sessions').selectAll().where('id', '=', param('id')), true)
 */
export function param(name: string): any {
  return new Param(name);
}

/**
 * Compiles a kysely query once and records which named value fills each placeholder, so that each
 * execution only binds an array ({@link bind}). `single` marks a statement returning at most one row.
 *
 * @example
 * const byId = prepare(db.selectFrom('sessions').select(['id']).where('id', '=', param('id')), true);
 * driver.query(byId.statement, bind(byId, { id }));
 */
export function prepare(query: Compilable, single = false): Prepared {
  const compiled = query.compile();
  const names = compiled.parameters.map((p) => {
    if (!(p instanceof Param)) throw new SessionError('INVALID_ARGUMENT', `Statement has an inline value; use param(): ${compiled.sql}`);
    return p.name;
  });
  const name = 'sk_' + createHash('sha256').update(compiled.sql).digest('hex').slice(0, 24);
  return { statement: { name, sql: compiled.sql, single }, names };
}

/** The positional parameters of one execution of `prepared`. */
export function bind(prepared: Prepared, values: Values): unknown[] {
  const { names } = prepared;
  const parameters = new Array<unknown>(names.length);
  for (let i = 0; i < names.length; i++) parameters[i] = values[names[i]!] ?? null;
  return parameters;
}

/** A statement with its parameters, as a transaction body yields it. */
export function bound(prepared: Prepared, values: Values): BoundStatement {
  return { statement: prepared.statement, parameters: bind(prepared, values) };
}

/**
 * Orders a list newest first by `timeColumn`, then id, and with `keyset` continues after the
 * `(beforeTs, beforeId)` position of a previous page.
 */
export function newestFirst<Q extends SelectQueryBuilder<any, any, any>>(query: Q, timeColumn: string, keyset: boolean): Compilable {
  const time = sql.ref(timeColumn);
  const page = keyset ? query.where(sql<boolean>`(${time} < ${param('beforeTs')} or (${time} = ${param('beforeTs')} and id < ${param('beforeId')}))`) : query;
  return page.orderBy(timeColumn, 'desc').orderBy('id', 'desc').limit(param('limit'));
}

/**
 * Statements whose shape depends on which optional filters a call uses, compiled on first use and
 * kept per store instance.
 */
export class VariantCache {
  readonly #variants = new Map<string, Prepared>();

  /** `parts` name the statement and then list the optional filters, of which only presence matters. */
  get(parts: readonly [string, ...unknown[]], build: () => Compilable): Prepared {
    const key = parts.map((part, i) => (i === 0 ? part : part === undefined ? 0 : 1)).join(':');
    let prepared = this.#variants.get(key);
    if (prepared === undefined) {
      prepared = prepare(build());
      this.#variants.set(key, prepared);
    }
    return prepared;
  }
}

// --- internal ---

class Param {
  constructor(readonly name: string) {}
}
