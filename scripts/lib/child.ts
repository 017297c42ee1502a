/**
 * The child-process protocol of pg-child.ts and the bench's webhook child: the child prints one JSON line
 * (`{"url": "..."}`) on stdout once it is ready, stops on SIGTERM and when its stdin closes (parent crashed).
 */
import { spawn } from "node:child_process";

export type RunningChild = { url: string; pid: number; stop: () => Promise<void> };

export function startJsonChild(script: string, args: string[] = []): Promise<RunningChild> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split("\n")[0];
      if (!buffer.includes("\n") || !line) return;
      try {
        resolve({ url: (JSON.parse(line) as { url: string }).url, pid: child.pid ?? 0, stop });
      } catch (error) {
        reject(error);
      }
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with code ${code} before it was ready`)));
  });
}
