/** The `code` of the McpttError `f` throws, or undefined when it returns; other throws propagate. */
import { isMcpttError } from '../../src/errors.js';

export function errorCode(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (isMcpttError(e)) return e.code;
    throw e;
  }
}
