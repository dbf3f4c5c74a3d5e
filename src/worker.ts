import { handleFetch, handleScheduled } from './worker-runtime.ts';

// workerd refuses a module whose exports are anything but handlers: export the object only.
export default { fetch: handleFetch, scheduled: handleScheduled };
