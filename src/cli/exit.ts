/** The exit codes of `ragsync` (docs/exit-codes.md), apart from the commands: `main` needs them for help and usage errors. */
export const EXIT = { ok: 0, failures: 1, usage: 2, unavailable: 3 } as const;
