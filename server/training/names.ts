/**
 * What a training job's id and a sample grid's file name look like, for the routes and their declarations.
 *
 * @module
 */

/** What a job id looks like. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

/** What a sample grid's file name looks like (the loop writes `gen_{depth}_{epoch}_{batch}.png`). */
export const SAMPLE_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.png$/;

/** Largest accepted body of POST /api/train. */
export const MAX_BODY_BYTES = 64 * 1024;
