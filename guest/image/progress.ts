/**
 * Pull progress: typed events, rendered as one progress bar per layer on a TTY or as JSON lines
 * otherwise. Renderers never start timers; the TTY one redraws at most every 100 ms of the
 * injected clock, and always on a layer's final state.
 *
 * @module
 */

/** Status of one layer. */
export type LayerStatus = "waiting" | "downloading" | "reused" | "verifying" | "done" | "failed";

/** One progress event. */
export type ProgressEvent =
  | {
    event: "resolved";
    image: string;
    source: string;
    manifest: string;
    config: string;
    layers: number;
  }
  | { event: "layer"; layer: string; status: LayerStatus; current: number; total: number }
  | { event: "done"; image: string; manifest: string; ms: number };

/** Receives progress events. */
export type ProgressSink = (e: ProgressEvent) => void;

/** Progress as JSON lines (`{"event":"layer",…}`). */
export function jsonProgress(write: (line: string) => void): ProgressSink {
  return (e) => write(JSON.stringify(e) + "\n");
}

const WIDTH = 30;

function mib(n: number): string {
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** Renders one bar line for a layer. */
export function barLine(
  layer: string,
  status: LayerStatus,
  current: number,
  total: number,
): string {
  const frac = total > 0 ? Math.min(1, current / total) : status === "done" ? 1 : 0;
  const filled = Math.round(frac * WIDTH);
  const bar = "=".repeat(filled) + (filled < WIDTH ? ">" : "") +
    " ".repeat(Math.max(0, WIDTH - filled - 1));
  const id = layer.slice(layer.indexOf(":") + 1, layer.indexOf(":") + 13);
  return `${id} [${bar}] ${mib(current)}/${mib(total)} ${status}`;
}

/** Progress bars redrawn in place (ANSI cursor movement) on a terminal. */
export function ttyProgress(
  write: (text: string) => void,
  now: () => number = Date.now,
): ProgressSink {
  const order: string[] = [];
  const lines = new Map<string, string>();
  let drawn = 0;
  let last = 0;
  const draw = () => {
    let out = drawn > 0 ? `\x1b[${drawn}A` : "";
    for (const id of order) out += `\r\x1b[2K${lines.get(id)}\n`;
    drawn = order.length;
    last = now();
    write(out);
  };
  return (e) => {
    switch (e.event) {
      case "resolved":
        write(`Pulling ${e.image} from ${e.source} (${e.layers} layers, manifest ${e.manifest})\n`);
        return;
      case "layer": {
        if (!lines.has(e.layer)) order.push(e.layer);
        lines.set(e.layer, barLine(e.layer, e.status, e.current, e.total));
        const final = e.status !== "downloading";
        if (final || now() - last >= 100) draw();
        return;
      }
      case "done":
        draw();
        write(`Pulled ${e.image} (${e.manifest}) in ${(e.ms / 1000).toFixed(2)} s\n`);
        return;
    }
  };
}
