import { EventBus } from "./platform/jobs/events.js";
import type { DomainEvents } from "./shared/events.js";
import { NOTIFICATION_SUBSCRIBERS } from "./modules/notifications/index.js";

/**
 * Wiring, like main.ts: who listens to which domain event (shared/events.ts). Every
 * process that changes reports publishes through this one bus (the server, the CLI), so
 * each event gets the same subscriber jobs whoever caused it; the server's worker handles
 * them (main.ts refuses to start with a subscriber nobody handles).
 */
export function createEventBus(): EventBus<DomainEvents> {
  return new EventBus<DomainEvents>([...NOTIFICATION_SUBSCRIBERS]);
}
