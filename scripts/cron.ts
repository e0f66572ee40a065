// Fires a local server's scheduled maintenance (src/maintenance/scheduled.ts) every minute, on the
// minute, as wrangler.toml's `crons = ["* * * * *"]` does in production: `wrangler dev` does not
// fire cron triggers by itself. It calls /__scheduled, which wrangler's dev server answers by
// running the Worker's scheduled handler when started with --test-scheduled (dev.testScheduled in
// unstable_startWorker, which needs wrangler to bundle the Worker). Its /cdn-cgi/handler/scheduled
// fails in wrangler 4.86 for a Worker with assets (DataCloneError: ScheduledController).
// Used by `npm start` (scripts/dev.ts) and by the servers of scripts/dev-server.ts.

const MINUTE_MS = 60_000;

export type CronTicker = { stop(): void };

/** Runs the scheduled handler of the server at `baseUrl` once, as of now; throws unless it succeeded. */
export async function fireCron(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`, { signal: AbortSignal.timeout(MINUTE_MS) });
  const outcome = await response.text();
  if (!response.ok) throw new Error(`the scheduled handler answered ${response.status} ${outcome}`);
}

/**
 * Fires the cron of the server at `baseUrl` at every full minute until stopped. A run that fails
 * (the server is still starting, or the handler threw) is reported to `onError` and left to the next.
 */
export function fireCronEveryMinute(baseUrl: string, onError: (error: Error) => void): CronTicker {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      fireCron(baseUrl).catch(onError);
      schedule();
    }, MINUTE_MS - (Date.now() % MINUTE_MS));
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
