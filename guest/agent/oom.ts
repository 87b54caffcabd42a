/**
 * OOM events for GetOOMEvent: polls each container's cgroup OOM-kill counter (cgroup v2
 * `memory.events`, cgroup v1 `memory.oom_control`, both `oom_kill N`) under the agent's
 * `/coco/<cid>` cgroup path, and hands out one container id per increase, queued until a
 * GetOOMEvent call takes it. The poll runs only while someone waits for an event.
 *
 * @module
 */

/** Where the counters live; tests pass a fake tree. */
export interface OomWatcherOptions {
  /** cgroup mount root (default `/sys/fs/cgroup`). */
  root?: string;
  /** Poll period in ms (default 1000). */
  intervalMs?: number;
}

function counterFiles(root: string, cid: string): string[] {
  return [
    `${root}/coco/${cid}/memory.events`, // cgroup v2 (unified)
    `${root}/memory/coco/${cid}/memory.oom_control`, // cgroup v1
    `${root}/unified/coco/${cid}/memory.events`, // hybrid layout
  ];
}

/** Reads the `oom_kill` counter of a container, or undefined when no cgroup file has one. */
export async function readOomKills(root: string, cid: string): Promise<number | undefined> {
  for (const f of counterFiles(root, cid)) {
    let text: string;
    try {
      text = await Deno.readTextFile(f);
    } catch {
      continue;
    }
    const m = text.match(/^oom_kill (\d+)$/m);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Watches the given containers and queues an event per new OOM kill. */
export class OomWatcher {
  readonly #root: string;
  readonly #interval: number;
  readonly #ids: () => string[];
  readonly #seen = new Map<string, number>();
  readonly #queue: string[] = [];
  readonly #waiters: Array<{ resolve: (cid: string) => void; reject: (e: Error) => void }> = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #polling = false;

  constructor(ids: () => string[], options: OomWatcherOptions = {}) {
    this.#ids = ids;
    this.#root = options.root ?? "/sys/fs/cgroup";
    this.#interval = options.intervalMs ?? 1000;
  }

  /** Records the current counter of a new container so only later kills count. */
  async track(cid: string): Promise<void> {
    this.#seen.set(cid, (await readOomKills(this.#root, cid)) ?? 0);
  }

  /** Forgets a removed container. */
  untrack(cid: string): void {
    this.#seen.delete(cid);
  }

  /** The next OOM event (a container id). */
  next(): Promise<string> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#schedule();
    });
  }

  /** Fails every pending `next()` with `err` and stops polling. */
  close(err: Error): void {
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#queue.length = 0;
    this.#stop();
  }

  /** One poll of every tracked container (exposed for tests). */
  async poll(): Promise<void> {
    for (const cid of this.#ids()) {
      const n = await readOomKills(this.#root, cid);
      if (n === undefined) continue;
      const before = this.#seen.get(cid) ?? 0;
      this.#seen.set(cid, n);
      for (let i = before; i < n; i++) this.#deliver(cid);
    }
  }

  #deliver(cid: string): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(cid);
    else this.#queue.push(cid);
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(async () => {
      if (this.#polling) return;
      this.#polling = true;
      try {
        await this.poll();
      } finally {
        this.#polling = false;
        if (this.#waiters.length === 0) this.#stop();
      }
    }, this.#interval);
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
