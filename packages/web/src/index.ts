// @lguest/web: `lguest web`'s server side. The CLI starts a WebView, gives each guest's
// console its output sink and input source, and hands it the host and lg once they exist.

export { WebView, WebConsoleInput, SAMPLE_MS, type WebViewOptions } from './server';
export { Sampler, type WatchedGuest } from './sample';
export { Kind, FLASH_FAULTED, FLASH_TOUCHED, HCALL_NAMES, type ServerMessage, type ClientMessage } from './protocol';
