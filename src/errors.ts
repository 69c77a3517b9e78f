/** An error the user can act on: the CLI prints its message as one line and exits with status 2. */
export class UsageError extends Error {}
