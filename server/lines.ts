/**
 * Reading a child process's output line by line (the training and projection workers print one JSON event per
 * line).
 *
 * @module
 */

/** Call `fn` for every line of a byte stream (awaiting it, so lines are handled in order). */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  fn: (line: string) => void | Promise<void>,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    for (let end = rest.indexOf("\n"); end >= 0; end = rest.indexOf("\n")) {
      await fn(rest.slice(0, end).replace(/\r$/, ""));
      rest = rest.slice(end + 1);
    }
  }
  rest += decoder.decode();
  if (rest) await fn(rest);
}
