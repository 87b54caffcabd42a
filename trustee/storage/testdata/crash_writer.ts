// Child process for local_fs_test.ts: rewrites one large value in a loop until killed.
// Each value is SIZE bytes of a single repeated byte, alternating 'A' and 'B', so a reader can
// tell a complete value from a torn one. Prints "ready" after the first complete write.
import { createLocalFsStorage } from "../local_fs.ts";

const [dir, sizeArg] = Deno.args;
const size = Number(sizeArg);
const store = createLocalFsStorage({ dirPath: dir! }).namespace("crash");
const values = [new Uint8Array(size).fill(0x41), new Uint8Array(size).fill(0x42)];
await store.set("big", values[0]!);
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
for (let i = 1;; i++) await store.set("big", values[i % 2]!);
