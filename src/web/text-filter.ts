// The dashboard's and the API's regex filter; defined beside the store's filters (one definition).
export * from '../receiver/store/text-filter.js';
