/** A configuration error; the message names the key and what is allowed. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /**
   * @param key the dotted key (or section) at fault, null when the error is about the whole file or value
   * @param unknownKey true when `key` is not a key of the configuration at all
   */
  constructor(message: string, readonly key: string | null = null, readonly unknownKey = false) {
    super(message);
  }
}
