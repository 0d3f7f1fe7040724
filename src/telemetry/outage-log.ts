/**
 * One warn line when a dependency (Redis) becomes unavailable and one info line when it is
 * back, however many failures come in between: a reconnect loop fails every few hundred ms,
 * and a line per failure would bury everything else an SRE reads.
 */
import type { Logger } from './logger.js';

export class OutageLog {
  private out = false;

  constructor(
    private readonly logger: Logger,
    private readonly lines: { readonly down: string; readonly back: string },
  ) {}

  /** A failure: logged (with its message) only when it starts an outage. */
  failed(err: unknown): void {
    if (this.out) return;
    this.out = true;
    this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, this.lines.down);
  }

  /** A success: logged only when it ends an outage. */
  recovered(): void {
    if (!this.out) return;
    this.out = false;
    this.logger.info(this.lines.back);
  }
}
