// Simulated distance between a slot object and D1, for the benchmark (build/bench-worker.ts) and the
// tests only: nothing under src/ imports this module, so the deployed Worker neither contains nor
// honours it (test/production-config.test.ts checks that).

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The statement a delayed one stands for: batch() takes D1's own statements only. */
const NEAR = Symbol("the statement without its delay");
type DelayedStatement = D1PreparedStatement & { [NEAR]?: D1PreparedStatement };

function delayedStatement(statement: D1PreparedStatement, ms: number): D1PreparedStatement {
  return new Proxy(statement, {
    get(target, key) {
      if (key === NEAR) return target;
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      if (key === "bind") return (...values: unknown[]) => delayedStatement(value.apply(target, values) as D1PreparedStatement, ms);
      return async (...args: unknown[]) => {
        await sleep(ms);
        return value.apply(target, args);
      };
    },
  });
}

/**
 * `d1` (a database or a session) with every call that reaches D1 (a statement's run/all/first/raw,
 * batch, exec) answered `ms` later: one round trip to a distant primary per call, as in production
 * when the object runs far from D1's region.
 */
export function distantD1<D extends D1Database | D1DatabaseSession>(d1: D, ms: number): D {
  return new Proxy(d1, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      switch (key) {
        case "prepare":
          return (query: string) => delayedStatement(value.call(target, query) as D1PreparedStatement, ms);
        case "withSession":
          return (...args: unknown[]) => distantD1(value.apply(target, args) as D1DatabaseSession, ms);
        case "batch":
          return async (statements: DelayedStatement[]) => {
            await sleep(ms);
            return value.call(target, statements.map((statement) => statement[NEAR] ?? statement));
          };
        case "exec":
        case "dump":
          return async (...args: unknown[]) => {
            await sleep(ms);
            return value.apply(target, args);
          };
        default:
          return value.bind(target);
      }
    },
  });
}
