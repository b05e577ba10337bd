/**
 * Progress for long CLI work: a line redrawn in place on a terminal, silence when
 * stdout is a pipe or a file (scripts read only the result).
 */
export interface Progress {
  update(done: number, total?: number): void;
  done(): void;
}

export function createProgress(label: string, enabled: boolean, stream: { write(text: string): unknown; isTTY?: boolean } = process.stderr): Progress {
  const active = enabled && stream.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      if (!active) return;
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      shown = true;
      const share = total ? ` ${Math.min(100, Math.floor((done / total) * 100))}%` : "";
      stream.write(`\r${label}: ${done}${total ? `/${total}` : ""}${share}\u001b[K`);
    },
    done() {
      if (active && shown) stream.write("\n");
    },
  };
}
