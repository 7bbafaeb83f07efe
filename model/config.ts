/**
 * The training configuration: its schema (model/config/schema.ts), its loading from YAML, `--set` and JSON
 * (model/config/load.ts) and its errors. Import from here.
 *
 * @module
 */
export { ConfigError } from "./config/errors.ts";
export {
  TRAIN_CONFIG_SCHEMA,
  TRAIN_DEFAULTS,
  type TrainConfig,
  trainConfigJsonSchema,
  validKeys,
} from "./config/schema.ts";
export { configFromJson, learningRateAt, loadConfig, parseOverride, validateConfig } from "./config/load.ts";
