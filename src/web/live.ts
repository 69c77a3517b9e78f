// The live hub is the receiver's live-event port (src/receiver/live-hub.ts): the web side subscribes
// to it, the receiver never imports from here.
export { DEFAULT_LIVE_LIMITS, LiveHub, type LiveLimits, type LiveSubscriber } from '../receiver/live-hub.js';
